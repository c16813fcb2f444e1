/**
 * Reads a OneRoster 1.1 provider: the `PageReader` that `sync/` consumes, plus single reads, arbitrary
 * reads for provider checks, and "test connection".
 *
 * Paging (spec-notes §2.4–2.5, engineering-anchors §1.7.1):
 * - request `{base}/{collection}?limit=L&offset=O[&filter=…]`, nothing else (SDS sends no sort either);
 * - next offset = offset + items received, because servers clamp `limit` silently;
 * - stop on an empty page, on a `Link` header without `rel="next"`, or when `X-Total-Count` is reached
 *   (unless the other header says there is more); a short page proves nothing, so without those headers
 *   keep going until an empty page;
 * - a 200 without the wrapper key is an error (`bad_envelope`), not an empty page;
 * - loop guards: the same page content twice in a row, the same `Link` next URL twice, `maxPages`;
 * - duplicate sourcedIds across pages are counted and listed (capped) in the read's stats.
 * Prefetch: page N+1 is requested while the caller works on page N. With maxConcurrency > 1, up to that
 * many pages are requested ahead, assuming the server's page length stays what it just was; a page that
 * comes back with another length makes the speculative requests be dropped and re-issued at the right
 * offsets (they are counted in `discardedRequests`).
 */
import { SINGULAR_KEY, type CollectionName } from '../oneroster/types.ts';
import { bodyHash, rawSourcedId, type FetchedPage, type OffloadedBody, type PageReader, type PageSummary, type ReadOptions } from './page-reader.ts';
import type { ConnectionConfig } from './connection.ts';
import { SourceError, type ImsxStatus } from './errors.ts';
import { Hash53Set } from './hash53-set.ts';
import { HttpClient, emptyCounters, parseEnvelope, type GetJsonOptions, type HttpClientDeps, type JsonResponse, type RawResponse, type RequestCounters } from './http-client.ts';
import { buildQuery, percentEncode } from './oauth1-signer.ts';
import { abortedError } from './retry.ts';

/** What one `readPages` call did. Updated live while the read runs. */
export interface ReadStats {
  collection: CollectionName;
  startOffset: number;
  /** Non-empty pages yielded. */
  pages: number;
  items: number;
  /** HTTP requests (retries, token-refresh retries and dropped prefetches included). */
  requests: number;
  bytes: number;
  /** Retries by cause: `429`, `503`, `ECONNRESET`, `timeout`, `401-refresh`, … */
  retries: Record<string, number>;
  /** sourcedIds seen more than once in this read (the later occurrences), at most `maxDuplicateIds`. */
  duplicates: string[];
  /** All duplicate occurrences, including those beyond the list cap. */
  duplicateCount: number;
  /** `X-Total-Count` of the first page that had one. */
  totalHeader?: number;
  /** True when a later page reported another `X-Total-Count` (data changed during the read). */
  totalChanged: boolean;
  /** True when `Link` and `X-Total-Count` disagreed about the end (the read then went on to an empty page). */
  headersDisagree: boolean;
  /** Why the read ended (set once it has). */
  stoppedBy?: 'empty-page' | 'link-without-next' | 'total-reached';
  /** Provider warnings on successful pages (1.1 `statusInfoSet`), first 20. */
  warnings: ImsxStatus[];
  /** Speculative prefetches dropped because the server's page length changed. */
  discardedRequests: number;
  /** Pages requested ahead of the consumer at most at once (observed). */
  maxInFlight: number;
}

/** An iterable read that exposes its stats. */
export interface PageRead extends AsyncIterable<FetchedPage> {
  readonly stats: ReadStats;
}

export interface OneRosterClientOptions extends HttpClientDeps {
  /** Loop guard: more pages than this in one read is an error. Default 100 000. */
  maxPages?: number;
  /** Cap on `stats.duplicates`. Default 100. */
  maxDuplicateIds?: number;
  /** Pages requested ahead of the consumer. Default `maxConcurrency`. */
  prefetch?: number;
  /** Use an existing HttpClient (shares its limits and token). */
  http?: HttpClient;
}

/** Result of `ping()`. */
export interface PingResult {
  /** Milliseconds for the request (token fetch included when one was needed). */
  ms: number;
  status: number;
  /** X-Total-Count of `/orgs`, when sent. */
  totalHeader?: number;
  /** Whether the provider sends `Link` paging headers. */
  sendsLink: boolean;
  requests: number;
}

/** Token facts safe to show ("test connection"): never the token itself. */
export interface TokenSummary {
  tokenType: string;
  expiresInS?: number;
  scope?: string;
  clientAuth: 'basic' | 'body';
}

/**
 * Parses an RFC 8288 `Link` header into rel → URL (first occurrence of each rel wins). Lenient about
 * spacing, quoting and several rels in one value (`rel="next last"`).
 */
export function parseLinkHeader(value: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (value === undefined) return out;
  const re = /<([^>]*)>((?:\s*;\s*[^;,]+(?:=(?:"[^"]*"|[^;,]*))?)*)/g;
  for (let m = re.exec(value); m !== null; m = re.exec(value)) {
    const url = m[1] ?? '';
    const relMatch = /;\s*rel\s*=\s*(?:"([^"]*)"|([^;,\s]+))/i.exec(m[2] ?? '');
    const rels = (relMatch?.[1] ?? relMatch?.[2] ?? '').toLowerCase().split(/\s+/).filter(Boolean);
    for (const rel of rels) if (!out.has(rel)) out.set(rel, url);
  }
  return out;
}

/** Parses `X-Total-Count`; undefined unless a plain non-negative integer. */
export function parseTotalCount(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  return /^\d+$/.test(v) ? Number(v) : undefined;
}

/**
 * 53-bit string hash (cyrb53) for the duplicate check, kept in a `Hash53Set` (≈15 MB per million ids;
 * keeping every sourcedId took ≈77 MB, a `Set<number>` of the hashes ≈37–52 MB). False "duplicate" odds are about n²/2^54 (≈5e-5 at 1 M ids);
 * the store's staging step remains the exact check.
 */
function hash53(s: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

interface PendingPage {
  offset: number;
  controller: AbortController;
  promise: Promise<JsonResponse>;
  /** With `ReadOptions.pageHash`: the body's hash, set when the response arrives. */
  hash?: string;
  /** The summary `pageHash.known` recognised the body by (the body was left unparsed). */
  known?: PageSummary;
  /** `ReadOptions.offload` parsed the body (set before `promise` resolves). */
  offloaded?: OffloadedBody;
}

/** The OneRoster 1.1 client for one connection (see the file comment). Call `close()` when done. */
export class OneRosterClient implements PageReader {
  readonly http: HttpClient;
  private readonly maxPages: number;
  private readonly maxDuplicateIds: number;
  private readonly prefetch: number;

  constructor(
    readonly config: ConnectionConfig,
    options: OneRosterClientOptions = {},
  ) {
    this.http = options.http ?? new HttpClient(config, options);
    this.maxPages = options.maxPages ?? 100_000;
    this.maxDuplicateIds = options.maxDuplicateIds ?? 100;
    this.prefetch = Math.max(1, options.prefetch ?? config.maxConcurrency);
  }

  /**
   * Reads a base collection page by page (see the file comment for the paging rules). Empty pages are not
   * yielded. Throws `SourceError` on failure; the returned object's `stats` describe the read so far.
   */
  readPages(collection: CollectionName, options: ReadOptions = {}): PageRead {
    const stats: ReadStats = {
      collection,
      startOffset: options.startOffset ?? 0,
      pages: 0,
      items: 0,
      requests: 0,
      bytes: 0,
      retries: {},
      duplicates: [],
      duplicateCount: 0,
      totalChanged: false,
      headersDisagree: false,
      warnings: [],
      discardedRequests: 0,
      maxInFlight: 0,
    };
    // Counters are shared with the HTTP layer and mirrored into `stats`.
    const counters: RequestCounters = emptyCounters();
    counters.retries = stats.retries;
    const sync = (): void => {
      stats.requests = counters.requests;
      stats.bytes = counters.bytes;
    };
    return {
      stats,
      [Symbol.asyncIterator]: () => this.pages(collection, options, stats, counters, sync)[Symbol.asyncIterator](),
    };
  }

  private async *pages(
    collection: CollectionName,
    options: ReadOptions,
    stats: ReadStats,
    counters: RequestCounters,
    sync: () => void,
  ): AsyncGenerator<FetchedPage, void, undefined> {
    const { signal, pageHash, offload } = options;
    // With an offload, one page more is requested ahead: its request waits for a permit like any
    // other (the connection's concurrency cap holds), and is sent as soon as the previous body has
    // arrived, while that body is parsed elsewhere. Without it the next request would only start
    // once the previous page is parsed.
    const depth = this.prefetch + (offload !== undefined ? 1 : 0);
    const label = `/${collection}`;
    const limit = this.config.pageSize;
    const seen = new Hash53Set();
    const linkNextSeen = new Set<string>();
    const queue: PendingPage[] = [];
    let offset = stats.startOffset;
    let total: number | undefined;
    let step: number | undefined;
    let previousFingerprint: string | undefined;
    let index = 0;

    const start = (at: number): PendingPage => {
      const controller = new AbortController();
      const onAbort = (): void => controller.abort(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      const params: Array<[string, string]> = [['limit', String(limit)], ['offset', String(at)]];
      if (options.filter !== undefined && options.filter !== '') params.push(['filter', options.filter]);
      const pending: PendingPage = { offset: at, controller, promise: undefined as unknown as Promise<JsonResponse> };
      const get: GetJsonOptions = { expectKey: collection, expectShape: 'array', signal: controller.signal, counters };
      let offloading = false;
      if (pageHash !== undefined || offload !== undefined) {
        get.peek = (body) => {
          if (pageHash !== undefined) {
            const hash = bodyHash(pageHash.salt, body);
            pending.hash = hash;
            const known = pageHash.known?.(hash);
            if (known !== undefined) {
              pending.known = known;
              return true;
            }
          }
          offloading = offload !== undefined && offload.wants(body.length);
          return offloading;
        };
      }
      pending.promise = this.http
        .getJson(`/${collection}?${buildQuery(params)}`, get)
        .then(async (res) => {
          if (!offloading || res.raw === undefined) return res;
          pending.offloaded = await offload!.parse(res.raw, { status: res.status, headers: res.headers, label });
          const { raw: _parsed, ...rest } = res;
          return { ...rest, warnings: pending.offloaded.warnings };
        })
        .finally(() => signal?.removeEventListener('abort', onAbort));
      // Dropped prefetches reject unobserved; keep them from surfacing as unhandled rejections.
      pending.promise.catch(() => undefined);
      queue.push(pending);
      stats.maxInFlight = Math.max(stats.maxInFlight, queue.length);
      return pending;
    };
    const dropQueue = (counted: boolean): void => {
      for (const p of queue.splice(0)) {
        p.controller.abort(new Error('prefetch dropped'));
        if (counted) stats.discardedRequests++;
      }
    };

    try {
      start(offset);
      for (;;) {
        if (signal?.aborted) throw abortedError(signal);
        const head = queue.shift();
        if (head === undefined) return;
        let res: JsonResponse;
        try {
          res = await head.promise;
        } catch (err) {
          sync();
          if (signal?.aborted) throw abortedError(signal);
          throw err;
        }
        sync();
        const known = head.known;
        const off = head.offloaded;
        const items = known === undefined && off === undefined ? (res.body[collection] as unknown[]) : [];
        const count = known !== undefined ? known.count : off !== undefined ? off.count : items.length;
        const pageTotal = parseTotalCount(res.headers['x-total-count']);
        if (pageTotal !== undefined) {
          if (stats.totalHeader === undefined) stats.totalHeader = pageTotal;
          else if (pageTotal !== total) stats.totalChanged = true;
          total = pageTotal;
        }
        for (const w of res.warnings) if (stats.warnings.length < 20) stats.warnings.push(w);

        if (count === 0) {
          stats.stoppedBy = 'empty-page';
          return;
        }

        // Loop guards: the same content again means the server ignores `offset`.
        const fingerprint = known !== undefined
          ? `${known.count}|${known.firstId}|${known.lastId}|${res.bytes}`
          : off !== undefined
            ? `${off.count}|${off.ids[0] ?? ''}|${off.ids[off.count - 1] ?? ''}|${res.bytes}`
            : `${items.length}|${rawSourcedId(items[0]) ?? ''}|${rawSourcedId(items[items.length - 1]) ?? ''}|${res.bytes}`;
        if (fingerprint === previousFingerprint) {
          throw new SourceError('paging_loop', `The provider returned the same page of /${collection} twice in a row (offset ${head.offset}); it seems to ignore the offset parameter. Paging cannot complete.`, { path: label });
        }
        previousFingerprint = fingerprint;
        const link = res.headers['link'] !== undefined ? parseLinkHeader(res.headers['link']) : undefined;
        const next = link?.get('next');
        if (next !== undefined) {
          if (linkNextSeen.has(next)) {
            throw new SourceError('paging_loop', `The provider's Link header for /${collection} pointed at the same next page twice; paging cannot complete.`, { path: label });
          }
          linkNextSeen.add(next);
        }
        if (index + 1 > this.maxPages) {
          throw new SourceError('paging_loop', `Stopped reading /${collection} after ${this.maxPages} pages (${stats.items} records) without reaching the end. The provider may be paging in a loop; raise maxPages if the collection is really this large.`, { path: label });
        }

        // Duplicate sourcedIds across (and within) pages: offset paging drifts when data changes mid-read.
        // (A known page's ids are checked if it is materialized; unread, the caller vouches for its
        // ids: it recognises them as the ones the store holds, in order.)
        const checkDuplicates = (list: readonly unknown[], listIds?: ReadonlyArray<string | null>): void => {
          const n = listIds !== undefined ? listIds.length : list.length;
          for (let i = 0; i < n; i++) {
            const id = listIds !== undefined ? listIds[i] : rawSourcedId(list[i]);
            if (id === undefined || id === null) continue;
            if (!seen.add(hash53(id))) {
              stats.duplicateCount++;
              if (stats.duplicates.length < this.maxDuplicateIds) stats.duplicates.push(id);
            }
          }
        };
        checkDuplicates(items, off?.ids);

        const page: FetchedPage = { collection, offset: head.offset, index, items, bytes: res.bytes, requests: res.requests };
        if (head.hash !== undefined && res.warnings.length === 0) page.bodyHash = head.hash;
        if (off !== undefined) page.offloaded = off;
        if (known !== undefined) {
          const raw = res.raw!;
          page.known = known;
          page.materialize = () => {
            const parsed = parseEnvelope(raw, { status: res.status, headers: res.headers, label }, { expectKey: collection, expectShape: 'array' });
            const list = parsed.body[collection] as unknown[];
            if (list.length !== known.count) {
              throw new SourceError('bad_envelope', `The provider's page of ${label} at offset ${head.offset} matched a known page but holds ${list.length} records, not ${known.count}.`, { path: label });
            }
            checkDuplicates(list);
            return list;
          };
        }
        if (pageTotal !== undefined) page.total = pageTotal;
        const date = res.headers['date'];
        const dateMs = typeof date === 'string' ? Date.parse(date) : Number.NaN;
        if (Number.isFinite(dateMs)) page.serverDate = new Date(dateMs).toISOString();
        index++;
        stats.pages++;
        stats.items += count;
        offset = head.offset + count;

        // Either header may end the read, unless the other one explicitly says there is more: then keep
        // going (an empty page ends it) rather than risk a silently truncated collection.
        const linkSaysEnd = link !== undefined && next === undefined;
        const totalSaysEnd = total !== undefined && offset >= total;
        const linkSaysMore = next !== undefined;
        const totalSaysMore = total !== undefined && offset < total;
        let stop: ReadStats['stoppedBy'];
        if (linkSaysEnd && !totalSaysMore) stop = 'link-without-next';
        else if (totalSaysEnd && !linkSaysMore) stop = 'total-reached';
        else if ((linkSaysEnd && totalSaysMore) || (totalSaysEnd && linkSaysMore)) stats.headersDisagree = true;

        if (stop !== undefined) {
          dropQueue(true);
          stats.stoppedBy = stop;
          yield page;
          return;
        }
        // Prefetch: keep speculative requests only if they start where this page ended.
        if (queue.length > 0 && (queue[0]!.offset !== offset || count !== step)) dropQueue(true);
        step = count;
        while (queue.length < depth) {
          const last = queue[queue.length - 1];
          const at = last === undefined ? offset : last.offset + step;
          if (total !== undefined && at >= total && queue.length > 0) break;
          start(at);
        }
        yield page;
      }
    } finally {
      // Consumer stopped early, error, or done: cancel whatever is still in flight.
      dropQueue(false);
      sync();
    }
  }

  /**
   * One record by sourcedId (`GET /{collection}/{id}`), or undefined on 404. The body's singular wrapper
   * key is required (demographics keeps its plural key, spec-notes §1.2).
   */
  async getOne(collection: CollectionName, sourcedId: string, opts: { signal?: AbortSignal } = {}): Promise<unknown> {
    const key = SINGULAR_KEY[collection];
    const res = await this.http.getJson(`/${collection}/${percentEncode(sourcedId)}`, {
      expectKey: key,
      expectShape: 'object',
      notFound: 'undefined',
      ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
    });
    return res?.body[key];
  }

  /**
   * Any GET under the API root, e.g. `get('/schools', {limit: 1})`, with failures as SourceErrors.
   * `expectKey` demands that wrapper key in a 2xx body. 404 → `endpoint_missing`.
   */
  async get(
    path: string,
    query: Record<string, string | number> = {},
    opts: { signal?: AbortSignal; expectKey?: string } = {},
  ): Promise<JsonResponse> {
    const o: GetJsonOptions = {};
    if (opts.signal !== undefined) o.signal = opts.signal;
    if (opts.expectKey !== undefined) o.expectKey = opts.expectKey;
    return this.http.getJson(this.pathWithQuery(path, query), o);
  }

  /** Any GET under the API root, status not interpreted (provider checks inspect error bodies and headers). */
  async getRaw(path: string, query: Record<string, string | number> = {}, opts: { signal?: AbortSignal } = {}): Promise<RawResponse> {
    return this.http.getRaw(this.pathWithQuery(path, query), opts.signal !== undefined ? { signal: opts.signal } : {});
  }

  /** Fetches a new OAuth 2 token and says what was granted (never the token). */
  async fetchToken(): Promise<TokenSummary> {
    const t = await this.http.fetchToken();
    const out: TokenSummary = { tokenType: t.tokenType, clientAuth: t.clientAuth };
    if (t.expiresInS !== undefined) out.expiresInS = t.expiresInS;
    if (t.scope !== undefined) out.scope = t.scope;
    return out;
  }

  /** "Test connection": `GET /orgs?limit=1` (every provider serves orgs) through the full auth path. */
  async ping(signal?: AbortSignal): Promise<PingResult> {
    const started = performance.now();
    const counters = emptyCounters();
    const res = await this.http.getJson(`/orgs?${buildQuery([['limit', '1'], ['offset', '0']])}`, {
      expectKey: 'orgs',
      expectShape: 'array',
      counters,
      ...(signal !== undefined ? { signal } : {}),
    });
    const out: PingResult = {
      ms: Math.round(performance.now() - started),
      status: res.status,
      sendsLink: res.headers['link'] !== undefined,
      requests: counters.requests,
    };
    const total = parseTotalCount(res.headers['x-total-count']);
    if (total !== undefined) out.totalHeader = total;
    return out;
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  private pathWithQuery(path: string, query: Record<string, string | number>): string {
    if (!path.startsWith('/')) throw new SourceError('invalid_config', `Request paths are relative to the API root and start with "/" (got "${path.slice(0, 60)}").`);
    const q = buildQuery(Object.entries(query).map(([k, v]) => [k, String(v)] as const));
    return q === '' ? path : `${path}?${q}`;
  }
}

/** Counters of a read, for callers that aggregate several reads. */
export function addCounters(into: RequestCounters, from: Pick<ReadStats, 'requests' | 'bytes' | 'retries'>): void {
  into.requests += from.requests;
  into.bytes += from.bytes;
  for (const [k, v] of Object.entries(from.retries)) into.retries[k] = (into.retries[k] ?? 0) + v;
}
