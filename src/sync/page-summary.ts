/**
 * Known pages: a no-change re-sync without parsing. A provider that pages in sourcedId order and
 * serialises deterministically sends a page's exact bytes again when nothing on it changed. So a
 * full read records, for each page it read, a summary: the body's hash (salted with the codec
 * version and the collection), its item count, first and last sourcedId, and a digest of its
 * (sourcedId, raw fingerprint) pairs in order. The next full read in sorted mode hands a page whose
 * body hash it recognises over unparsed (`ReadOptions.pageHash`), and the engine skips it when the
 * live rows between the previous page's last id and the summary's last id are exactly the
 * summary's: not deleted, same sourcedIds, same raw fingerprints. That is precisely when reading
 * the page would have found every record unchanged by its fingerprint (full-sync.ts, the no-change
 * fast path) and nothing passed over, so skipping it cannot change a run's outcome; otherwise the
 * page is parsed and read as usual. A stale summary therefore costs a lookup, never correctness.
 *
 * A page is summarised only when every record on it ends as an active live row holding this read's
 * raw fingerprint, with a sourcedId the provider sent clean, in strictly ascending order
 * (full-sync.ts decides, record by record).
 */
import { createHash } from 'node:crypto';
import type { PageSummary } from '../source/page-reader.ts';
import type { RangeRow } from '../store/staging.ts';

/** The salt of a page's body hash: a codec or collection change never matches an old summary. */
export function pageHashSalt(codecVersion: string, collection: string): string {
  return `${codecVersion}\n${collection}\n`;
}

/**
 * Digest of (sourcedId, raw fingerprint) pairs in order. Each id is length-prefixed and fingerprints
 * are base64, so distinct lists never share an input text.
 */
export function pairsDigest(ids: readonly string[], fps: ReadonlyArray<string | null>): string {
  const h = createHash('sha256');
  let chunk = '';
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    chunk += `${id.length}:${id}|${fps[i] ?? '-'}\n`;
    if (chunk.length >= 65536) {
      h.update(chunk);
      chunk = '';
    }
  }
  h.update(chunk);
  return h.digest('base64');
}

/** Collects one page's pairs while the engine classifies it; `summary()` is undefined once any record disqualified it. */
export class PageSummaryBuilder {
  readonly #ids: string[] = [];
  readonly #fps: string[] = [];
  #ok = true;

  /** A record that ends as an active live row with fingerprint `fp`. */
  add(id: string, fp: string): void {
    if (!this.#ok) return;
    const last = this.#ids[this.#ids.length - 1];
    if ((last !== undefined && id <= last) || ORDER_UNSAFE.test(id)) {
      this.#ok = false;
      return;
    }
    this.#ids.push(id);
    this.#fps.push(fp);
  }

  /** A record that does not (invalid, skipped, duplicate, deleted, unclean id, other fingerprint). */
  reject(): void {
    this.#ok = false;
  }

  summary(hash: string, count: number): PageSummary | undefined {
    if (!this.#ok || this.#ids.length === 0 || this.#ids.length !== count) return undefined;
    return { hash, count, firstId: this.#ids[0]!, lastId: this.#ids[this.#ids.length - 1]!, agg: pairsDigest(this.#ids, this.#fps) };
  }
}

/**
 * Does the live range hold exactly the summary's records? `rows`: the live rows after the previous
 * page's last id through `summary.lastId`, in order (tombstones among them are passed over, as the
 * sorted read does).
 */
export function matchesLive(summary: PageSummary, rows: ReadonlyArray<readonly [string, RangeRow]>): boolean {
  const ids: string[] = [];
  const fps: string[] = [];
  for (const [id, r] of rows) {
    if (r.deleted) continue;
    if (r.fp === null) return false;
    ids.push(id);
    fps.push(r.fp);
  }
  return ids.length === summary.count && pairsDigest(ids, fps) === summary.agg;
}

/**
 * Characters whose UTF-16 order (JS `<`) differs from UTF-8 byte order (the SQL key order):
 * surrogates and U+E000–U+FFFF. Ids containing them break the sorted read (the collection is read in
 * general mode) and are never summarised.
 */
export const ORDER_UNSAFE = /[\uD800-\uFFFF]/;
