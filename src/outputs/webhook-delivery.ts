/**
 * Webhook delivery (issue 6): after each applied run, change events are POSTed to every enabled
 * subscriber in batches, signed (webhook-signing.ts), retried with exponential backoff and jitter,
 * at-least-once, with a per-subscriber cursor; a subscriber is disabled after repeated failures and
 * the reason is recorded.
 *
 * Guarantees and their mechanics:
 * - At-least-once: the cursor advances only after a 2xx answer for the batch that ends at it. A
 *   crash between the 2xx and `advance` re-sends that batch, so receivers must be idempotent; the
 *   `Rostersync-Delivery` header (stable across the retries of one batch) and each event's `cursor`
 *   let them deduplicate.
 * - Order: batches go out one at a time per subscriber, oldest events first; a failing batch blocks
 *   the ones after it (never skipped).
 * - Backoff: attempt n waits between cap/2 and cap, cap = min(maxDelayMs, baseDelayMs · 2^(n-1))
 *   ("equal jitter": spread, never zero); a `Retry-After` answer (429/503) raises the wait, still
 *   capped by maxDelayMs.
 * - Disabling: every failed attempt is recorded; when the subscriber's consecutive failures reach
 *   `disableAfter` (the count survives restarts in the SubscriberStore and is reset by a success),
 *   it is disabled with the last failure as the reason. A cursor that fell out of the event
 *   retention (EventSource throws `STALE_CURSOR`) disables it at once: the consumer must do a full
 *   read.
 * - Failure reasons name the status or network error only: never the receiver's body, never the
 *   secret.
 *
 * Pure logic over three ports (EventSource, SubscriberStore, WebhookTransport); the default
 * transport POSTs with undici and follows no redirects.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleepMs } from 'node:timers/promises';
import { request } from 'undici';
import type { ChangeEvent } from './change-events.ts';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signing.ts';
import { errorMessage } from '../error-info.ts';

/** One change event as the events API and webhooks publish it (issue 6): see change-events.ts. */
export type { ChangeEvent } from './change-events.ts';

/** What the delivery loop needs of an event: its cursor and entity. The rest is sent as is. */
export interface DeliverableEvent {
  cursor: string;
  entity: string;
}

/** Thrown by an EventSource when a cursor is older than the retained events. */
export interface StaleCursorError extends Error {
  code: 'STALE_CURSOR';
}

/** The change log, read forward. */
export interface EventSource<E extends DeliverableEvent = ChangeEvent> {
  /**
   * Up to `limit` events strictly after `cursor` (from the oldest retained event when undefined),
   * oldest first. `entities` is a filter hint; the loop filters again.
   * @throws an error with `code: 'STALE_CURSOR'` when `cursor` is beyond retention.
   */
  after(cursor: string | undefined, limit: number, filter?: { entities?: readonly string[] }): Promise<readonly E[]>;
}

export interface Subscriber {
  id: string;
  url: string;
  /** The signing secret, decrypted (never logged). Several while rotating. */
  secret: string | readonly string[];
  /** Only events of these collections (`webhook add URL --entities users,enrollments`). All when absent. */
  entities?: readonly string[];
}

/** Per-subscriber delivery state, persisted by the store. */
export interface SubscriberStore {
  /** The cursor of the last event acknowledged (undefined: nothing yet). */
  cursor(subscriberId: string): Promise<string | undefined>;
  /** Records an acknowledged batch: moves the cursor and resets the consecutive-failure count. */
  advance(subscriberId: string, cursor: string): Promise<void>;
  /** Records a failed attempt; returns the consecutive failures including this one. */
  recordFailure(subscriberId: string, reason: string): Promise<number>;
  /** Disables the subscriber with a reason an admin can read. */
  disable(subscriberId: string, reason: string): Promise<void>;
}

export interface TransportResponse {
  status: number;
  /** Parsed `Retry-After`, in seconds, when the receiver sent one. */
  retryAfterSec?: number;
}

/** Sends one POST. Throws on network errors and timeouts. */
export interface WebhookTransport {
  post(url: string, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<TransportResponse>;
}

export interface DeliveryOptions {
  /** Events per POST. Default 100. */
  batchSize?: number;
  /** Attempts per batch within one `deliver()` call before giving up until the next run. Default 5. */
  maxAttempts?: number;
  /** First backoff cap. Default 1000 ms. */
  baseDelayMs?: number;
  /** Largest wait between attempts. Default 60 000 ms. */
  maxDelayMs?: number;
  /** Consecutive failed attempts that disable a subscriber. Default 15. */
  disableAfter?: number;
  /** Per-request timeout. Default 10 000 ms. */
  timeoutMs?: number;
  /** Batches per `deliver()` call (bounds one call's work). Default unlimited. */
  maxBatches?: number;
}

export interface DeliveryPorts<E extends DeliverableEvent> {
  events: EventSource<E>;
  subscribers: SubscriberStore;
  transport?: WebhookTransport;
  /** Waits (tests pass a fake). Must reject when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Uniform in [0, 1) (tests pass a fixed one). */
  random?: () => number;
  /** Unix seconds for signatures (tests pass a fixed one). */
  nowSec?: () => number;
}

export type DeliveryOutcome = 'caught-up' | 'gave-up' | 'disabled' | 'batch-limit';

export interface DeliveryReport {
  subscriberId: string;
  outcome: DeliveryOutcome;
  /** Events acknowledged by the receiver in this call. */
  delivered: number;
  /** Batches acknowledged. */
  batches: number;
  /** POST attempts made (successful and failed). */
  attempts: number;
  /** Failed attempts. */
  failures: number;
  /** Cursor after this call. */
  cursor?: string;
  /** The last failure, when there was one (status or network error; no body). */
  lastError?: string;
  /** Why the subscriber was disabled (outcome `disabled`). */
  disabledReason?: string;
}

export const USER_AGENT = 'Rostersync-Webhooks/0.1';

/** Parses `Retry-After` (delta-seconds or HTTP-date, RFC 9110 §10.2.3) into seconds from now. */
export function parseRetryAfter(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - nowMs) / 1000));
}

/** The default transport: undici POST, no redirects followed, body drained, per-request timeout. */
export function undiciTransport(timeoutMs: number = 10_000): WebhookTransport {
  return {
    async post(url, body, headers, signal) {
      const res = await request(url, {
        method: 'POST',
        body,
        headers,
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      // Drain (never read into a reason) so the connection can be reused.
      await res.body.dump();
      const ra = res.headers['retry-after'];
      const retryAfterSec = parseRetryAfter(Array.isArray(ra) ? ra[0] : ra);
      return retryAfterSec === undefined ? { status: res.statusCode } : { status: res.statusCode, retryAfterSec };
    },
  };
}

/** A reason for a failed attempt: the status or the network error code, nothing from the body. */
function failureReason(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; code?: string; cause?: { code?: string } };
  if (e?.name === 'TimeoutError' || e?.code === 'UND_ERR_HEADERS_TIMEOUT' || e?.code === 'UND_ERR_BODY_TIMEOUT') return `timeout after ${timeoutMs} ms`;
  const code = e?.code ?? e?.cause?.code;
  return code ? `network error ${code}` : 'network error';
}

function isStaleCursor(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'STALE_CURSOR';
}

export class WebhookDeliverer<E extends DeliverableEvent = ChangeEvent> {
  private readonly batchSize: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly disableAfter: number;
  private readonly timeoutMs: number;
  private readonly maxBatches: number;
  private readonly transport: WebhookTransport;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;
  private readonly nowSec: () => number;

  constructor(
    private readonly ports: DeliveryPorts<E>,
    options: DeliveryOptions = {},
  ) {
    this.batchSize = Math.max(1, options.batchSize ?? 100);
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.baseDelayMs = Math.max(0, options.baseDelayMs ?? 1000);
    this.maxDelayMs = Math.max(this.baseDelayMs, options.maxDelayMs ?? 60_000);
    this.disableAfter = Math.max(1, options.disableAfter ?? 15);
    this.timeoutMs = Math.max(1, options.timeoutMs ?? 10_000);
    this.maxBatches = options.maxBatches ?? Number.POSITIVE_INFINITY;
    this.transport = ports.transport ?? undiciTransport(this.timeoutMs);
    // The caller's abort reason, not timers' generic AbortError, so shutdowns read clearly.
    this.sleep = ports.sleep ?? ((ms, signal) => sleepMs(ms, undefined, signal ? { signal } : {}).catch((err: unknown) => {
      throw signal?.aborted ? signal.reason : err;
    }));
    this.random = ports.random ?? Math.random;
    this.nowSec = ports.nowSec ?? (() => Math.floor(Date.now() / 1000));
  }

  /** The wait before attempt `attempt + 1` (attempt counts from 1): equal jitter, Retry-After respected. */
  backoffMs(attempt: number, retryAfterSec?: number): number {
    const cap = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    let delay = cap / 2 + this.random() * (cap / 2);
    if (retryAfterSec !== undefined) delay = Math.max(delay, retryAfterSec * 1000);
    return Math.round(Math.min(this.maxDelayMs, delay));
  }

  /**
   * Delivers the subscriber's pending events until caught up, until a batch exhausts its attempts
   * (`gave-up`: the next run tries again from the same cursor), or until it is disabled.
   * @throws when `signal` aborts or a port fails (the cursor stays where it was acknowledged).
   */
  async deliver(subscriber: Subscriber, signal?: AbortSignal): Promise<DeliveryReport> {
    const { events, subscribers } = this.ports;
    const report: DeliveryReport = { subscriberId: subscriber.id, outcome: 'caught-up', delivered: 0, batches: 0, attempts: 0, failures: 0 };
    const wanted = subscriber.entities && subscriber.entities.length > 0 ? new Set(subscriber.entities) : undefined;
    const filter = subscriber.entities && subscriber.entities.length > 0 ? { entities: subscriber.entities } : undefined;
    let cursor = await subscribers.cursor(subscriber.id);
    if (cursor !== undefined) report.cursor = cursor;
    const disable = async (reason: string): Promise<DeliveryReport> => {
      await subscribers.disable(subscriber.id, reason);
      report.outcome = 'disabled';
      report.disabledReason = reason;
      return report;
    };

    for (let batchNo = 0; ; batchNo++) {
      signal?.throwIfAborted();
      if (batchNo >= this.maxBatches) {
        report.outcome = 'batch-limit';
        return report;
      }
      let page: readonly E[];
      try {
        page = await events.after(cursor, this.batchSize, filter);
      } catch (err) {
        if (isStaleCursor(err)) return disable('cursor is older than the retained events; re-read the full roster, then re-enable the webhook');
        throw err;
      }
      if (page.length === 0) return report;
      const last = page[page.length - 1]!.cursor;
      const batch = wanted ? page.filter((e) => wanted.has(e.entity)) : page;
      if (batch.length === 0) {
        // Nothing this subscriber wants: move past the events without a POST.
        await subscribers.advance(subscriber.id, last);
        cursor = report.cursor = last;
        continue;
      }
      const body = JSON.stringify({ subscriptionId: subscriber.id, cursor: last, events: batch });
      const deliveryId = randomUUID();
      let acknowledged = false;
      for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
        signal?.throwIfAborted();
        const headers: Record<string, string> = {
          'content-type': 'application/json',
          'user-agent': USER_AGENT,
          [SIGNATURE_HEADER.toLowerCase()]: signWebhook(subscriber.secret, body, this.nowSec()),
          'rostersync-delivery': deliveryId,
          'rostersync-attempt': String(attempt),
        };
        report.attempts++;
        let reason: string;
        let retryAfterSec: number | undefined;
        try {
          const res = await this.transport.post(subscriber.url, body, headers, signal ?? new AbortController().signal);
          if (res.status >= 200 && res.status < 300) {
            acknowledged = true;
            break;
          }
          reason = res.status >= 300 && res.status < 400 ? `HTTP ${res.status} (redirects are not followed)` : `HTTP ${res.status}`;
          retryAfterSec = res.retryAfterSec;
        } catch (err) {
          if (signal?.aborted) throw signal.reason;
          reason = failureReason(err, this.timeoutMs);
        }
        report.failures++;
        report.lastError = reason;
        const consecutive = await subscribers.recordFailure(subscriber.id, reason);
        if (consecutive >= this.disableAfter) return disable(`${consecutive} consecutive failed deliveries; last: ${reason}`);
        if (attempt < this.maxAttempts) await this.sleep(this.backoffMs(attempt, retryAfterSec), signal);
      }
      if (!acknowledged) {
        report.outcome = 'gave-up';
        return report;
      }
      await subscribers.advance(subscriber.id, last);
      cursor = report.cursor = last;
      report.delivered += batch.length;
      report.batches++;
    }
  }

  /**
   * Delivers to every subscriber, `concurrency` at a time (one slow receiver does not hold up the
   * others). A subscriber whose delivery throws gets a `gave-up` report with the error's message.
   */
  async deliverAll(subscribers: readonly Subscriber[], options: { concurrency?: number; signal?: AbortSignal } = {}): Promise<DeliveryReport[]> {
    const reports = new Array<DeliveryReport>(subscribers.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < subscribers.length; i = next++) {
        const s = subscribers[i]!;
        try {
          reports[i] = await this.deliver(s, options.signal);
        } catch (err) {
          if (options.signal?.aborted) throw err;
          reports[i] = { subscriberId: s.id, outcome: 'gave-up', delivered: 0, batches: 0, attempts: 0, failures: 0, lastError: errorMessage(err) };
        }
      }
    };
    const n = Math.max(1, Math.min(options.concurrency ?? 4, subscribers.length));
    await Promise.all(Array.from({ length: n }, worker));
    return reports;
  }
}
