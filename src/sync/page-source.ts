/**
 * Where the engine gets its pages from: a `PageReader` plus the per-record preparation
 * (page-prep.ts). Two timings:
 * - `ahead` (PostgreSQL): the prefetched next page is prepared as soon as it arrives, so while the
 *   current page's COPY runs in the server process, this process prepares the next page.
 * - otherwise (SQLite, whose writes are synchronous and gain nothing from it) a page is prepared
 *   when the engine takes it, so only one page's prepared records are alive at a time (the sync's
 *   peak memory). A page read by fingerprint (a re-sync or a delta: `eager` off) is prepared in
 *   slices of `SLICE` records with a turn of the event loop between them, so the prefetched next
 *   page's body streams in and is parsed meanwhile instead of once the engine waits for it
 *   (measured on SQLite at `large`: no-change re-sync 38.0 s → 29.9–33.7 s, waits for pages
 *   19.8 s → 14.4–15.8 s). An eager page (a first sync) is prepared in one go: with slices the
 *   next page is parsed while the current one is still alive, and the first sync's peak RSS at
 *   `large` went from 481 to 544–570 MiB (over the 512 MiB target), and from 370 to 463 MiB once
 *   the client's duplicate check got smaller, for no gain in time (117.1 s without, 117.0 s with;
 *   earlier 118.3 s without, 110.3–120.0 s with, within this machine's run-to-run noise).
 * - with a `PrepPool` (prep-pool.ts, opt-in), a page's body is parsed and prepared in a worker
 *   thread as it arrives, and the page comes here prepared.
 */
import type { CollectionName } from '../oneroster/types.ts';
import type { FetchedPage, PageReader, ReadOptions } from '../source/page-reader.ts';
import { emptyPrepTimings, normalizing, prepareItems, type PrepTimings, type PrepareOptions, type PreparedEntry } from './page-prep.ts';
import type { PrepPool, PreparedBody } from './prep-pool.ts';
import type { RecordCodec } from './record-codec.ts';
import type { CrossCheck } from './reference-check.ts';

/** A fetched page with its items replaced by their preparation (see page-prep.ts). */
export type PreparedPage = Omit<FetchedPage, 'items' | 'materialize'> & {
  /** Items the provider sent (the read's paging position advances by this). */
  count: number;
  /** Empty for a `known` page (see `unread`). */
  entries: PreparedEntry[];
  /** CPU time the preparation of this page took. */
  t: PrepTimings;
  /**
   * A `known` page (not parsed): parses and prepares its items, when the caller cannot skip them,
   * adding the time to `t` (and not to the source's `prepMs`).
   */
  unread?: (t: PrepTimings) => PreparedEntry[];
};

/** Records prepared between two turns of the event loop (a few ms of work; see the module comment). */
export const SLICE = 500;

/** A fetched page; `take()` prepares it (or returns it prepared, `ahead`). */
export interface PageTicket {
  take(): Promise<PreparedPage>;
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
export class PageSource {
  /** Time spent preparing pages so far, ms (the caller takes it out of the waits it happened in). */
  prepMs = 0;
  readonly #reader: PageReader;
  readonly #codec: RecordCodec;

  readonly #pool: PrepPool | undefined;
  readonly #onFallback: ((c: CollectionName, reason: string) => void) | undefined;

  /**
   * @param pool prepares pages in worker threads where it can (prep-pool.ts); undefined: on this thread.
   * @param onFallback told when a worker died and its page was prepared on this thread instead.
   */
  constructor(reader: PageReader, codec: RecordCodec, pool?: PrepPool, onFallback?: (c: CollectionName, reason: string) => void) {
    this.#reader = reader;
    this.#codec = codec;
    this.#pool = pool;
    this.#onFallback = onFallback;
  }

  /** Pages in order, each prepared by `take()`; throws the reader's error when the read fails. */
  async *pages(c: CollectionName, options: SourceReadOptions): AsyncIterable<PageTicket> {
    const { eager, cross, ahead, ...read } = options;
    const prep = { codec: this.#codec, eager, cross };
    const prepare = (items: readonly unknown[], t: PrepTimings): PreparedEntry[] => {
      const t0 = performance.now();
      const entries = prepareItems(c, items, prep, t);
      this.prepMs += performance.now() - t0;
      return entries;
    };
    const onFallback = this.#onFallback;
    const offload = this.#pool?.offload(c, this.#codec, { eager, cross, ...(onFallback ? { onFallback: (reason: string) => onFallback(c, reason) } : {}) });
    try {
      yield* this.#tickets(c, offload !== undefined ? { ...read, offload } : read, { eager, ahead }, prepare, prep);
    } finally {
      offload?.close();
    }
  }

  async *#tickets(
    c: CollectionName,
    read: ReadOptions,
    { eager, ahead }: { eager: boolean; ahead: boolean },
    prepare: (items: readonly unknown[], t: PrepTimings) => PreparedEntry[],
    prep: PrepareOptions,
  ): AsyncIterable<PageTicket> {
    for await (const { items, materialize, offloaded, ...page } of this.#reader.readPages(c, read)) {
      if (offloaded !== undefined) {
        // Parsed and prepared by a worker thread (prep-pool.ts).
        const { entries, t } = offloaded.result as PreparedBody;
        const prepared: PreparedPage = { ...page, count: offloaded.count, entries, t };
        yield { take: async () => prepared };
        continue;
      }
      const t = emptyPrepTimings();
      const known = page.known;
      if (known !== undefined && materialize !== undefined) {
        // Recognised by its body hash (page-summary.ts): nothing to prepare unless the engine asks.
        const unread = (tu: PrepTimings): PreparedEntry[] => prepareItems(c, normalizing(tu, materialize), prep, tu);
        const prepared: PreparedPage = { ...page, count: known.count, entries: [], t, unread };
        yield { take: async () => prepared };
        continue;
      }
      const done = (entries: PreparedEntry[]): PreparedPage => ({ ...page, count: items.length, entries, t });
      if (ahead) {
        const prepared = done(prepare(items, t));
        yield { take: async () => prepared };
      } else if (eager) {
        yield { take: async () => done(prepare(items, t)) };
      } else {
        yield {
          take: async () => {
            const entries: PreparedEntry[] = [];
            for (let i = 0; i < items.length; i += SLICE) {
              if (i > 0) await new Promise((resolve) => setImmediate(resolve));
              for (const e of prepare(items.slice(i, i + SLICE), t)) entries.push(e);
            }
            return done(entries);
          },
        };
      }
    }
  }
}
