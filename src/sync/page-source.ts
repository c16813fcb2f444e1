/**
 * Where the engine gets its pages from: a `PageReader` plus the per-record preparation
 * (page-prep.ts). Two timings:
 * - `ahead` (PostgreSQL): the prefetched next page is prepared as soon as it arrives, so while the
 *   current page's COPY runs in the server process, this process prepares the next page.
 * - otherwise (SQLite, whose writes are synchronous and gain nothing from it) a page is prepared
 *   when the engine takes it, so only one page's prepared records are alive at a time (the sync's
 *   peak memory).
 */
import type { CollectionName } from '../oneroster/types.ts';
import type { FetchedPage, PageReader, ReadOptions } from '../source/page-reader.ts';
import { emptyPrepTimings, prepareItems, type PrepTimings, type PreparedEntry } from './page-prep.ts';
import type { RecordCodec } from './record-codec.ts';
import type { CrossCheck } from './reference-check.ts';

/** A fetched page with its items replaced by their preparation (see page-prep.ts). */
export type PreparedPage = Omit<FetchedPage, 'items'> & {
  /** Items the provider sent (the read's paging position advances by this). */
  count: number;
  entries: PreparedEntry[];
  /** CPU time the preparation of this page took. */
  t: PrepTimings;
};

export interface SourceReadOptions extends ReadOptions {
  /** Prepare every record completely (a collection without live rows). */
  eager: boolean;
  /** Prepare a page as soon as it arrives rather than when it is taken (see the module comment). */
  ahead: boolean;
  /** Eager reads: the check of references into collections read earlier. */
  cross?: CrossCheck;
}

/** A reader's pages, prepared. */
export class PageSource {
  /** Time spent preparing pages so far, ms (the caller takes it out of the waits it happened in). */
  prepMs = 0;
  readonly #reader: PageReader;
  readonly #codec: RecordCodec;

  constructor(reader: PageReader, codec: RecordCodec) {
    this.#reader = reader;
    this.#codec = codec;
  }

  /** Pages in order, each prepared on `take()`; throws the reader's error when the read fails. */
  async *pages(c: CollectionName, options: SourceReadOptions): AsyncIterable<{ take(): PreparedPage }> {
    const { eager, cross, ahead, ...read } = options;
    const prepare = ({ items, ...page }: FetchedPage): PreparedPage => {
      const t = emptyPrepTimings();
      const t0 = performance.now();
      const entries = prepareItems(c, items, { codec: this.#codec, eager, cross }, t);
      this.prepMs += performance.now() - t0;
      return { ...page, count: items.length, entries, t };
    };
    for await (const page of this.#reader.readPages(c, read)) {
      if (ahead) {
        const prepared = prepare(page);
        yield { take: () => prepared };
      } else {
        yield { take: () => prepare(page) };
      }
    }
  }
}
