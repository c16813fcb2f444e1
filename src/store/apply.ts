/**
 * The apply: the one transaction that writes a run's staged rows into the live tables, records
 * them as change history and lets the caller write the run's final state (staging.ts's module
 * comment has the whole picture). Also the SQL that finds absent rows and writes change rows,
 * which holds and dry runs use without applying (`StagingArea.recordPlan`, `absentIds`).
 *
 * Set-based: per collection one INSERT … SELECT (… ON CONFLICT DO UPDATE) from the stage table,
 * one UPDATE per absence rule, one UPDATE … FROM for refreshed fingerprints, and change rows by
 * INSERT … SELECT. Plain SQL that SQLite ≥ 3.33 and PostgreSQL ≥ 9.5 accept alike; what differs
 * per dialect is passed in (`ApplyOptions`).
 */
import { sql, type ControlledTransaction, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { CollectionName } from '../oneroster/types.ts';
import { ENTITY_COLUMNS, SECONDARY_INDEXES } from './entity-columns.ts';
import type { StoreDialect } from './migrations.ts';
import { STAGE_WRITE_MIN, StageOp, liveTable, stageTable, type Database } from './schema.ts';

export interface ApplyContext {
  runId: number;
  tenantId: string;
  connectionId: string;
  now: Date;
}

/** What to apply for one collection. */
export interface ApplyCollection {
  absence: AbsenceRule;
  /** Staged rows with data (creates, updates, restores, deletes): sizes the index strategy. */
  writes: number;
  /**
   * The connection had no live row of this collection when the run read it (one run per connection:
   * it still has none), so every write is an insert: a plain INSERT, without ON CONFLICT's
   * speculative insertion (~17% faster on PostgreSQL). An unexpected conflict fails the apply.
   */
  fresh?: boolean;
  /** Staged unchanged rows carrying a new fingerprint (`EntityCounts.refreshed`); 0 or absent: nothing to refresh. */
  refreshes?: number;
  /**
   * A fresh collection whose staged writes early-inserts.ts already inserted, in the transaction
   * the apply runs in (`ApplyOptions.within`): the apply writes only its history.
   */
  early?: boolean;
}

/** Writes at least this large, and at least as large as the table, rebuild secondary indexes (SQLite). */
export const INDEX_REBUILD_MIN_WRITES = 50_000;

export interface AppliedCollection {
  /** Live rows tombstoned because the complete collection did not contain them. */
  deletedByAbsence: number;
}

/**
 * How absence is decided for an applied collection (staging.ts's module comment): `anti-join`, or
 * `ranges` with the last sourcedId the read covered (rows after it are absent; undefined: the read
 * saw no ids, so every live row is absent).
 */
export type AbsenceRule = { kind: 'anti-join' } | { kind: 'ranges'; after: string | undefined } | { kind: 'none' };

/** Advisory lock key serialising applies that write change history on PostgreSQL (see `applyStaged`). */
export const HISTORY_ORDER_LOCK_KEY = 7_265_301_843;
/** PostgreSQL: an apply transaction whose client goes silent this long is ended (see `applyStaged`). */
export const APPLY_IDLE_TIMEOUT = '60s';

/** Writes the run's final state inside the apply transaction, once every collection is applied. */
export type ApplyFinish = (trx: Transaction<Database>, applied: Partial<Record<CollectionName, AppliedCollection>>) => Promise<void>;

export interface ApplyOptions {
  dialect: StoreDialect;
  /** Record every change in `changes`. */
  history: boolean;
  /** Rebuild secondary indexes around writes at least this large (see `rebuildCandidates`); undefined: never. */
  rebuildMinWrites: number | undefined;
  /**
   * Run in this open transaction (early-inserts.ts: it holds the early-inserted rows) and commit
   * it, or roll it back on failure; otherwise in a new transaction.
   */
  within?: ControlledTransaction<Database>;
}

/**
 * Runs an apply (`applyStaged`) in a different setting, e.g. SQLite's rollback journal for a large
 * apply (sqlite-bulk-journal.ts). Given by the store for its dialect; `StagingArea.apply` uses it
 * for applies of at least `rebuildMinWrites` writes.
 */
export type BulkApply = <T>(apply: () => Promise<T>) => Promise<T>;

/**
 * Applies the staged rows of `collections` and calls `finish`, all in one transaction (see
 * `StagingArea.apply`). On PostgreSQL, applies that write history hold the history-order lock.
 */
export async function applyStaged(
  db: Kysely<Database>,
  options: ApplyOptions,
  ctx: ApplyContext,
  collections: ReadonlyMap<CollectionName, ApplyCollection>,
  finish: ApplyFinish,
): Promise<Partial<Record<CollectionName, AppliedCollection>>> {
  const postgres = options.dialect === 'postgres';
  const body = async (trx: Transaction<Database>): Promise<Partial<Record<CollectionName, AppliedCollection>>> => {
    // PostgreSQL: history seqs must become visible in seq order, or a feed reader (events API,
    // webhooks) that has passed seq N never sees a lower seq another worker's apply commits later.
    // A seq is taken at insert and seen at commit, so applies that write history take one
    // transaction lock before their first insert: the next apply takes its seqs only after this
    // one committed. (SQLite has one writer; its seqs become visible in order anyway.)
    if (options.history && postgres) {
      // A worker machine lost mid-apply (no FIN) would hold the lock for every other apply until
      // PostgreSQL ends its session: its transaction is ended after APPLY_IDLE_TIMEOUT of silence
      // (the keepalive probes every store session asks for, pg-keepalive.ts, take about as long).
      // The apply's statements follow each other without pauses.
      await sql`set local idle_in_transaction_session_timeout = ${sql.lit(APPLY_IDLE_TIMEOUT)}`.execute(trx);
      await sql`select pg_advisory_xact_lock(${HISTORY_ORDER_LOCK_KEY})`.execute(trx);
    }
    const applied: Partial<Record<CollectionName, AppliedCollection>> = {};
    for (const [c, { absence, writes, fresh, refreshes, early }] of collections) {
      // Large writes (a first sync): a sort-based index build after the insert beats ~1M
      // random-order inserts into B-trees that outgrow the page cache (measured on a `large`
      // district's 1.1M enrollments: apply 22–31 s with the indexes, 14–18 s dropped + rebuilt).
      // Not after early inserts: their rows are in the indexes already.
      const rebuild =
        options.rebuildMinWrites !== undefined && writes >= options.rebuildMinWrites && early !== true ? await rebuildCandidates(trx, c, writes, postgres) : [];
      for (const idx of rebuild) await trx.schema.dropIndex(idx.name).execute();
      // History first: absence rows are found by what is still active.
      if (options.history) for (const q of changeInserts(c, ctx, absence, 1)) await trx.executeQuery(q.compile(trx));
      // Absence before the upsert: the same rows (a staged id is never absent), but the scan does
      // not walk the rows the upsert is about to add (a first sync's whole table, ~4 s at large).
      let deletedByAbsence = 0;
      for (const where of absenceWhere(c, ctx, absence)) {
        const q = sql`update ${sql.table(liveTable(c))} set ${TOMBSTONE_SET(ctx)} where ${where}`;
        const res = await trx.executeQuery(q.compile(trx));
        deletedByAbsence += Number(res.numAffectedRows ?? 0n);
      }
      if (early !== true) await trx.executeQuery(upsertFromStage(c, ctx, fresh === true).compile(trx));
      // Only when the read staged any: the statement scans the run's staged rows.
      if ((refreshes ?? 0) > 0) await trx.executeQuery(refreshFingerprints(c, ctx).compile(trx));
      // The sort of a rebuilt index: PostgreSQL's default maintenance_work_mem (64 MB) spills ~1M entries to disk.
      if (rebuild.length > 0 && postgres) await sql`set local maintenance_work_mem = '256MB'`.execute(trx);
      for (const idx of rebuild) await trx.schema.createIndex(idx.name).on(liveTable(c)).columns(['connection_id', idx.column]).execute();
      applied[c] = { deletedByAbsence };
    }
    await finish(trx, applied);
    return applied;
  };
  const within = options.within;
  if (within === undefined) return db.transaction().execute(body);
  try {
    const applied = await body(within);
    await within.commit().execute();
    return applied;
  } catch (err) {
    await within.rollback().execute().catch(() => undefined); // the connection may be gone; the server rolls back then
    throw err;
  }
}

/**
 * Secondary indexes worth rebuilding: the write is at least as large as what the table holds
 * (`emptyOnly`, PostgreSQL: the table holds nothing at all).
 */
async function rebuildCandidates(
  trx: Transaction<Database>,
  c: CollectionName,
  writes: number,
  emptyOnly: boolean,
): Promise<ReadonlyArray<{ name: string; column: string }>> {
  const indexes = SECONDARY_INDEXES[c] ?? [];
  if (indexes.length === 0) return [];
  if (emptyOnly) {
    const any = await trx.selectFrom(liveTable(c)).select(sql<number>`1`.as('x')).limit(1).executeTakeFirst();
    if (any !== undefined) return [];
    // DROP INDEX takes the table's ACCESS EXCLUSIVE lock until commit. Another run's open early
    // inserts (early-inserts.ts, rows this transaction cannot see) hold a lock on the table and
    // will wait for this apply's history-order lock at their own apply: waiting for them here would
    // deadlock. So the lock is tried without waiting, and when another session holds one the
    // indexes stay as they are.
    await sql`savepoint rebuild_lock`.execute(trx);
    try {
      await sql`lock table ${sql.table(liveTable(c))} in access exclusive mode nowait`.execute(trx);
      await sql`release savepoint rebuild_lock`.execute(trx);
      return indexes;
    } catch (err) {
      if ((err as { code?: unknown } | null)?.code !== '55P03') throw err; // lock_not_available
      await sql`rollback to savepoint rebuild_lock`.execute(trx);
      return [];
    }
  }
  const r = await trx.selectFrom(liveTable(c)).select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
  return writes >= Number(r.n) ? indexes : [];
}

/**
 * INSERT … SELECT … ON CONFLICT DO UPDATE for every staged row with data (`fresh`: a plain INSERT, see
 * `ApplyCollection.fresh`). Tombstone columns follow the staged status: `tobedeleted` keeps an
 * existing tombstone's first deletion time, `active` clears it (a restore).
 */
function upsertFromStage(c: CollectionName, ctx: ApplyContext, fresh: boolean): RawBuilder<unknown> {
  const live = liveTable(c);
  const insert = insertFromStage(c, ctx, sql`from ${sql.table(stageTable(c))} as s where s.run_id = ${ctx.runId} and s.op >= ${STAGE_WRITE_MIN}`);
  if (fresh) return insert;
  const updates = copiedColumns(c).map((n) => sql`${sql.id(n)} = excluded.${sql.id(n)}`);
  return sql`${insert}
    on conflict (connection_id, sourced_id) do update set
      ${sql.join(updates)},
      updated_run = excluded.updated_run,
      row_version = ${sql.ref(`${live}.row_version`)} + 1,
      deleted_at = case when excluded.deleted_at is null then null else coalesce(${sql.ref(`${live}.deleted_at`)}, excluded.deleted_at) end,
      deleted_run = case when excluded.deleted_run is null then null else coalesce(${sql.ref(`${live}.deleted_run`)}, excluded.deleted_run) end`;
}

/** Stage columns copied into the live row as they are. */
export function copiedColumns(c: CollectionName): string[] {
  return ['status', 'date_last_modified', 'content_hash', 'data', 'raw', 'raw_fp', ...ENTITY_COLUMNS[c].map((col) => col.name)];
}

/**
 * `INSERT INTO <live> (…) SELECT … <from>` of new live rows (first seen and updated by this run,
 * version 1), where `from` is a FROM clause whose stage rows are aliased `s`.
 */
export function insertFromStage(c: CollectionName, ctx: ApplyContext, from: RawBuilder<unknown>): RawBuilder<unknown> {
  const now = ctx.now.toISOString();
  const copied = copiedColumns(c);
  return sql`
    insert into ${sql.table(liveTable(c))} (tenant_id, connection_id, sourced_id, first_seen_run, updated_run, row_version, deleted_at, deleted_run, ${ids(copied)})
    select ${ctx.tenantId}, ${ctx.connectionId}, s.sourced_id, ${ctx.runId}, ${ctx.runId}, 1,
      case when s.status = 'tobedeleted' then ${now} else null end,
      case when s.status = 'tobedeleted' then cast(${ctx.runId} as integer) else null end,
      ${ids(copied, 's')}
    ${from}`;
}

/**
 * Unchanged records staged with a fingerprint (their live row held another one: a new codec
 * version, or provider JSON that changed without changing the record) store it, so the next sync
 * skips them unread again. Not a change: no history row, same row version.
 */
function refreshFingerprints(c: CollectionName, ctx: ApplyContext): RawBuilder<unknown> {
  const live = liveTable(c);
  return sql`update ${sql.table(live)} set raw_fp = s.raw_fp
    from ${sql.table(stageTable(c))} as s
    where s.run_id = ${ctx.runId} and s.op = ${StageOp.unchanged} and s.raw_fp is not null
      and ${sql.ref(`${live}.connection_id`)} = ${ctx.connectionId} and ${sql.ref(`${live}.sourced_id`)} = s.sourced_id`;
}

const TOMBSTONE_SET = (ctx: ApplyContext): RawBuilder<unknown> =>
  sql`status = 'tobedeleted', deleted_at = ${ctx.now.toISOString()}, deleted_run = ${ctx.runId}, updated_run = ${ctx.runId}, row_version = row_version + 1`;

function ids(names: readonly string[], prefix?: string): RawBuilder<unknown> {
  return sql.join(names.map((n) => (prefix ? sql.ref(`${prefix}.${n}`) : sql.id(n))));
}

/**
 * "Absence in a complete full-sync collection marks a row deleted (soft delete, kept as a
 * tombstone)". Each fragment selects (over the live table, unaliased) live, not-yet-deleted rows of
 * this connection that the run found absent:
 * - anti-join: rows whose sourcedId the run did not stage at all (invalid and unchanged records
 *   are staged by key, so they are not absent);
 * - ranges: rows the sync marked `absent`, plus every row after the last sourcedId read.
 * The same fragments count, list, record (change history) and tombstone them.
 */
export function absenceWhere(c: CollectionName, ctx: { runId: number; connectionId: string }, rule: AbsenceRule): RawBuilder<unknown>[] {
  const live = liveTable(c);
  const stage = stageTable(c);
  const mine = sql`connection_id = ${ctx.connectionId} and deleted_at is null`;
  switch (rule.kind) {
    case 'none':
      return [];
    case 'anti-join':
      return [
        sql`${mine} and not exists (select 1 from ${sql.table(stage)} as s where s.run_id = ${ctx.runId} and s.sourced_id = ${sql.ref(`${live}.sourced_id`)})`,
      ];
    case 'ranges':
      return [
        sql`${mine} and sourced_id in (select s.sourced_id from ${sql.table(stage)} as s where s.run_id = ${ctx.runId} and s.op = ${StageOp.absent})`,
        rule.after === undefined ? mine : sql`${mine} and sourced_id > ${rule.after}`,
      ];
  }
}

/** Change-row `fields` of a deletion by absence. */
const ABSENT_FIELDS = JSON.stringify({ status: { before: 'active', after: 'tobedeleted' } });

const KIND_OF_OP = sql`case s.op when ${StageOp.create} then 'created' when ${StageOp.update} then 'updated' when ${StageOp.restore} then 'restored' else 'deleted' end`;

/** Change rows for one collection: staged writes, then absences (`applied` 1: history, 0: a plan). */
export function changeInserts(c: CollectionName, ctx: ApplyContext, rule: AbsenceRule, applied: 0 | 1): RawBuilder<unknown>[] {
  const at = ctx.now.toISOString();
  const head = sql`insert into changes (tenant_id, connection_id, run_id, entity, sourced_id, kind, fields, applied, at)`;
  const out = [
    sql`${head} select ${ctx.tenantId}, ${ctx.connectionId}, ${ctx.runId}, ${c}, s.sourced_id, ${KIND_OF_OP}, s.diff, ${applied}, ${at}
      from ${sql.table(stageTable(c))} as s where s.run_id = ${ctx.runId} and s.op >= ${STAGE_WRITE_MIN} order by s.sourced_id`,
  ];
  for (const where of absenceWhere(c, ctx, rule)) {
    out.push(sql`${head} select ${ctx.tenantId}, ${ctx.connectionId}, ${ctx.runId}, ${c}, sourced_id, 'deleted', ${ABSENT_FIELDS}, ${applied}, ${at}
      from ${sql.table(liveTable(c))} where ${where} order by sourced_id`);
  }
  return out;
}
