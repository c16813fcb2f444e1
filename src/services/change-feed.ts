/**
 * The change feed: the applied change history read forward by cursor, as the events API
 * (`http/events-api.ts`) and webhook delivery (`webhook-service.ts`) both publish it (issue 6).
 *
 * - Order and resumption: events come in `seq` order; `next` is the cursor to pass as `after` for
 *   the following page. Paging is keyset on seq.
 * - Bounded pages: one read scans at most SCAN_WINDOW seqs past the cursor. When a filter (entities,
 *   a connection) leaves that window without a match, the page is empty, `next` moves to the end of
 *   the window and `hasMore` is true, so a consumer never re-scans rows it cannot see and one request
 *   never walks a million rows.
 * - Staleness: when retention purged history past a consumer's cursor (the `change_purges`
 *   watermark of any connection in scope is above it), the read throws `StaleCursorError`: the
 *   consumer must do a full read, then resume from `restartCursor` (the head when it was told).
 *   A request without a cursor starts at the oldest retained event and is never stale.
 * - Ordering: a seq is taken at insert time and becomes visible at commit. On PostgreSQL several
 *   workers apply at once, so applies that write history hold one advisory transaction lock
 *   (`applyStaged`, store/apply.ts): the next apply takes its seqs only after the previous one committed, and
 *   a reader that has passed seq N never sees a lower applied seq appear later. On SQLite there is
 *   one writer. (Plan rows of held runs take seqs without the lock; they are not in the feed.)
 */
import type { ChangeEvent } from '../outputs/change-events.ts';
import { decodeCursor, encodeCursor } from '../outputs/change-events.ts';
import type { EventSource } from '../outputs/webhook-delivery.ts';
import type { ChangeRecord } from '../store/change-repository.ts';
import type { Store } from '../store/store.ts';

/** Seqs one read scans at most past its cursor. */
export const SCAN_WINDOW = 100_000;

/** The cursor is older than the retained history. `code` is what webhook-delivery.ts expects. */
export class StaleCursorError extends Error {
  readonly code = 'STALE_CURSOR' as const;
  constructor(
    message: string,
    /** History up to this seq was purged. */
    readonly purgedThroughSeq: number,
    /** Where to resume after a full read: the head when the error was raised. */
    readonly restartCursor: string,
  ) {
    super(message);
    this.name = 'StaleCursorError';
  }
}

/** The cursor is not one of ours. */
export class InvalidCursorError extends Error {
  readonly code = 'INVALID_CURSOR' as const;
  constructor(message: string) {
    super(message);
    this.name = 'InvalidCursorError';
  }
}

/** Whose history a read sees. */
export interface ChangeFeedScope {
  tenantId: string;
  /** Only these connections (absent: every connection of the tenant). */
  connectionIds?: readonly string[];
  /** Only these collections (absent: all). */
  entities?: readonly string[];
}

export interface ChangeFeedPage {
  events: ChangeEvent[];
  /** Pass as `after` for the next page (equals the request's cursor when nothing was scanned). */
  next: string;
  /** True when more history lies past `next` (possibly filtered out). */
  hasMore: boolean;
}

/** A history row as a published event. */
export function toChangeEvent(r: ChangeRecord): ChangeEvent {
  return {
    cursor: encodeCursor(r.seq),
    seq: r.seq,
    at: r.at,
    runId: r.runId,
    connectionId: r.connectionId,
    entity: r.entity,
    sourcedId: r.sourcedId,
    kind: r.kind,
    fields: r.fields,
  };
}

/** Parses a cursor. @throws InvalidCursorError. */
export function parseCursor(after: string): number {
  const seq = decodeCursor(after);
  if (seq === undefined) throw new InvalidCursorError('after is not a cursor issued by this server; start without it or use a `next` value');
  return seq;
}

/**
 * @throws StaleCursorError when history past `afterSeq` was purged for a connection in scope.
 */
async function checkRetained(store: Store, scope: ChangeFeedScope, afterSeq: number): Promise<void> {
  const w = await store.changes.purgedThrough(scope.connectionIds ? { connectionIds: scope.connectionIds } : { tenantId: scope.tenantId });
  if (w !== undefined && afterSeq < w.throughSeq) {
    const head = await store.changes.headSeq();
    throw new StaleCursorError(
      `the cursor is older than the retained change history (events up to ${encodeCursor(w.throughSeq)} were purged by retention)`,
      w.throughSeq,
      encodeCursor(head),
    );
  }
}

/**
 * One page of the feed after `after` (absent: from the oldest retained event).
 * @throws InvalidCursorError | StaleCursorError.
 */
export async function readChangeFeed(store: Store, scope: ChangeFeedScope, request: { after?: string; limit: number; scanWindow?: number }): Promise<ChangeFeedPage> {
  const limit = Math.max(1, Math.min(Math.floor(request.limit), 1000));
  const afterSeq = request.after === undefined ? 0 : parseCursor(request.after);
  if (request.after !== undefined) await checkRetained(store, scope, afterSeq);
  const head = await store.changes.headSeq();
  const windowEnd = Math.min(head, afterSeq + Math.max(1, request.scanWindow ?? SCAN_WINDOW));
  if (windowEnd <= afterSeq) return { events: [], next: encodeCursor(afterSeq), hasMore: false };
  const rows = await store.changes.list({
    tenantId: scope.tenantId,
    ...(scope.connectionIds !== undefined ? { connectionIds: scope.connectionIds } : {}),
    ...(scope.entities !== undefined ? { entities: scope.entities } : {}),
    afterSeq,
    throughSeq: windowEnd,
    limit: limit + 1,
  });
  if (rows.length > limit) {
    const events = rows.slice(0, limit).map(toChangeEvent);
    return { events, next: events[events.length - 1]!.cursor, hasMore: true };
  }
  return { events: rows.map(toChangeEvent), next: encodeCursor(windowEnd), hasMore: windowEnd < head };
}

/** The cursor of the newest history position: take it before a full read, then follow the feed from it. */
export async function headCursor(store: Store): Promise<string> {
  return encodeCursor(await store.changes.headSeq());
}

/**
 * The EventSource port of webhook-delivery.ts over the feed, for one subscriber's scope. It skips
 * over windows with nothing in scope, so "no events" means caught up, as the delivery loop expects.
 */
export class StoreEventSource implements EventSource<ChangeEvent> {
  /**
   * The cursor the last "no events" answer scanned up to: nothing in scope lies between the
   * caller's cursor and it, so a subscriber may skip there (see `deliverPendingWebhooks`).
   */
  caughtUpAt: string | undefined;

  constructor(
    private readonly store: Store,
    private readonly scope: ChangeFeedScope,
    private readonly scanWindow: number = SCAN_WINDOW,
  ) {}

  async after(cursor: string | undefined, limit: number, filter?: { entities?: readonly string[] }): Promise<readonly ChangeEvent[]> {
    const scope: ChangeFeedScope = { ...this.scope };
    if (filter?.entities && filter.entities.length > 0) {
      scope.entities = this.scope.entities ? this.scope.entities.filter((e) => filter.entities!.includes(e)) : filter.entities;
    }
    this.caughtUpAt = undefined;
    let after = cursor;
    for (;;) {
      const page = await readChangeFeed(this.store, scope, { ...(after !== undefined ? { after } : {}), limit, scanWindow: this.scanWindow });
      if (page.events.length === 0 && !page.hasMore) this.caughtUpAt = page.next;
      if (page.events.length > 0 || !page.hasMore) return page.events;
      after = page.next;
    }
  }
}
