/**
 * A `PageReader` over in-memory items, for tests, benchmarks and demos without HTTP. Pages are
 * served like a provider would (fixed `limit`, offset paging, optional `X-Total-Count`), and a
 * collection can be made to fail after N pages, the way a real read dies mid-collection.
 *
 * By default items are handed over as the same objects; `viaJson` serialises each page and parses
 * it back (what an HTTP client does), so benchmarks pay a realistic parse cost and `bytes` is the
 * real body size.
 */
import { compileFilter, parseFilter } from '../oneroster/filter-grammar.ts';
import type { CollectionName } from '../oneroster/types.ts';
import { bodyHash, type FetchedPage, type PageReader, type ReadOptions } from '../source/page-reader.ts';

export interface MemoryPageReaderOptions {
  /** Items per page (the `limit`). Default 1000. */
  pageSize?: number;
  /** Serialise and parse every page (realistic cost and bytes). Default false. */
  viaJson?: boolean;
  /** Report `total` (like `X-Total-Count`). Default true. */
  sendTotal?: boolean;
  /** Apply `ReadOptions.filter` with the OneRoster filter grammar, as a provider would. Default true. */
  applyFilter?: boolean;
  /** The provider clock each page reports (like HTTP `Date`), read when the page is served. */
  serverDate?: () => string;
  /** Make a collection's read throw after this many pages were yielded. */
  failAfter?: Partial<Record<CollectionName, { pages: number; error: Error }>>;
}

/** Items per collection: an array, or a factory called once per read (for generated data). */
export type MemoryItems = Partial<Record<CollectionName, readonly unknown[] | (() => Iterable<unknown>)>>;

/** See the module comment. Records every read (collection + filter) in `reads`. */
export class MemoryPageReader implements PageReader {
  readonly reads: Array<{ collection: CollectionName; filter?: string }> = [];
  readonly #items: MemoryItems;
  readonly #options: MemoryPageReaderOptions;

  constructor(items: MemoryItems, options: MemoryPageReaderOptions = {}) {
    this.#items = items;
    this.#options = options;
  }

  async *readPages(collection: CollectionName, options: ReadOptions = {}): AsyncIterable<FetchedPage> {
    this.reads.push(options.filter === undefined ? { collection } : { collection, filter: options.filter });
    const size = this.#options.pageSize ?? 1000;
    const source = this.#items[collection];
    let all: Iterable<unknown> = source === undefined ? [] : typeof source === 'function' ? source() : source;
    if (options.filter !== undefined && this.#options.applyFilter !== false) {
      const match = compileFilter(parseFilter(options.filter), { isKnownField: () => true });
      const keep = (item: unknown): boolean => typeof item === 'object' && item !== null && match(item);
      // Arrays are already in memory; generated items stay streamed.
      all = Array.isArray(all) ? all.filter(keep) : lazyFilter(all, keep);
    }
    const total = Array.isArray(all) && this.#options.sendTotal !== false ? all.length : undefined;
    const fail = this.#options.failAfter?.[collection];
    let offset = options.startOffset ?? 0;
    let index = 0;
    let buf: unknown[] = [];
    let skipped = 0;
    const emit = (items: unknown[]): FetchedPage => {
      let out = items;
      let bytes: number;
      let text: string | undefined;
      if (this.#options.viaJson) {
        text = JSON.stringify(items);
        bytes = Buffer.byteLength(text);
        out = JSON.parse(text) as unknown[];
      } else {
        bytes = 0;
      }
      const page: FetchedPage = { collection, offset, index, items: out, bytes, requests: 1 };
      // Page hashes as the HTTP client computes them, over the page's JSON text.
      const { pageHash } = options;
      if (pageHash !== undefined) {
        page.bodyHash = bodyHash(pageHash.salt, Buffer.from(text ?? JSON.stringify(items)));
        const known = pageHash.known?.(page.bodyHash);
        if (known !== undefined) {
          page.known = known;
          page.items = [];
          page.materialize = () => out;
        }
      }
      if (total !== undefined) page.total = total;
      if (this.#options.serverDate) page.serverDate = this.#options.serverDate();
      offset += items.length;
      index++;
      return page;
    };
    for (const item of all) {
      if (skipped < (options.startOffset ?? 0)) {
        skipped++;
        continue;
      }
      buf.push(item);
      if (buf.length === size) {
        if (fail && index >= fail.pages) throw fail.error;
        options.signal?.throwIfAborted();
        yield emit(buf);
        buf = [];
      }
    }
    if (fail && index >= fail.pages) throw fail.error;
    options.signal?.throwIfAborted();
    // A short (or empty) last page ends the read, as with a real provider.
    if (buf.length > 0 || index === 0) yield emit(buf);
  }
}

function* lazyFilter(items: Iterable<unknown>, keep: (item: unknown) => boolean): Iterable<unknown> {
  for (const item of items) if (keep(item)) yield item;
}
