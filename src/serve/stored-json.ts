import { REF_FIELDS } from '../oneroster/field-catalog.ts';
import { pathFor } from '../oneroster/serialize.ts';
import type { AnyEntity, CollectionName } from '../oneroster/types.ts';
import { ByteSink, WireJsonWriter } from './wire-json.ts';

/**
 * Wire JSON straight from the store's canonical JSON text (`live_*.data`), without `JSON.parse`.
 *
 * Why: a page of `/enrollments?limit=5000` is ~2.5 MB of stored text; parsing it into objects and
 * writing them back out costs more than reading the rows from SQLite. The stored text is already
 * almost the wire body: canonical JSON (keys sorted, no whitespace) of the normalised record. Three
 * things differ on the wire, and only at the top level of the record:
 * - GUIDRef `href`s must point at this server (`WireJsonWriter` semantics: `<base>/<path of
 *   type>/<encoded sourcedId>`, replacing whatever the upstream provider sent);
 * - `dateLastModified` is when our store last changed the record (see store-dataset.ts);
 * - `status` is `tobedeleted` for tombstones.
 *
 * So a record is a handful of patches on its text. Finding them (`#scan`, or `#walk` for shapes it
 * does not take) uses only searches and character compares on the string; writing them copies the text into
 * the page buffer once, natively, and moves the unchanged spans with `copyWithin` (what measured
 * fastest: building the output as a JS string of slices cost more in allocation and flattening than
 * the whole scan, and char-by-char copy loops ~2 ns a character). Anything not recognised (escape
 * sequences anywhere in the text, a reference that is not a plain `{href?, sourcedId, type}`
 * object, a non-string `dateLastModified`…) takes the exact path: parse, apply the overrides,
 * `WireJsonWriter`. All paths give the same bytes; `stored-json.test.ts` checks that on clean and
 * dirty synced districts.
 */

/** One stored record as the dataset hands it to the serializer. */
export interface StoredRecord {
  /** Canonical JSON text of the normalised record (`live_*.data`). */
  readonly json: string;
  /** The `dateLastModified` to serve, or undefined to keep the stored one. */
  readonly dateLastModified: string | undefined;
  /** The `status` to serve. */
  readonly status: string;
}

/**
 * The record a stored row stands for, as an object: the parsed text with the served
 * `dateLastModified` and `status` assigned (existing keys keep their place; missing ones are
 * appended, `dateLastModified` first). This is the reference semantics of the fast paths.
 */
export function storedEntity(row: StoredRecord): AnyEntity {
  const r = JSON.parse(row.json) as Record<string, unknown>;
  if (row.dateLastModified !== undefined) r['dateLastModified'] = row.dateLastModified;
  r['status'] = row.status;
  return r as unknown as AnyEntity;
}

const Q = 0x22; // "
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

/** What the member walk does with a top-level member (0: copy it). */
const Act = { DateLastModified: 1, Status: 2, Ref: 3, RefArray: 4 } as const;
type Act = (typeof Act)[keyof typeof Act];

interface SpecialKey {
  readonly key: string;
  readonly act: Act;
}

/** Per collection: special keys by length (member walk) and reference keys by length (scan). */
interface KeyTables {
  readonly special: ReadonlyArray<readonly SpecialKey[] | undefined>;
  readonly refList: readonly string[];
}

const KEY_TABLES = new Map<CollectionName, KeyTables>();

function tablesOf(collection: CollectionName): KeyTables {
  let t = KEY_TABLES.get(collection);
  if (t === undefined) {
    const special: Array<SpecialKey[] | undefined> = [];
    const refList: string[] = [];
    const add = (k: SpecialKey): void => void (special[k.key.length] ??= []).push(k);
    add({ key: 'dateLastModified', act: Act.DateLastModified });
    add({ key: 'status', act: Act.Status });
    for (const [name, ref] of Object.entries(REF_FIELDS[collection])) {
      add({ key: name, act: ref.many ? Act.RefArray : Act.Ref });
      refList.push(name);
    }
    t = { special, refList };
    KEY_TABLES.set(collection, t);
  }
  return t;
}

/** True when the key whose closing quote is at `keyEnd` is exactly `k` (compared backwards). */
function keyIs(s: string, keyEnd: number, k: string): boolean {
  const start = keyEnd - k.length;
  if (start < 2 || s.charCodeAt(start - 1) !== Q) return false;
  for (let i = k.length - 1; i >= 0; i--) if (s.charCodeAt(start + i) !== k.charCodeAt(i)) return false;
  return true;
}

function keyIsOneOf(s: string, keyEnd: number, keys: readonly string[]): boolean {
  for (let i = 0; i < keys.length; i++) if (keyIs(s, keyEnd, keys[i] as string)) return true;
  return false;
}

/** True when a key starting with `head` begins at `at` (`"` at at-1, preceded by `{` or `,`). */
function isKeyAt(s: string, at: number, head: string): boolean {
  if (at < 2 || s.charCodeAt(at - 1) !== Q) return false;
  const before = s.charCodeAt(at - 2);
  return (before === LBRACE || before === COMMA) && s.startsWith(head, at);
}

/** Character codes of a fixed piece of canonical JSON, for `matches`. */
function codes(t: string): number[] {
  return Array.from(t, (c) => c.charCodeAt(0));
}

const HREF_KEY = codes('"href":"');
const SID_KEY = codes('"sourcedId":"');
const TYPE_SEP = codes(',"type":"');

/**
 * True when s continues at `at` with these character codes. For the short fixed keys of a GUIDRef
 * a JIT-compiled loop beat `startsWith` (a builtin call each) by ~15% of the whole page write.
 */
function matches(s: string, at: number, c: readonly number[]): boolean {
  for (let k = 0; k < c.length; k++) if (s.charCodeAt(at + k) !== c[k]) return false;
  return true;
}

/** 1 for the characters `encodeURIComponent` leaves alone: A-Z a-z 0-9 - _ . ! ~ * ' ( ) */
const URI_SAFE = (() => {
  const t = new Uint8Array(128);
  for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()") t[c.charCodeAt(0)] = 1;
  return t;
})();

/** True when every char of s[a, b) is unreserved for `encodeURIComponent` (it would return it unchanged). */
function isUriSafe(s: string, a: number, b: number): boolean {
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || URI_SAFE[c] === 0) return false;
  }
  return true;
}

/** Index just past the JSON value starting at `i` (text without backslashes), or -1. */
function skipValue(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c === Q) {
    const e = s.indexOf('"', i + 1);
    return e === -1 ? -1 : e + 1;
  }
  if (c === LBRACE || c === LBRACKET) {
    let depth = 0;
    const n = s.length;
    for (let j = i; j < n; j++) {
      const d = s.charCodeAt(j);
      if (d === Q) {
        j = s.indexOf('"', j + 1);
        if (j === -1) return -1;
      } else if (d === LBRACE || d === LBRACKET) {
        depth++;
      } else if (d === RBRACE || d === RBRACKET) {
        if (--depth === 0) return j + 1;
      }
    }
    return -1;
  }
  // number, true, false, null
  const n = s.length;
  let j = i;
  while (j < n) {
    const d = s.charCodeAt(j);
    if (d === COMMA || d === RBRACE || d === RBRACKET) break;
    j++;
  }
  return j;
}

/** JSON string literal, byte-identical to JSON.stringify for the ISO datetimes and status words served here. */
function quote(v: string): string {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return JSON.stringify(v);
  }
  return '"' + v + '"';
}

/** A text with its UTF-8 bytes, cached: hrefs prefixes and quoted values repeat on every record. */
interface Piece {
  readonly text: string;
  readonly bytes: Buffer;
}

function piece(text: string): Piece {
  return { text, bytes: Buffer.from(text, 'utf8') };
}

const HREF_END = piece('",');

/**
 * The patches of the record being written, in text order: s[start, end) is replaced by `head`,
 * then (for hrefs) the sourcedId — s[idStart, idEnd) when it needs no percent-encoding, else
 * `encoded` — and `"," `. Kept in reused arrays: a page writes thousands of records.
 */
class Patches {
  n = 0;
  readonly start: number[] = [];
  readonly end: number[] = [];
  readonly head: Piece[] = [];
  readonly idStart: number[] = [];
  readonly idEnd: number[] = [];
  readonly encoded: Array<string | undefined> = [];

  add(start: number, end: number, head: Piece, idStart = -1, idEnd = -1, encoded?: string): void {
    const i = this.n++;
    this.start[i] = start;
    this.end[i] = end;
    this.head[i] = head;
    this.idStart[i] = idStart;
    this.idEnd[i] = idEnd;
    this.encoded[i] = encoded;
  }
}

/** Writes wire JSON from stored records for one base URL (hrefs depend on it). */
export class StoredJsonWriter {
  readonly baseUrl: string;
  readonly #wire: WireJsonWriter;
  readonly #base: string;
  /** Pairs of GUIDRef type and its `{"href":"<base>/<path>/` piece. */
  readonly #prefixes: Array<string | Piece> = [];
  readonly #p = new Patches();
  /**
   * Counters for tests and diagnostics: patched from the text (`fast`; of those, `walked` needed
   * the member walk), or parsed (`exact`).
   */
  readonly stats = { fast: 0, walked: 0, exact: 0 };

  /** @param baseUrl e.g. `http://h/ims/oneroster/v1p1` (trailing slashes are dropped, as toWire does). */
  constructor(baseUrl: string) {
    this.baseUrl = baseUrl;
    this.#wire = new WireJsonWriter(baseUrl);
    let end = baseUrl.length;
    while (end > 0 && baseUrl.charCodeAt(end - 1) === 47) end--;
    this.#base = baseUrl.slice(0, end);
  }

  /** Appends the record's wire JSON to `sink`. */
  write(sink: ByteSink, collection: CollectionName, row: StoredRecord): void {
    if (this.#plan(collection, row)) {
      this.stats.fast++;
      this.#emit(sink, row.json);
      return;
    }
    this.stats.exact++;
    this.#wire.write(sink, collection, storedEntity(row));
  }

  /** Appends the wire JSON of `rows`, comma-separated. */
  writeList(sink: ByteSink, collection: CollectionName, rows: readonly StoredRecord[]): void {
    for (let i = 0; i < rows.length; i++) {
      if (i > 0) sink.byte(COMMA);
      this.write(sink, collection, rows[i] as StoredRecord);
    }
  }

  /** The record's wire JSON as a string (tests, single reads). */
  record(collection: CollectionName, row: StoredRecord): string {
    const sink = new ByteSink(row.json.length * 2 + 256);
    this.write(sink, collection, row);
    return sink.view().toString('utf8');
  }

  /** The exact path only (tests compare the two). */
  exact(collection: CollectionName, row: StoredRecord): string {
    return this.#wire.record(collection, storedEntity(row));
  }

  // -------------------------------------------------------------------------------------------
  // Pieces

  /** `{"href":"<base>/<path>/` of the type in s[typeStart, typeEnd). */
  #prefix(s: string, typeStart: number, typeEnd: number): Piece {
    const len = typeEnd - typeStart;
    // A page uses a handful of types: a linear probe with startsWith beats slicing for a Map key.
    const known = this.#prefixes;
    for (let k = 0; k < known.length; k += 2) {
      const t = known[k] as string;
      if (t.length === len && s.startsWith(t, typeStart)) return known[k + 1] as Piece;
    }
    const type = s.slice(typeStart, typeEnd);
    const json = JSON.stringify(`${this.#base}/${pathFor(type)}/`);
    const p = piece(`{"href":${json.slice(0, -1)}`);
    if (known.length < 64) known.push(type, p);
    return p;
  }

  // A page's records share a few served times and two statuses: quote each once.
  #dateIn = '';
  #date = piece('""');
  #dateAppend = piece(',"dateLastModified":""');
  #statusIn = '';
  #status = piece('""');
  #statusAppend = piece(',"status":""');

  #quotedDate(v: string): Piece {
    if (v !== this.#dateIn) {
      this.#dateIn = v;
      this.#date = piece(quote(v));
      this.#dateAppend = piece(`,"dateLastModified":${this.#date.text}`);
    }
    return this.#date;
  }

  #quotedStatus(v: string): Piece {
    if (v !== this.#statusIn) {
      this.#statusIn = v;
      this.#status = piece(quote(v));
      this.#statusAppend = piece(`,"status":${this.#status.text}`);
    }
    return this.#status;
  }

  // -------------------------------------------------------------------------------------------
  // Finding the patches

  /**
   * One GUIDRef object at `i`: adds its href patch and returns the index past it, or -1 when it is
   * not a plain `{"href":"…",?"sourcedId":"…","type":"…"}` with a non-empty type.
   */
  #ref(s: string, i: number): number {
    if (s.charCodeAt(i) !== LBRACE) return -1;
    let j = i + 1;
    if (matches(s, j, HREF_KEY)) {
      const e = s.indexOf('"', j + 8);
      if (e === -1 || s.charCodeAt(e + 1) !== COMMA) return -1;
      j = e + 2;
    }
    if (!matches(s, j, SID_KEY)) return -1;
    const idStart = j + 13;
    const idEnd = s.indexOf('"', idStart);
    if (idEnd === -1 || !matches(s, idEnd + 1, TYPE_SEP)) return -1;
    const typeStart = idEnd + 10;
    const typeEnd = s.indexOf('"', typeStart);
    if (typeEnd === -1 || typeEnd === typeStart || s.charCodeAt(typeEnd + 1) !== RBRACE) return -1;
    // `{` and the old href member become the new href; `"sourcedId":…}` is already wire form.
    const prefix = this.#prefix(s, typeStart, typeEnd);
    if (isUriSafe(s, idStart, idEnd)) this.#p.add(i, j, prefix, idStart, idEnd);
    else this.#p.add(i, j, prefix, -1, -1, encodeURIComponent(s.slice(idStart, idEnd)));
    return typeEnd + 2;
  }

  /** Fills `#p` for the record; false when it must take the exact path. */
  #plan(collection: CollectionName, row: StoredRecord): boolean {
    const s = row.json;
    const n = s.length;
    // Escapes are rare (quotes or control characters in values); the exact path handles them.
    if (n < 3 || s.indexOf('\\') !== -1 || s.charCodeAt(0) !== LBRACE || s.charCodeAt(n - 1) !== RBRACE) return false;
    const tables = tablesOf(collection);
    this.#p.n = 0;
    if (this.#scan(tables, row)) return true;
    this.#p.n = 0;
    this.stats.walked++;
    return this.#walk(tables, row);
  }

  /**
   * The common case, without walking member by member. Every object in the text is found with
   * `indexOf('{')` (memchr-fast), and each must be a GUIDRef under a reference key (patched), a
   * `{"identifier":…,"type":…}` entry of `userIds`, or the `metadata` object (both copied);
   * anything else (an object elsewhere, a `{` inside a string value…) returns false and the member
   * walk takes the record. Once that holds, the only keys in nested objects outside metadata are
   * href/sourcedId/type/identifier, and an escape-free string value cannot contain `":`, so the
   * first `LastModified":` and `tatus":` that sit at a key's start, outside metadata, are the
   * top-level `dateLastModified` and `status`. (The searches start with a rare letter: V8
   * scans multi-character needles by their first character, and `"` is everywhere.)
   */
  #scan(tables: KeyTables, row: StoredRecord): boolean {
    const s = row.json;
    const n = s.length;
    const p = this.#p;
    let dv = -1;
    let dvEnd = -1;
    const dl = s.indexOf('LastModified":');
    if (dl !== -1) {
      if (!isKeyAt(s, dl - 4, 'date') || s.charCodeAt(dl + 14) !== Q) return false;
      dv = dl + 14;
      dvEnd = s.indexOf('"', dv + 1) + 1;
    }
    let sv = -1;
    let svEnd = -1;
    const st = s.indexOf('tatus":', dl === -1 ? 0 : dl);
    if (st !== -1) {
      if (!isKeyAt(s, st - 1, 's') || s.charCodeAt(st + 7) !== Q) return false;
      sv = st + 7;
      svEnd = s.indexOf('"', sv + 1) + 1;
    }
    let pendingDate = dv !== -1 && row.dateLastModified !== undefined;
    let pendingStatus = sv !== -1;
    // 0: not in an array of objects; 1: in a reference array; 2: in userIds.
    let inArray = 0;
    let lastEnd = -1;
    let metaStart = -1;
    let metaEnd = -1;
    for (let at = s.indexOf('{', 1); at !== -1; at = s.indexOf('{', at + 1)) {
      const prev = s.charCodeAt(at - 1);
      let kind: number;
      if (prev === COLON || prev === LBRACKET) {
        if (prev === LBRACKET && s.charCodeAt(at - 2) !== COLON) return false;
        const keyEnd = prev === COLON ? at - 2 : at - 3;
        if (s.charCodeAt(keyEnd) !== Q) return false;
        if (keyIsOneOf(s, keyEnd, tables.refList)) kind = 1;
        else if (prev === LBRACKET && keyIs(s, keyEnd, 'userIds')) kind = 2;
        else if (prev === COLON && keyIs(s, keyEnd, 'metadata')) {
          // Opaque (copied as it is), but its keys may shadow ours: remember where it is.
          metaStart = at;
          metaEnd = skipValue(s, at);
          if (metaEnd === -1) return false;
          inArray = 0;
          at = metaEnd - 1;
          continue;
        } else return false;
        inArray = prev === LBRACKET ? kind : 0;
      } else if (prev === COMMA && inArray !== 0 && lastEnd === at - 1) {
        kind = inArray;
      } else {
        return false;
      }
      if (kind === 2) {
        // A userIds entry: checked, copied as it is.
        if (!s.startsWith('"identifier":"', at + 1)) return false;
        const e = s.indexOf('"', at + 15);
        if (e === -1 || !s.startsWith(',"type":"', e + 1)) return false;
        const te = s.indexOf('"', e + 10);
        if (te === -1 || s.charCodeAt(te + 1) !== RBRACE) return false;
        lastEnd = te + 2;
        at = te + 1;
        continue;
      }
      // Overridden members before this reference go first, in text order.
      if (pendingDate && dv < at) {
        p.add(dv, dvEnd, this.#quotedDate(row.dateLastModified as string));
        pendingDate = false;
      }
      if (pendingStatus && sv < at) {
        p.add(sv, svEnd, this.#quotedStatus(row.status));
        pendingStatus = false;
      }
      const end = this.#ref(s, at);
      if (end === -1) return false;
      lastEnd = end;
      at = end - 1;
    }
    // A match inside metadata is not the top-level member (which may then be absent): walk.
    if ((dv > metaStart && dv < metaEnd) || (sv > metaStart && sv < metaEnd)) return false;
    if (pendingDate) p.add(dv, dvEnd, this.#quotedDate(row.dateLastModified as string));
    if (pendingStatus) p.add(sv, svEnd, this.#quotedStatus(row.status));
    this.#appendMissing(row, n, dv !== -1, sv !== -1);
    return true;
  }

  /** Members the stored record lacks are appended, as `storedEntity`'s assignment does. */
  #appendMissing(row: StoredRecord, n: number, sawDate: boolean, sawStatus: boolean): void {
    if (!sawDate && row.dateLastModified !== undefined) {
      this.#quotedDate(row.dateLastModified);
      this.#p.add(n - 1, n - 1, this.#dateAppend);
    }
    if (!sawStatus) {
      this.#quotedStatus(row.status);
      this.#p.add(n - 1, n - 1, this.#statusAppend);
    }
  }

  /** Member by member: any canonical object whose references and overridden members have plain shapes. */
  #walk(tables: KeyTables, row: StoredRecord): boolean {
    const s = row.json;
    const n = s.length;
    const p = this.#p;
    let i = 1;
    let sawDate = false;
    let sawStatus = false;
    for (;;) {
      if (s.charCodeAt(i) !== Q) return false;
      const keyEnd = s.indexOf('"', i + 1);
      if (keyEnd === -1 || s.charCodeAt(keyEnd + 1) !== COLON) return false;
      const v = keyEnd + 2;
      let act: Act | 0 = 0;
      const candidates = tables.special[keyEnd - i - 1];
      if (candidates !== undefined) {
        for (const k of candidates) {
          if (s.startsWith(k.key, i + 1)) {
            act = k.act;
            break;
          }
        }
      }
      let end: number;
      switch (act) {
        case 0:
          end = skipValue(s, v);
          if (end === -1) return false;
          break;
        case Act.DateLastModified:
        case Act.Status: {
          if (s.charCodeAt(v) !== Q) return false;
          end = s.indexOf('"', v + 1) + 1;
          if (end === 0) return false;
          if (act === Act.Status) {
            sawStatus = true;
            p.add(v, end, this.#quotedStatus(row.status));
          } else {
            sawDate = true;
            if (row.dateLastModified !== undefined) p.add(v, end, this.#quotedDate(row.dateLastModified));
          }
          break;
        }
        case Act.Ref:
          end = this.#ref(s, v);
          if (end === -1) return false;
          break;
        case Act.RefArray: {
          if (s.charCodeAt(v) !== LBRACKET) return false;
          let j = v + 1;
          if (s.charCodeAt(j) !== RBRACKET) {
            for (;;) {
              j = this.#ref(s, j);
              if (j === -1) return false;
              const c = s.charCodeAt(j);
              if (c === RBRACKET) break;
              if (c !== COMMA) return false;
              j++;
            }
          }
          end = j + 1;
          break;
        }
      }
      const c = s.charCodeAt(end);
      if (c === RBRACE) {
        if (end !== n - 1) return false;
        break;
      }
      if (c !== COMMA) return false;
      i = end + 1;
    }
    this.#appendMissing(row, n, sawDate, sawStatus);
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Writing the patched record

  /**
   * Writes s with `#p` applied. ASCII text (nearly every record): s is encoded once into the
   * buffer just past where the output will end, and the output is assembled from it with
   * `copyWithin` and the cached pieces. Other text: from slices, encoded once.
   */
  #emit(sink: ByteSink, s: string): void {
    const p = this.#p;
    const n = s.length;
    let outLen = n;
    for (let k = 0; k < p.n; k++) {
      outLen += p.head[k]!.bytes.length - (p.end[k]! - p.start[k]!);
      const idStart = p.idStart[k]!;
      if (idStart >= 0) outLen += p.idEnd[k]! - idStart + 2;
      else if (p.encoded[k] !== undefined) outLen += (p.encoded[k] as string).length + 2;
    }
    sink.ensure(outLen + n * 3);
    const buf = sink.buf;
    const out0 = sink.off;
    const src = out0 + outLen;
    if (buf.write(s, src, 'utf8') !== n) {
      this.#emitText(sink, s);
      return;
    }
    let pos = out0;
    let from = 0;
    for (let k = 0; k < p.n; k++) {
      const start = p.start[k]!;
      if (start > from) buf.copyWithin(pos, src + from, src + start);
      pos += start - from;
      const head = p.head[k]!.bytes;
      buf.set(head, pos);
      pos += head.length;
      const idStart = p.idStart[k]!;
      if (idStart >= 0) {
        const idEnd = p.idEnd[k]!;
        buf.copyWithin(pos, src + idStart, src + idEnd);
        pos += idEnd - idStart;
        buf[pos++] = Q;
        buf[pos++] = COMMA;
      } else {
        const enc = p.encoded[k];
        if (enc !== undefined) {
          pos += buf.write(enc, pos, 'latin1');
          buf[pos++] = Q;
          buf[pos++] = COMMA;
        }
      }
      from = p.end[k]!;
    }
    if (n > from) buf.copyWithin(pos, src + from, src + n);
    pos += n - from;
    sink.off = pos;
  }

  /** `#emit` for text with non-ASCII characters (string offsets are not byte offsets there). */
  #emitText(sink: ByteSink, s: string): void {
    const p = this.#p;
    let out = '';
    let from = 0;
    for (let k = 0; k < p.n; k++) {
      out += s.slice(from, p.start[k]!) + p.head[k]!.text;
      const idStart = p.idStart[k]!;
      if (idStart >= 0) out += s.slice(idStart, p.idEnd[k]!) + HREF_END.text;
      else if (p.encoded[k] !== undefined) out += p.encoded[k] + HREF_END.text;
      from = p.end[k]!;
    }
    sink.text(out + s.slice(from));
  }
}
