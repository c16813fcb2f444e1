import { createHash } from 'node:crypto';
import type { CollectionName } from '../oneroster/types.ts';
import type { ImsxStatus } from './errors.ts';

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
  /**
   * With `ReadOptions.offload`: what the offload made of the body (`items` is then empty). Its
   * `count` items advance the paging position.
   */
  offloaded?: OffloadedBody;
}

/** A page body parsed elsewhere (`PageOffload`): enough for paging, plus the offload's own result. */
export interface OffloadedBody {
  /** Items in the wrapper array. */
  count: number;
  /** Each item's `sourcedId` as sent when it is a string, else null (paging loop and duplicate checks). */
  ids: Array<string | null>;
  /** The envelope's non-success `statusInfoSet` entries. */
  warnings: ImsxStatus[];
  /** Whatever the offload made of the items, for the reader's caller. */
  result: unknown;
}

/**
 * Parses 2xx page bodies off the reader's thread (sync/prep-pool.ts: a worker thread that also
 * prepares the records). `parse` checks the envelope as `parseEnvelope` does and rejects with the
 * same `bad_envelope` SourceError. `wants` may decline a body (e.g. a small one, cheaper to parse here).
 */
export interface PageOffload {
  wants(bytes: number): boolean;
  parse(raw: Buffer, res: { status: number; headers: Record<string, string>; label: string }): Promise<OffloadedBody>;
}

/** An item's `sourcedId` as sent, when it is a string (paging loop and duplicate checks). */
export function rawSourcedId(item: unknown): string | undefined {
  if (item !== null && typeof item === 'object') {
    const id = (item as Record<string, unknown>)['sourcedId'];
    if (typeof id === 'string') return id;
  }
  return undefined;
}

/** SHA-256 (base64) of a salt and a response body: `FetchedPage.bodyHash`. */
export function bodyHash(salt: string, body: Buffer): string {
  return createHash('sha256').update(salt).update(body).digest('base64');
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
  /** Parse page bodies through this (see `PageOffload`); a page it parsed carries `offloaded`. */
  offload?: PageOffload;
}

/**
 * The port through which `sync/` reads a provider. `source/` implements it over HTTP;
 * tests implement it in memory. Pages are yielded in order; a thrown error means the
 * collection read failed (a `SourceError` with a stable code).
 */
export interface PageReader {
  readPages(collection: CollectionName, options?: ReadOptions): AsyncIterable<FetchedPage>;
}
