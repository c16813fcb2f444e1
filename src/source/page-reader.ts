import type { CollectionName } from '../oneroster/types.ts';

/** One page of a collection as the provider sent it. Items are untrusted (`unknown`) until parsed. */
export interface FetchedPage {
  collection: CollectionName;
  /** Zero-based offset this page was requested at. */
  offset: number;
  /** Zero-based index of this page within the collection read. */
  index: number;
  items: unknown[];
  /** `X-Total-Count` when the server sent one. */
  total?: number;
  /** Response body size in bytes. */
  bytes: number;
  /** HTTP requests this page took (retries included). */
  requests: number;
  /**
   * The provider's clock when it answered (the HTTP `Date` header), ISO. A delta cursor is taken on
   * the provider's clock, because `dateLastModified` is stamped by it, not by ours.
   */
  serverDate?: string;
  /**
   * With `ReadOptions.pageHash`: SHA-256 (base64) of the salt and the response body. Absent when the
   * provider attached warnings (`statusInfoSet`), which a summary could not carry.
   */
  bodyHash?: string;
  /**
   * The body's hash matched a summary `ReadOptions.pageHash.known` returned: the body was not parsed
   * and `items` is empty; `materialize()` parses it (the caller falls back to reading the items).
   */
  known?: PageSummary;
  materialize?: () => unknown[];
}

/**
 * What a page held when it was last read in full (sync/page-summary.ts): same body bytes, same
 * items. `agg` digests the items' sourcedIds and raw fingerprints, in page order.
 */
export interface PageSummary {
  hash: string;
  count: number;
  firstId: string;
  lastId: string;
  agg: string;
}

export interface ReadOptions {
  /** The OneRoster filter text, unencoded, e.g. `status='active'`. */
  filter?: string;
  /** Start at this offset (resuming a run). Default 0. */
  startOffset?: number;
  signal?: AbortSignal;
  /**
   * Hash each page's body (`FetchedPage.bodyHash`), salted; with `known`, a page whose hash it
   * recognises is handed over unparsed (`FetchedPage.known`).
   */
  pageHash?: { salt: string; known?: (hash: string) => PageSummary | undefined };
}

/**
 * The port through which `sync/` reads a provider. `source/` implements it over HTTP;
 * tests implement it in memory. Pages are yielded in order; a thrown error means the
 * collection read failed (a `SourceError` with a stable code).
 */
export interface PageReader {
  readPages(collection: CollectionName, options?: ReadOptions): AsyncIterable<FetchedPage>;
}
