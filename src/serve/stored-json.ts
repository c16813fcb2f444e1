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
 * The fast path walks the top-level members with `indexOf` and copies the unchanged spans. Anything
 * it does not recognise (escape sequences anywhere in the text, a reference that is not a plain
 * `{href?, sourcedId, type}` object, a non-string `dateLastModified`…) falls back to the exact path:
 * parse, apply the overrides, `WireJsonWriter`. Both paths give the same bytes; `stored-json.test.ts`
 * checks that on clean and dirty synced districts.
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
 * appended, `dateLastModified` first). This is the reference semantics of the fast path.
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

/** What the fast path does with a top-level member (0: copy it). */
const Act = { DateLastModified: 1, Status: 2, Ref: 3, RefArray: 4 } as const;
type Act = (typeof Act)[keyof typeof Act];

interface SpecialKey {
  readonly key: string;
  readonly act: Act;
}

/** Special keys of a collection by key length, for a cheap first test before `startsWith`. */
type KeyTable = ReadonlyArray<readonly SpecialKey[] | undefined>;

function keyTable(collection: CollectionName): KeyTable {
  const keys: SpecialKey[] = [
    { key: 'dateLastModified', act: Act.DateLastModified },
    { key: 'status', act: Act.Status },
  ];
  for (const [name, ref] of Object.entries(REF_FIELDS[collection])) keys.push({ key: name, act: ref.many ? Act.RefArray : Act.Ref });
  const table: Array<SpecialKey[] | undefined> = [];
  for (const k of keys) (table[k.key.length] ??= []).push(k);
  return table;
}

const KEY_TABLES = new Map<CollectionName, KeyTable>();

function keyTableOf(collection: CollectionName): KeyTable {
  let t = KEY_TABLES.get(collection);
  if (t === undefined) {
    t = keyTable(collection);
    KEY_TABLES.set(collection, t);
  }
  return t;
}

/** True when every char of s[a, b) is unreserved for `encodeURIComponent` (it would return it unchanged). */
function isUriSafe(s: string, a: number, b: number): boolean {
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    // A-Z a-z 0-9 - _ . ! ~ * ' ( )
    if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57)) continue;
    if (c === 45 || c === 95 || c === 46 || c === 33 || c === 126 || c === 42 || c === 39 || c === 40 || c === 41) continue;
    return false;
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

/** Writes wire JSON from stored records for one base URL (hrefs depend on it). */
export class StoredJsonWriter {
  readonly baseUrl: string;
  readonly #wire: WireJsonWriter;
  readonly #base: string;
  /** Pairs of GUIDRef type and its `{"href":"<base>/<path>/`. */
  readonly #prefixes: string[] = [];
  /** Counters for tests and diagnostics. */
  readonly stats = { fast: 0, exact: 0 };

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
    const start = sink.off;
    if (this.#fast(sink, collection, row)) {
      this.stats.fast++;
      return;
    }
    sink.off = start;
    this.stats.exact++;
    this.#wire.write(sink, collection, storedEntity(row));
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

  /** `{"href":"<base>/<path>/` of the type in s[typeStart, typeEnd). */
  #prefix(s: string, typeStart: number, typeEnd: number): string {
    const len = typeEnd - typeStart;
    // A page uses a handful of types: a linear probe with startsWith beats slicing for a Map key.
    const known = this.#prefixes;
    for (let k = 0; k < known.length; k += 2) {
      const t = known[k] as string;
      if (t.length === len && s.startsWith(t, typeStart)) return known[k + 1] as string;
    }
    const type = s.slice(typeStart, typeEnd);
    const json = JSON.stringify(`${this.#base}/${pathFor(type)}/`);
    const p = `{"href":${json.slice(0, -1)}`;
    if (known.length < 64) known.push(type, p);
    return p;
  }

  /**
   * One GUIDRef object at `i` → its wire text appended to `this.#out`. Returns the index past it,
   * or -1 when it is not a plain `{"href":"…",?"sourcedId":"…","type":"…"}` with a non-empty type.
   */
  #ref(s: string, i: number): number {
    if (s.charCodeAt(i) !== LBRACE) return -1;
    let j = i + 1;
    if (s.startsWith('"href":"', j)) {
      const e = s.indexOf('"', j + 8);
      if (e === -1 || s.charCodeAt(e + 1) !== COMMA) return -1;
      j = e + 2;
    }
    if (!s.startsWith('"sourcedId":"', j)) return -1;
    const idStart = j + 13;
    const idEnd = s.indexOf('"', idStart);
    if (idEnd === -1 || !s.startsWith(',"type":"', idEnd + 1)) return -1;
    const typeStart = idEnd + 10;
    const typeEnd = s.indexOf('"', typeStart);
    if (typeEnd === -1 || typeEnd === typeStart || s.charCodeAt(typeEnd + 1) !== RBRACE) return -1;
    const id = isUriSafe(s, idStart, idEnd) ? s.slice(idStart, idEnd) : encodeURIComponent(s.slice(idStart, idEnd));
    // `"sourcedId":"…","type":"…"}` is already in wire form (no escapes in this text).
    this.#out += this.#prefix(s, typeStart, typeEnd) + id + '",' + s.slice(j, typeEnd + 2);
    return typeEnd + 2;
  }

  /** Output of the record being written: a rope of slices, flattened and encoded once by `sink.text`. */
  #out = '';

  #fast(sink: ByteSink, collection: CollectionName, row: StoredRecord): boolean {
    const s = row.json;
    const n = s.length;
    // Escapes are rare (quotes or control characters in values); the exact path handles them.
    if (n < 3 || s.indexOf('\\') !== -1 || s.charCodeAt(0) !== LBRACE || s.charCodeAt(n - 1) !== RBRACE) return false;
    const table = keyTableOf(collection);
    this.#out = '';
    let from = 0;
    let i = 1;
    let sawDate = false;
    let sawStatus = false;
    for (;;) {
      if (s.charCodeAt(i) !== Q) return false;
      const keyEnd = s.indexOf('"', i + 1);
      if (keyEnd === -1 || s.charCodeAt(keyEnd + 1) !== COLON) return false;
      const v = keyEnd + 2;
      let act: Act | 0 = 0;
      const candidates = table[keyEnd - i - 1];
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
          let value: string | undefined;
          if (act === Act.Status) {
            sawStatus = true;
            value = row.status;
          } else {
            sawDate = true;
            value = row.dateLastModified;
          }
          if (value !== undefined) {
            this.#out += s.slice(from, v) + quote(value);
            from = end;
          }
          break;
        }
        case Act.Ref: {
          this.#out += s.slice(from, v);
          end = this.#ref(s, v);
          if (end === -1) return false;
          from = end;
          break;
        }
        case Act.RefArray: {
          if (s.charCodeAt(v) !== LBRACKET) return false;
          this.#out += s.slice(from, v + 1);
          let j = v + 1;
          if (s.charCodeAt(j) !== RBRACKET) {
            for (;;) {
              j = this.#ref(s, j);
              if (j === -1) return false;
              const c = s.charCodeAt(j);
              if (c === RBRACKET) break;
              if (c !== COMMA) return false;
              this.#out += ',';
              j++;
            }
          }
          end = j + 1;
          from = j;
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
    // Members the stored record lacks are appended, as `storedEntity`'s assignment does.
    let out = this.#out + s.slice(from, n - 1);
    if (!sawDate && row.dateLastModified !== undefined) out += ',"dateLastModified":' + quote(row.dateLastModified);
    if (!sawStatus) out += ',"status":' + quote(row.status);
    sink.text(out + '}');
    this.#out = '';
    return true;
  }
}

/** JSON string literal, byte-identical to JSON.stringify for the ISO datetimes and status words served here. */
function quote(v: string): string {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return JSON.stringify(v);
  }
  return '"' + v + '"';
}
