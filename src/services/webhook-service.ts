/**
 * Webhook delivery over the store (issue 6): the composition of webhook-delivery.ts (the pure
 * delivery loop) with the store-backed ports: events from the change history (`StoreEventSource`),
 * per-subscriber cursor, failures and disabling in `webhook_subscribers` (`WebhookRepository`).
 *
 * `deliverPendingWebhooks(store, { connectionId })` is what runs after each applied run (and what
 * `rostersync webhook deliver` runs): every enabled subscriber that receives that connection's
 * events gets what is pending for it, in batches, at-least-once. A subscriber's scope is its tenant
 * and, when it was added with `--connection`, that connection only.
 *
 * Logs carry subscriber ids, counts and failure reasons (a status or network error code), never
 * URLs' query strings, secrets or event contents.
 */
import { encodeCursor } from '../outputs/change-events.ts';
import type { DeliveryOptions, DeliveryReport, SubscriberStore, WebhookTransport } from '../outputs/webhook-delivery.ts';
import { WebhookDeliverer, parseRetryAfter } from '../outputs/webhook-delivery.ts';
import type { Store } from '../store/store.ts';
import type { WebhookSubscriber } from '../store/webhook-repository.ts';
import { StoreEventSource, parseCursor } from './change-feed.ts';

export interface WebhookLogger {
  info(msg: string, meta?: Record<string, unknown>): void;
  warn(msg: string, meta?: Record<string, unknown>): void;
}

export interface DeliverWebhooksOptions extends DeliveryOptions {
  /** Subscribers receiving this connection's events (its own and its tenant's all-connection ones). */
  connectionId?: string;
  /** Subscribers of this tenant. */
  tenantId?: string;
  /** Only this subscriber (enabled or not is still checked). */
  subscriberId?: string;
  /** Sends the POSTs (default: undici, see webhook-delivery.ts). */
  transport?: WebhookTransport;
  /** Alternatively, a fetch implementation to send them with (redirects are not followed). */
  fetch?: typeof fetch;
  /** Subscribers delivered to at once. Default 4. */
  concurrency?: number;
  signal?: AbortSignal;
  logger?: WebhookLogger;
  /** Test hooks, passed to the deliverer. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  nowSec?: () => number;
}

/** A WebhookTransport over a fetch implementation (`redirect: 'manual'`: a 3xx is a failure, as with undici). */
export function fetchTransport(fetchImpl: typeof fetch, timeoutMs = 10_000): WebhookTransport {
  return {
    async post(url, body, headers, signal) {
      const res = await fetchImpl(url, { method: 'POST', body, headers, redirect: 'manual', signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) });
      await res.body?.cancel().catch(() => {});
      const retryAfterSec = parseRetryAfter(res.headers.get('retry-after') ?? undefined);
      return retryAfterSec === undefined ? { status: res.status } : { status: res.status, retryAfterSec };
    },
  };
}

/** The SubscriberStore port over `store.webhooks` (cursors are event cursors over seqs). */
export function storeSubscriberStore(store: Store): SubscriberStore {
  return {
    async cursor(id) {
      const seq = await store.webhooks.cursor(id);
      return seq === undefined ? undefined : encodeCursor(seq);
    },
    advance: (id, cursor) => store.webhooks.advance(id, parseCursor(cursor)),
    recordFailure: (id, reason) => store.webhooks.recordFailure(id, reason),
    disable: (id, reason) => store.webhooks.disable(id, reason),
  };
}

/**
 * Delivers pending change events to the enabled subscribers in scope (all of them without a
 * filter). A subscriber whose delivery fails operationally (store error, unreadable secret) gets a
 * `gave-up` report with the reason; the others carry on.
 * @throws only when `signal` aborts.
 */
export async function deliverPendingWebhooks(store: Store, options: DeliverWebhooksOptions = {}): Promise<DeliveryReport[]> {
  let subscribers: WebhookSubscriber[];
  if (options.subscriberId !== undefined) {
    const s = await store.webhooks.get(options.subscriberId);
    subscribers = s && s.disabledAt === undefined ? [s] : [];
  } else {
    subscribers = await store.webhooks.list({
      enabledOnly: true,
      ...(options.connectionId !== undefined ? { connectionId: options.connectionId } : {}),
      ...(options.tenantId !== undefined ? { tenantId: options.tenantId } : {}),
    });
  }
  const transport = options.transport ?? (options.fetch ? fetchTransport(options.fetch, options.timeoutMs) : undefined);
  const subscriberStore = storeSubscriberStore(store);
  const reports = new Array<DeliveryReport>(subscribers.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < subscribers.length; i = next++) {
      const s = subscribers[i]!;
      try {
        const events = new StoreEventSource(store, { tenantId: s.tenantId, ...(s.connectionId !== undefined ? { connectionIds: [s.connectionId] } : {}) });
        const deliverer = new WebhookDeliverer(
          {
            events,
            subscribers: subscriberStore,
            ...(transport ? { transport } : {}),
            ...(options.sleep ? { sleep: options.sleep } : {}),
            ...(options.random ? { random: options.random } : {}),
            ...(options.nowSec ? { nowSec: options.nowSec } : {}),
          },
          options,
        );
        const secret = await store.webhooks.secret(s.id);
        const report = await deliverer.deliver({ id: s.id, url: s.url, secret, ...(s.entities ? { entities: s.entities } : {}) }, options.signal);
        // Caught up: skip the history scanned past that held nothing for this subscriber, so a
        // narrow one (one collection, one connection) does not go stale while the rest changes.
        if (report.outcome === 'caught-up' && events.caughtUpAt !== undefined) {
          const seq = parseCursor(events.caughtUpAt);
          if (report.cursor === undefined || parseCursor(report.cursor) < seq) {
            await store.webhooks.skipTo(s.id, seq);
            report.cursor = events.caughtUpAt;
          }
        }
        reports[i] = report;
      } catch (err) {
        if (options.signal?.aborted) throw err;
        const code = (err as { code?: unknown }).code;
        reports[i] = {
          subscriberId: s.id, outcome: 'gave-up', delivered: 0, batches: 0, attempts: 0, failures: 0,
          lastError: typeof code === 'string' ? `${code}: ${err instanceof Error ? err.message : String(err)}` : err instanceof Error ? err.message : String(err),
        };
      }
      const r = reports[i]!;
      const meta = { subscriberId: r.subscriberId, outcome: r.outcome, delivered: r.delivered, attempts: r.attempts, failures: r.failures };
      if (r.outcome === 'caught-up' || r.outcome === 'batch-limit') options.logger?.info('webhook delivery', meta);
      else options.logger?.warn('webhook delivery', { ...meta, reason: r.disabledReason ?? r.lastError });
    }
  };
  const n = Math.max(1, Math.min(options.concurrency ?? 4, subscribers.length));
  await Promise.all(Array.from({ length: n }, worker));
  return reports;
}

/**
 * Re-enables a subscriber (`rostersync webhook enable`). When its cursor fell out of the retained
 * history (the usual reason it was disabled), the cursor moves to the oldest retained position: the
 * consumer re-read the full roster before re-enabling, and replaying the retained events after that
 * read is harmless for an idempotent receiver, whereas skipping to the head could lose changes made
 * between the read and now.
 * @throws StoreError `not_found`.
 */
export async function enableWebhook(store: Store, id: string): Promise<{ subscriber: WebhookSubscriber; movedCursorTo?: number }> {
  const s = await store.webhooks.get(id);
  if (!s) return { subscriber: await store.webhooks.enable(id) }; // throws not_found
  const w = await store.changes.purgedThrough(s.connectionId !== undefined ? { connectionIds: [s.connectionId] } : { tenantId: s.tenantId });
  if (w !== undefined && (s.cursorSeq ?? 0) < w.throughSeq) {
    return { subscriber: await store.webhooks.enable(id, { cursorSeq: w.throughSeq }), movedCursorTo: w.throughSeq };
  }
  return { subscriber: await store.webhooks.enable(id) };
}
