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

/** A page of a collection, prepared (see page-prep.ts). */
export interface PreparedPage {
  offset: number;
  index: number;
  /** Items the provider sent (the read's paging position advances by this). */
  count: number;
  total?: number;
  bytes: number;
  requests: number;
  serverDate?: string;
  entries: PreparedEntry[];
  /** CPU time the preparation of this page took. */
  t: PrepTimings;
}

export interface SourceReadOptions extends ReadOptions {
  /** Prepare every record completely (a collection without live rows). */
  eager: boolean;
  /** Prepare a page as soon as it arrives rather than when it is taken (see the module comment). */
  ahead: boolean;
  /** Eager reads: the check of references into collections read earlier. */
  cross?: CrossCheck;
}

/** A reader's pages, prepared. */
export class InlinePageSource {
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
    const prepare = (page: FetchedPage): PreparedPage => {
      const t = emptyPrepTimings();
      const t0 = performance.now();
      const entries = prepareItems(c, page.items, { codec: this.#codec, eager, cross }, t);
      this.prepMs += performance.now() - t0;
      return toPrepared(page, entries, t);
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

/** The page's paging facts with its prepared entries. */
export function toPrepared(
  page: { offset: number; index: number; items: readonly unknown[]; total?: number; bytes: number; requests: number; serverDate?: string },
  entries: PreparedEntry[],
  t: PrepTimings,
): PreparedPage {
  const out: PreparedPage = { offset: page.offset, index: page.index, count: page.items.length, bytes: page.bytes, requests: page.requests, entries, t };
  if (page.total !== undefined) out.total = page.total;
  if (page.serverDate !== undefined) out.serverDate = page.serverDate;
  return out;
}
