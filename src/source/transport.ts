/**
 * The one side effect of `source/`: sending an HTTP request and reading the whole response body.
 * A small port so the client's logic (auth, retries, paging) is testable with any implementation;
 * the production one is undici with a per-connection `Agent` whose connection count per origin is
 * capped at the connection's `maxConcurrency` (engineering-anchors §4.2).
 */
import { Agent } from 'undici';

export interface TransportRequest {
  method: 'GET' | 'POST';
  /** Absolute URL, sent byte for byte (OAuth 1.0a signed exactly this string). */
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** Whole-attempt deadline: headers and body. */
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface TransportResponse {
  status: number;
  /** Lower-case names; repeated headers joined with `, ` (fine for `Link`). */
  headers: Record<string, string>;
  body: Buffer;
}

export interface Transport {
  send(req: TransportRequest): Promise<TransportResponse>;
  close(): Promise<void>;
}

/** Thrown by transports when `timeoutMs` passes; retryable. */
export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError';
  readonly code = 'UND_ERR_HEADERS_TIMEOUT';
  constructor(readonly timeoutMs: number) {
    super(`request timed out after ${timeoutMs} ms`);
  }
}

export interface UndiciTransportOptions {
  /** Max sockets per origin (= the connection's maxConcurrency). */
  connections: number;
  connectTimeoutMs: number;
  keepAliveTimeoutMs?: number;
}

function normaliseHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/**
 * The path-and-query of an absolute URL exactly as written (not re-serialised by `URL`), so the bytes sent
 * are the bytes OAuth 1.0a signed. `https://h:8443/a/b?x=1` → `/a/b?x=1`; `https://h?x` → `/?x`.
 */
export function requestTarget(url: string): string {
  const start = url.indexOf('//') + 2;
  const rest = url.slice(start);
  const at = rest.search(/[/?#]/);
  if (at < 0 || rest[at] === '#') return '/';
  const target = rest.slice(at).split('#')[0] ?? '/';
  return target.startsWith('?') ? `/${target}` : target;
}

/** undici-backed transport. One per connection; `close()` releases its sockets. */
export function createUndiciTransport(opts: UndiciTransportOptions): Transport {
  const agent = new Agent({
    connections: opts.connections,
    pipelining: 1,
    connect: { timeout: opts.connectTimeoutMs },
    keepAliveTimeout: opts.keepAliveTimeoutMs ?? 10_000,
    // Our own whole-attempt timer below is the real deadline; these only catch stalls.
    headersTimeout: 0,
    bodyTimeout: 0,
  });

  return {
    async send(req: TransportRequest): Promise<TransportResponse> {
      const u = new URL(req.url);
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort(new RequestTimeoutError(req.timeoutMs));
      }, req.timeoutMs);
      const onCallerAbort = (): void => controller.abort(req.signal?.reason);
      if (req.signal?.aborted) onCallerAbort();
      else req.signal?.addEventListener('abort', onCallerAbort, { once: true });
      try {
        const res = await agent.request({
          origin: u.origin,
          path: requestTarget(req.url),
          method: req.method,
          headers: req.headers,
          body: req.body ?? null,
          signal: controller.signal,
        });
        const chunks: Buffer[] = [];
        for await (const chunk of res.body) chunks.push(chunk as Buffer);
        return {
          status: res.statusCode,
          headers: normaliseHeaders(res.headers as Record<string, string | string[] | undefined>),
          body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks),
        };
      } catch (err) {
        if (timedOut) throw new RequestTimeoutError(req.timeoutMs);
        throw err;
      } finally {
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onCallerAbort);
      }
    },
    async close(): Promise<void> {
      await agent.close();
    },
  };
}
