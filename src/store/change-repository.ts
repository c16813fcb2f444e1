/**
 * Reads of the change history (issue 4 "Change history", issue 6 "Change events"): the `changes`
 * table of migration 0003, written by the sync engine in the apply transaction.
 *
 * - Only applied rows are history (`applied = 1`); `applied = 0` rows are the plan of a held run and
 *   never appear here.
 * - Paging is keyset on `seq` (never OFFSET): a page asks for `seq > afterSeq`, so a reader resumes
 *   exactly where it stopped however much history accumulated, and each page is a range scan of the
 *   primary key.
 * - Retention: `purge` deletes applied history older than a cutoff and records, per connection, the
 *   highest seq and run it removed (`change_purges`, migration 0005). That watermark is how the
 *   events API knows a consumer's cursor fell out of the retained history (a gap in `seq` alone
 *   proves nothing: a discarded hold's plan rows leave gaps too), and how `export oneroster-csv
 *   --since RUN` knows the history after RUN is still complete.
 */
import type { Kysely, Selectable } from 'kysely';
import type { ChangeKind, FieldChange } from '../outputs/change-events.ts';
import type { ChangeTable, Database } from './schema.ts';

/** One applied change as stored. */
export interface ChangeRecord {
  seq: number;
  tenantId: string;
  connectionId: string;
  runId: number;
  entity: string;
  sourcedId: string;
  kind: ChangeKind;
  /** `{field: {before, after}}`; null for `created`. */
  fields: Record<string, FieldChange> | null;
  /** When the change was applied (ISO-8601 UTC). */
  at: string;
}

export interface ChangeQuery {
  tenantId?: string;
  connectionId?: string;
  /** Any of these connections (an empty list matches nothing). */
  connectionIds?: readonly string[];
  runId?: number;
  entity?: string;
  /** Any of these entities (an empty list matches nothing). */
  entities?: readonly string[];
  sourcedId?: string;
  /** Applied at or after this time (ISO-8601 UTC, compared as stored text). */
  since?: string;
  /** Only `seq > afterSeq` (keyset paging forward). */
  afterSeq?: number;
  /** Only `seq < beforeSeq` (keyset paging backward, with `order: 'desc'`). */
  beforeSeq?: number;
  /** Only `seq <= throughSeq` (bounds one page's scan). */
  throughSeq?: number;
  /** Default `asc` (oldest first). */
  order?: 'asc' | 'desc';
  /** Rows to return, 1..10,000. */
  limit: number;
}

/** What a retention purge removed. */
export interface PurgeResult {
  deleted: number;
  /** Highest seq removed by this purge (undefined when nothing was removed). */
  throughSeq?: number;
  /** Highest run whose history this purge removed. */
  throughRun?: number;
}

/** The retention watermark: history up to and including these was purged. */
export interface PurgeWatermark {
  throughSeq: number;
  throughRun: number;
}

export const MAX_CHANGE_PAGE = 10_000;

function toRecord(r: Selectable<ChangeTable>): ChangeRecord {
  return {
    seq: Number(r.seq),
    tenantId: r.tenant_id,
    connectionId: r.connection_id,
    runId: Number(r.run_id),
    entity: r.entity,
    sourcedId: r.sourced_id,
    kind: r.kind as ChangeKind,
    fields: r.fields === null ? null : (JSON.parse(r.fields) as Record<string, FieldChange>),
    at: r.at,
  };
}

/** Reads (and purges) the change history. */
export class ChangeRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Applied changes matching `q`, ordered by seq (ascending unless `order: 'desc'`). */
  async list(q: ChangeQuery): Promise<ChangeRecord[]> {
    if ((q.connectionIds && q.connectionIds.length === 0) || (q.entities && q.entities.length === 0)) return [];
    let s = this.#db.selectFrom('changes').selectAll().where('applied', '=', 1);
    if (q.tenantId !== undefined) s = s.where('tenant_id', '=', q.tenantId);
    if (q.connectionId !== undefined) s = s.where('connection_id', '=', q.connectionId);
    if (q.connectionIds !== undefined) s = s.where('connection_id', 'in', [...q.connectionIds]);
    if (q.runId !== undefined) s = s.where('run_id', '=', q.runId);
    if (q.entity !== undefined) s = s.where('entity', '=', q.entity);
    if (q.entities !== undefined) s = s.where('entity', 'in', [...q.entities]);
    if (q.sourcedId !== undefined) s = s.where('sourced_id', '=', q.sourcedId);
    if (q.since !== undefined) s = s.where('at', '>=', q.since);
    if (q.afterSeq !== undefined) s = s.where('seq', '>', q.afterSeq);
    if (q.beforeSeq !== undefined) s = s.where('seq', '<', q.beforeSeq);
    if (q.throughSeq !== undefined) s = s.where('seq', '<=', q.throughSeq);
    const limit = Math.max(1, Math.min(Math.floor(q.limit), MAX_CHANGE_PAGE));
    const rows = await s.orderBy('seq', q.order ?? 'asc').limit(limit).execute();
    return rows.map(toRecord);
  }

  /** Every applied change of one record, oldest first. */
  async history(connectionId: string, entity: string, sourcedId: string): Promise<ChangeRecord[]> {
    const rows = await this.#db
      .selectFrom('changes')
      .selectAll()
      .where('connection_id', '=', connectionId)
      .where('entity', '=', entity)
      .where('sourced_id', '=', sourcedId)
      .where('applied', '=', 1)
      .orderBy('seq')
      .execute();
    return rows.map(toRecord);
  }

  /** The smallest retained seq of applied history (of one connection, or of all), or undefined when there is none. */
  async oldestSeq(connectionId?: string): Promise<number | undefined> {
    let s = this.#db.selectFrom('changes').select((eb) => eb.fn.min('seq').as('m')).where('applied', '=', 1);
    if (connectionId !== undefined) s = s.where('connection_id', '=', connectionId);
    const r = await s.executeTakeFirst();
    return r?.m === null || r?.m === undefined ? undefined : Number(r.m);
  }

  /**
   * The highest seq handed out so far, over every row (plans included) and every purge, 0 when the
   * history is empty. A cursor at the head sees only changes applied from now on.
   */
  async headSeq(): Promise<number> {
    const a = await this.#db.selectFrom('changes').select((eb) => eb.fn.max('seq').as('m')).executeTakeFirst();
    const b = await this.#db.selectFrom('change_purges').select((eb) => eb.fn.max('purged_through_seq').as('m')).executeTakeFirst();
    return Math.max(Number(a?.m ?? 0), Number(b?.m ?? 0));
  }

  /**
   * The retention watermark over some connections (the highest of theirs), or undefined when none
   * of them was ever purged. `tenantId` alone covers every connection of the tenant.
   */
  async purgedThrough(scope: { connectionIds?: readonly string[]; tenantId?: string }): Promise<PurgeWatermark | undefined> {
    if (scope.connectionIds && scope.connectionIds.length === 0) return undefined;
    let s = this.#db
      .selectFrom('change_purges')
      .innerJoin('connections', 'connections.id', 'change_purges.connection_id')
      .select((eb) => [eb.fn.max('change_purges.purged_through_seq').as('seq'), eb.fn.max('change_purges.purged_through_run').as('run')]);
    if (scope.connectionIds !== undefined) s = s.where('change_purges.connection_id', 'in', [...scope.connectionIds]);
    if (scope.tenantId !== undefined) s = s.where('connections.tenant_id', '=', scope.tenantId);
    const r = await s.executeTakeFirst();
    if (r?.seq === null || r?.seq === undefined) return undefined;
    return { throughSeq: Number(r.seq), throughRun: Number(r.run ?? 0) };
  }

  /**
   * True when the history of every run after `sinceRun` is still complete for the connection (no
   * retention purge removed any of it). Purges remove history by age, and runs of one connection
   * apply in id order, so the purge removed only runs up to its watermark run.
   */
  async coversRunsAfter(connectionId: string, sinceRun: number): Promise<boolean> {
    const w = await this.purgedThrough({ connectionIds: [connectionId] });
    return w === undefined || w.throughRun <= sinceRun;
  }

  /**
   * Retention: deletes the connection's history older than `before` (ISO-8601 UTC) and raises its
   * watermark. The watermark is written first, in its own statement, and the rows then go in
   * batches of `batchSize` through the primary key (a first sync of a large district records
   * ~1.5M creates; one delete of them would hold the writer for seconds). A crash mid-way leaves
   * the watermark claiming rows that still exist: consumers below it are told to do a full read,
   * which is safe; the reverse (rows gone, watermark not raised) cannot happen.
   *
   * The plan of a run still on hold (`applied = 0`, hold `pending`) is kept whatever its age; plan
   * rows of resolved holds go with the rest. Only applied rows count for the watermark.
   */
  async purge(input: { connectionId: string; before: string; batchSize?: number }, now: Date = new Date()): Promise<PurgeResult> {
    const { connectionId, before } = input;
    const batchSize = Math.max(1, input.batchSize ?? 10_000);
    const span = await this.#db
      .selectFrom('changes')
      .select((eb) => [eb.fn.max('seq').as('seq'), eb.fn.max('run_id').as('run')])
      .where('connection_id', '=', connectionId)
      .where('applied', '=', 1)
      .where('at', '<', before)
      .executeTakeFirst();
    const result: PurgeResult = { deleted: 0 };
    if (span?.seq !== null && span?.seq !== undefined) {
      result.throughSeq = Number(span.seq);
      result.throughRun = Number(span.run ?? 0);
      await this.#db.transaction().execute(async (tx) => {
        const old = await tx.selectFrom('change_purges').selectAll().where('connection_id', '=', connectionId).executeTakeFirst();
        const row = {
          connection_id: connectionId,
          purged_through_seq: Math.max(result.throughSeq!, Number(old?.purged_through_seq ?? 0)),
          purged_through_run: Math.max(result.throughRun!, Number(old?.purged_through_run ?? 0)),
          purged_at: now.toISOString(),
        };
        if (old) await tx.updateTable('change_purges').set(row).where('connection_id', '=', connectionId).execute();
        else await tx.insertInto('change_purges').values(row).execute();
      });
    }
    for (;;) {
      const batch = this.#db
        .selectFrom('changes')
        .select('seq')
        .where('connection_id', '=', connectionId)
        .where('at', '<', before)
        .where((eb) =>
          eb.or([
            eb('applied', '=', 1),
            eb('run_id', 'not in', eb.selectFrom('runs').select('id').where('connection_id', '=', connectionId).where('hold_state', '=', 'pending')),
          ]),
        )
        .limit(batchSize);
      const res = await this.#db.deleteFrom('changes').where('seq', 'in', batch).executeTakeFirst();
      const n = Number(res.numDeletedRows);
      result.deleted += n;
      if (n < batchSize) break;
      // Let other work (HTTP requests, timers) run between batches.
      await new Promise((r) => setImmediate(r));
    }
    return result;
  }
}
