/**
 * Retry policy for provider requests: which failures are transient, how long to wait, when to give up.
 *
 * Retries live in our layer rather than the transport's (undici's RetryHandler resends the same headers),
 * because OAuth 1.0a must be signed again on every attempt (engineering-anchors §1.7.4). Retried: 429, 502,
 * 503, 504 and connection resets/timeouts (§1.7.6). Waits honour `Retry-After` (RFC 9110 §10.2.3: seconds or
 * an HTTP-date), else exponential backoff with full jitter; both capped by `maxDelayMs`.
 */
import type { RetryConfig } from './connection.ts';
import { SourceError } from './errors.ts';

/** Time source and sleeper, injectable so tests do not wait for real backoffs. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Sleeps `ms`, rejecting with a SourceError('aborted') if `signal` fires first. */
/** Waits `ms`, or less when `signal` aborts; never rejects (for poll loops that check the signal themselves). */
export function sleepUntil(ms: number, signal: AbortSignal): Promise<void> {
  return abortableSleep(ms, signal).catch(() => undefined);
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortedError(signal));
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortedError(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export const systemClock: Clock = { now: () => Date.now(), sleep: abortableSleep };

/** The error thrown when the caller's signal aborts a read. */
export function abortedError(signal: AbortSignal | undefined): SourceError {
  return new SourceError('aborted', 'The read was cancelled.', { cause: signal?.reason });
}

/** HTTP statuses worth retrying: busy (429) and gateway/upstream trouble (502, 503, 504). */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 502 || status === 503 || status === 504;
}

const RETRYABLE_NET_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'UND_ERR_SOCKET', // "other side closed" and friends
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/**
 * Classifies a thrown transport error: `retry` for resets/timeouts (the request may well succeed again),
 * `fatal` for everything else (DNS failure, refused connection, TLS errors: retrying for ten minutes would
 * only hide a wrong base URL). Returns the cause label used in retry statistics.
 */
export function classifyNetworkError(err: unknown): { retry: boolean; cause: string; timeout: boolean } {
  let e: unknown = err;
  // undici wraps some failures (fetch's "TypeError: fetch failed"); look one or two causes deep.
  for (let depth = 0; depth < 3 && e !== null && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    const message = String((e as { message?: unknown }).message ?? '');
    if (typeof code === 'string' && RETRYABLE_NET_CODES.has(code)) {
      return { retry: true, cause: code, timeout: code.includes('TIMEOUT') || code === 'ETIMEDOUT' };
    }
    if (/other side closed|socket hang up/i.test(message)) return { retry: true, cause: 'UND_ERR_SOCKET', timeout: false };
    if (typeof code === 'string') return { retry: false, cause: code, timeout: false };
    e = (e as { cause?: unknown }).cause;
  }
  return { retry: false, cause: 'unknown', timeout: false };
}

/**
 * Parses a `Retry-After` header into milliseconds from `nowMs`: delta-seconds (`120`) or an HTTP-date
 * (`Wed, 21 Oct 2015 07:28:00 GMT`). Returns undefined when absent or unparseable; 0 for dates in the past.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/**
 * Wait before retry number `retry` (1 = first retry): `Retry-After` when the server gave one, else full
 * jitter `random() * min(maxDelay, base * 2^(retry-1))` (spreads concurrent clients, AWS backoff note).
 * Always capped by `maxDelayMs`.
 */
export function retryDelay(retry: number, policy: RetryConfig, retryAfterMs: number | undefined, random: () => number): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxDelayMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(retry - 1, 30));
  return Math.floor(random() * ceiling);
}

/** What a caller learns when it should stop retrying (see `RetryBudget.next`). */
export type RetryDecision = { retry: true; delayMs: number } | { retry: false; reason: 'attempts' | 'elapsed' };

/**
 * Tracks one logical request's attempts against the policy's attempt and elapsed-time caps.
 * Usage: after a retryable failure call `next(retryAfterMs)`; sleep `delayMs` or give up.
 */
export class RetryBudget {
  attempts = 0;
  private readonly started: number;

  constructor(
    private readonly policy: RetryConfig,
    private readonly clock: Clock,
    private readonly random: () => number,
  ) {
    this.started = clock.now();
  }

  /** Milliseconds since the first attempt began. */
  elapsed(): number {
    return this.clock.now() - this.started;
  }

  /** Call once per attempt, before sending. */
  begin(): void {
    this.attempts++;
  }

  /** Decide about the next attempt after a retryable failure. */
  next(retryAfterMs: number | undefined): RetryDecision {
    if (this.attempts >= this.policy.maxAttempts) return { retry: false, reason: 'attempts' };
    const delayMs = retryDelay(this.attempts, this.policy, retryAfterMs, this.random);
    if (this.elapsed() + delayMs > this.policy.maxElapsedMs) return { retry: false, reason: 'elapsed' };
    return { retry: true, delayMs };
  }
}
