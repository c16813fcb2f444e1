/**
 * Stage, then apply (DESIGN.md "Safety approach"; engineering-anchors §2.2.2): a run streams every
 * page into staging tables tagged with its run id; nothing touches the live tables until `apply`,
 * which writes every complete collection of the run in ONE transaction, together with the run's
 * final state. A crash or kill at any point before that commit leaves the live tables exactly as
 * the previous run left them.
 *
 * Staging tables are scratch space that survives a crash, so a killed run can resume without
 * fetching its staged pages again (issue 4): on SQLite they live in an attached database file
 * beside the store (`<db>-stage`, rollback journal, no fsync), on PostgreSQL in UNLOGGED tables.
 * They are created here (idempotently), not by migrations. Each page's rows are written in one
 * transaction together with the collection's checkpoint (`stage_checkpoints`: read position,
 * counts, read state), so a resumed run continues exactly after the last staged page. Rows to
 * write carry full data; the stage key (run_id, sourced_id) also detects duplicate sourcedIds
 * within a run (the first is kept).
 *
 * Absence ("a live row the complete collection did not contain") is found one of two ways:
 * - `ranges` (sorted reads, the common case): the sync compares each page with the live rows in
 *   the page's sourcedId range (`lookupRange`), stages an `absent` marker for live rows it passed
 *   over, and apply also tombstones the rows after the last id read. Unchanged records are not
 *   staged at all, so a no-change re-sync writes nothing but a few markers.
 * - `anti-join` (unsorted reads): every sourcedId seen is staged (key only when unchanged or
 *   invalid), and apply tombstones live rows with no stage row.
 *
 * The apply itself (set-based SQL, history, the PostgreSQL order lock) is apply.ts; `StagingArea`
 * runs it, through the store's `BulkApply` when large. (PostgreSQL note: `lookupRange` and the tail
 * rule compare sourcedIds with `<`/`>`; they must use byte order there, i.e. `COLLATE "C"` on the
 * key index, to match the sync's order check.)
 */
import { sql, type ControlledTransaction, type Kysely, type RawBuilder } from 'kysely';
import type { CollectionName, Status } from '../oneroster/types.ts';
import { absenceWhere, applyStaged, changeInserts, type AbsenceRule, type ApplyCollection, type ApplyContext, type AppliedCollection, type ApplyFinish, type BulkApply } from './apply.ts';
import { EarlyInserts, EarlySlots } from './early-inserts.ts';
import { ENTITY_COLUMNS, type ColumnValue } from './entity-columns.ts';
import { sourcedIdType } from './migrations/column-types.ts';
import type { StoreDialect } from './migrations.ts';
import { STAGE_WRITE_MIN, StageOp, liveTable, stageTable, type Database } from './schema.ts';

/** What the live table holds for a sourcedId. */
export interface KnownRow {
  hash: string;
  /** Raw fingerprint stored with the row (null when it had issues or none was given). */
  fp: string | null;
  /** The live row is a tombstone. */
  deleted: boolean;
}

/** What the covering index says about a live row: enough to skip it or to find it absent. */
export type RangeRow = Pick<KnownRow, 'fp' | 'deleted'>;

/** One sourcedId of a page, as the sync decided it. */
export interface StageRow {
  sourcedId: string;
  op: StageOp;
  /** Content hash; present for every op except `invalid`. */
  hash?: string;
  /** The record's status; required for write ops (create/update/restore/delete). */
  status?: Status;
  /** The record's `dateLastModified`, then its entity columns (entity-columns.ts `recordValues`); required for write ops. */
  values?: readonly ColumnValue[];
  /** Canonical JSON of the record; required for write ops. */
  data?: string;
  /** The provider's JSON, only when it differs from `data`. */
  rawJson?: string;
  /**
   * Raw fingerprint to store with the row: write ops (omit or null for records with issues), and
   * `unchanged` rows whose live row holds another one (the apply refreshes it, see apply.ts).
   */
  fp?: string | null;
  /** JSON `FieldDiff` against the live row (updates, restores, deletes); becomes the change row's `fields`. */
  diff?: string;
  /** The record's reference fields (JSON), for the reference check after staging. */
  refs?: string;
}

export interface StageContext {
  runId: number;
  tenantId: string;
  connectionId: string;
  collection: CollectionName;
}

/** Writes one collection of one run into staging, page by page. */
export interface CollectionStager {
  /** The connection has no live rows for this collection yet (first sync): lookups can be skipped. */
  readonly liveEmpty: boolean;
  /** What the live table holds for each id (same order; undefined: no row). */
  lookup(sourcedIds: readonly string[]): Promise<Array<KnownRow | undefined>>;
  /**
   * Live rows (tombstones included) with `after < sourced_id <= through` in sourcedId (byte)
   * order, no lower bound when `after` is undefined; read from the covering `_fp` index only.
   */
  lookupRange(after: string | undefined, through: string): Promise<Array<[string, RangeRow]>>;
  /**
   * Stages a page in one transaction, with the collection's checkpoint when given (computed from
   * the per-row results, so it can count duplicates). Returns, per row, false when its sourcedId was
   * already staged in this run.
   */
  write(rows: readonly StageRow[], checkpoint?: (inserted: readonly boolean[]) => string): Promise<boolean[]>;
  /** The live rows' canonical `data` for these ids (for field diffs of the few changed records). */
  loadData(sourcedIds: readonly string[]): Promise<Map<string, string>>;
}

/** Creates stagers for one dialect; `sqlite-bulk-stager.ts` is the fast SQLite one. */
export interface StagerFactory {
  open(ctx: StageContext): Promise<CollectionStager>;
}

/** Staging tables, stagers, and the one-transaction apply. */
export class StagingArea {
  readonly #db: Kysely<Database>;
  readonly #factory: StagerFactory;
  readonly #rebuildMinWrites: number | undefined;
  readonly #bulkApply: BulkApply | undefined;
  readonly #earlySlots: EarlySlots | undefined;
  readonly #location: StageLocation;
  #ready: Promise<void> | undefined;

  /**
   * @param options.rebuildMinWrites drop and rebuild secondary indexes around applies of at least
   *   this many writes (and at least the table's size); undefined: never. On SQLite WAL readers
   *   keep their snapshot during the apply transaction. On PostgreSQL DROP INDEX locks the table
   *   until commit, so there it happens only when the live table holds no row of any connection
   *   (an installation's first sync of that collection: nobody reads it yet).
   * @param options.earlyInserts offer `early` (PostgreSQL: early-inserts.ts) to this many runs at a time; 0 or absent: none.
   */
  constructor(
    db: Kysely<Database>,
    factory: (db: Kysely<Database>) => StagerFactory,
    options: { rebuildMinWrites?: number; bulkApply?: BulkApply; earlyInserts?: number } & StageLocation = {},
  ) {
    this.#db = db;
    this.#factory = factory(db);
    this.#rebuildMinWrites = options.rebuildMinWrites;
    this.#bulkApply = options.bulkApply;
    this.#earlySlots = (options.earlyInserts ?? 0) > 0 ? new EarlySlots(options.earlyInserts!) : undefined;
    this.#location = {
      ...(options.schema !== undefined ? { schema: options.schema } : {}),
      ...(options.unlogged ? { unlogged: true } : {}),
      ...(options.dialect ? { dialect: options.dialect } : {}),
    };
  }

  /** Creates the staging tables once per process (if they do not exist yet). */
  ensureTables(): Promise<void> {
    this.#ready ??= this.#createSerialised().catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }

  /**
   * PostgreSQL: several processes may create the stage tables at once (workers starting together),
   * and concurrent `CREATE TABLE IF NOT EXISTS` of one name can still fail on the type catalog
   * (42710); an advisory transaction lock serialises them. SQLite serialises writers itself.
   */
  async #createSerialised(): Promise<void> {
    if (this.#location.dialect !== 'postgres') return createStageTables(this.#db, this.#location);
    await this.#db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${STAGE_LOCK_KEY})`.execute(trx);
      await createStageTables(trx, this.#location);
    });
  }

  /** A stager for one collection of a run. */
  async open(ctx: StageContext): Promise<CollectionStager> {
    await this.ensureTables();
    return this.#factory.open(ctx);
  }

  /**
   * Drops a run's staged rows of one collection (a failed read) or of every collection. On SQLite,
   * when the table holds no other run's rows it is emptied without a WHERE clause, which SQLite
   * turns into a truncate (~0.02 µs per row against ~3.5 µs for a row-by-row delete of 1.1M rows).
   */
  async discard(runId: number, collection?: CollectionName): Promise<void> {
    await this.ensureTables();
    const loose = this.#db as unknown as Kysely<any>; // SAFETY: stage tables share run_id.
    await loose.transaction().execute(async (trx) => {
      let cp = trx.deleteFrom(CHECKPOINTS).where('run_id', '=', runId);
      if (collection) cp = cp.where('collection', '=', collection);
      await cp.execute();
      for (const c of collection ? [collection] : (Object.keys(ENTITY_COLUMNS) as CollectionName[])) {
        const table = stageTable(c);
        // PostgreSQL has no truncate-by-DELETE, and min(run_id) would walk the key's entries of rows
        // deleted earlier until vacuum (0.6-2 s after a `large` first sync): straight to this run's range.
        if (this.#location.dialect === 'postgres') {
          await trx.deleteFrom(table).where('run_id', '=', runId).execute();
          continue;
        }
        // min/max read the ends of the (run_id, sourced_id) key: O(log n).
        const span = await trx
          .selectFrom(table)
          .select((eb) => [eb.fn.min('run_id').as('lo'), eb.fn.max('run_id').as('hi')])
          .executeTakeFirst();
        const lo = span?.lo as number | null | undefined;
        const hi = span?.hi as number | null | undefined;
        if (lo === null || lo === undefined) continue; // empty
        if (Number(lo) === runId && Number(hi) === runId) await trx.deleteFrom(table).execute();
        else await trx.deleteFrom(table).where('run_id', '=', runId).execute();
      }
    });
  }

  /** A run's checkpoints by collection (what a resumed run continues from). */
  async checkpoints(runId: number): Promise<Map<CollectionName, string>> {
    await this.ensureTables();
    const loose = this.#db as unknown as Kysely<any>; // SAFETY: the checkpoint table is not in the typed schema.
    const rows = (await loose.selectFrom(CHECKPOINTS).select(['collection', 'state']).where('run_id', '=', runId).execute()) as Array<{ collection: string; state: string }>;
    return new Map(rows.map((r) => [r.collection as CollectionName, r.state]));
  }

  /** Writes a checkpoint outside a page write (e.g. a collection read to its end). */
  async checkpoint(runId: number, collection: CollectionName, state: string): Promise<void> {
    await this.ensureTables();
    await this.#db.transaction().execute(async (trx) => {
      await trx.executeQuery(checkpointUpsert(runId, collection, state).compile(trx));
    });
    // PostgreSQL only (H5): a collection read to its end refreshes its stage table's planner
    // statistics. Without them the planner guesses a handful of rows for `run_id = ?` and runs
    // `stagedWrites`' keyset batches as bitmap scan + sort of every row after the key: measured
    // 0.8 s per 5,000-row batch at 1.1M staged enrollments (135 s of reference checks at `large`)
    // against 4 ms after ANALYZE (~0.2 s for the key columns of 1.1M rows). Autovacuum's analyze
    // comes at arbitrary times, and one taken mid-read leaves a histogram that ends mid-collection.
    if (this.#location.dialect === 'postgres') await sql`analyze ${sql.table(stageTable(collection))} (run_id, op, sourced_id)`.execute(this.#db);
  }

  /**
   * Drops the staged rows of a connection's runs that are no longer running (killed runs that were
   * not resumed), except `keep`. Staged rows of other connections are left alone.
   */
  async discardDead(connectionId: string, keep?: number): Promise<void> {
    await this.ensureTables();
    const ids = await this.#db
      .selectFrom('runs')
      .select('id')
      .where('connection_id', '=', connectionId)
      .where('status', '!=', 'running')
      .execute();
    const loose = this.#db as unknown as Kysely<any>;
    const staged = new Set<number>();
    for (const r of (await loose.selectFrom(CHECKPOINTS).select('run_id').distinct().execute()) as Array<{ run_id: number }>) staged.add(Number(r.run_id));
    for (const { id } of ids) if (id !== keep && staged.has(id)) await this.discard(id);
  }

  /** Active live sourcedIds of a connection's collection (from the covering `_fp` index). */
  async liveActiveIds(connectionId: string, c: CollectionName): Promise<string[]> {
    const r = await sql<{ sourced_id: string }>`select sourced_id from ${sql.table(liveTable(c))}
      where connection_id = ${connectionId} and deleted_run is null`.execute(this.#db);
    return r.rows.map((x) => x.sourced_id);
  }

  /** Every staged sourcedId of a run's collection with its op. */
  async stagedOps(runId: number, c: CollectionName): Promise<Array<[string, StageOp]>> {
    await this.ensureTables();
    const r = await sql<{ sourced_id: string; op: number }>`select sourced_id, op from ${sql.table(stageTable(c))} where run_id = ${runId}`.execute(this.#db);
    return r.rows.map((x) => [x.sourced_id, Number(x.op) as StageOp]);
  }

  /**
   * A batch of the run's staged rows that will be written (create/update/restore), in sourcedId
   * order after `after`, with `columns` (stage columns, e.g. `data` or the typed reference columns).
   */
  async stagedWrites(runId: number, c: CollectionName, columns: readonly string[], after: string | undefined, limit: number): Promise<Array<Record<string, unknown>>> {
    await this.ensureTables();
    const stage = stageTable(c);
    const cols = sql.join(['sourced_id', 'op', ...columns].map((n) => sql.ref(n)));
    const r = await sql<Record<string, unknown>>`select ${cols} from ${sql.table(stage)}
      where run_id = ${runId} and op in (${StageOp.create}, ${StageOp.update}, ${StageOp.restore})
      ${after === undefined ? sql`` : sql`and sourced_id > ${after}`}
      order by sourced_id limit ${limit}`.execute(this.#db);
    return r.rows;
  }

  /** One staged record's data. */
  async stagedData(runId: number, c: CollectionName, sourcedId: string): Promise<string | undefined> {
    const r = await sql<{ data: string | null }>`select data from ${sql.table(stageTable(c))} where run_id = ${runId} and sourced_id = ${sourcedId}`.execute(this.#db);
    return r.rows[0]?.data ?? undefined;
  }

  /** Turns staged writes into `invalid` (dropped after staging, e.g. by a reference check). */
  async markInvalid(runId: number, c: CollectionName, sourcedIds: readonly string[]): Promise<void> {
    await this.ensureTables();
    const stage = stageTable(c);
    await this.#db.transaction().execute(async (trx) => {
      for (let i = 0; i < sourcedIds.length; i += 500) {
        const ids = sourcedIds.slice(i, i + 500);
        await sql`update ${sql.table(stage)} set op = ${StageOp.invalid} where run_id = ${runId} and sourced_id in (${sql.join(ids)})`.execute(trx);
      }
    });
  }

  /**
   * Replaces a staged write's data (a value dropped after staging; the raw fingerprint is cleared
   * so the next run reads the record again). An update whose new data equals the live row becomes
   * `unchanged`; otherwise `diff` (against the live row) is recomputed by `diffWith`.
   * @returns the op after the rewrite.
   */
  async rewriteStaged(
    ctx: { runId: number; connectionId: string },
    c: CollectionName,
    sourcedId: string,
    data: string,
    hash: string,
    diffWith: (liveData: string) => string,
  ): Promise<StageOp> {
    const live = await sql<{ content_hash: string; data: string; deleted_run: number | null }>`select content_hash, data, deleted_run from ${sql.table(liveTable(c))}
      where connection_id = ${ctx.connectionId} and sourced_id = ${sourcedId}`.execute(this.#db);
    const row = live.rows[0];
    const staged = await sql<{ op: number }>`select op from ${sql.table(stageTable(c))} where run_id = ${ctx.runId} and sourced_id = ${sourcedId}`.execute(this.#db);
    let op = Number(staged.rows[0]?.op ?? StageOp.create) as StageOp;
    if (op === StageOp.update && row && row.content_hash === hash) op = StageOp.unchanged;
    const diff = row && op !== StageOp.unchanged ? diffWith(row.data) : null;
    await sql`update ${sql.table(stageTable(c))} set data = ${data}, content_hash = ${hash}, raw_fp = null, diff = ${diff}, op = ${op}
      where run_id = ${ctx.runId} and sourced_id = ${sourcedId}`.execute(this.#db);
    return op;
  }

  /** How many live rows the absence rule would tombstone. */
  async absentCount(ctx: { runId: number; connectionId: string }, c: CollectionName, rule: AbsenceRule): Promise<number> {
    await this.ensureTables();
    let absent = 0;
    for (const where of absenceWhere(c, ctx, rule)) absent += await this.#count(c, where);
    return absent;
  }

  /** Active live rows of a collection (a table scan of the connection's rows: only ask when needed). */
  async liveCount(connectionId: string, c: CollectionName): Promise<number> {
    // deleted_run is set exactly when deleted_at is, and it is in the covering `_fp` index.
    return this.#count(c, sql`connection_id = ${connectionId} and deleted_run is null`);
  }

  async #count(c: CollectionName, where: RawBuilder<unknown>): Promise<number> {
    const r = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(liveTable(c))} where ${where}`.execute(this.#db);
    return Number(r.rows[0]?.n ?? 0);
  }

  /** The sourcedIds a run would delete (arrived `tobedeleted` or absent) and update; for approvals. */
  async plannedIds(ctx: { runId: number; connectionId: string }, c: CollectionName, rule: AbsenceRule): Promise<{ deletes: string[]; updates: string[] }> {
    await this.ensureTables();
    const stage = stageTable(c);
    const staged = await sql<{ sourced_id: string; op: number }>`select sourced_id, op from ${sql.table(stage)}
      where run_id = ${ctx.runId} and op in (${StageOp.delete}, ${StageOp.update})`.execute(this.#db);
    const deletes: string[] = [];
    const updates: string[] = [];
    for (const r of staged.rows) (Number(r.op) === StageOp.delete ? deletes : updates).push(r.sourced_id);
    deletes.push(...(await this.absentIds(ctx, c, rule)));
    return { deletes, updates };
  }

  /** The live rows the absence rule would tombstone. */
  async absentIds(ctx: { runId: number; connectionId: string }, c: CollectionName, rule: AbsenceRule): Promise<string[]> {
    const out: string[] = [];
    for (const where of absenceWhere(c, ctx, rule)) {
      const r = await sql<{ sourced_id: string }>`select sourced_id from ${sql.table(liveTable(c))} where ${where}`.execute(this.#db);
      for (const row of r.rows) out.push(row.sourced_id);
    }
    return out;
  }

  /**
   * Records what the run would change as `changes` rows with `applied = 0` (a held run's plan, or a
   * dry run's), without touching the live tables. One transaction.
   */
  async recordPlan(ctx: ApplyContext, collections: ReadonlyMap<CollectionName, ApplyCollection>): Promise<void> {
    await this.ensureTables();
    await this.#db.transaction().execute(async (trx) => {
      for (const [c, { absence }] of collections) for (const q of changeInserts(c, ctx, absence, 0)) await trx.executeQuery(q.compile(trx));
    });
  }

  /**
   * Early inserts for a run (early-inserts.ts) when this store offers them (PostgreSQL), else
   * undefined. The run's apply then passes `within` from `EarlyInserts.settle`.
   */
  early(ctx: ApplyContext): EarlyInserts | undefined {
    return this.#earlySlots ? new EarlyInserts(this.#db, ctx, this.#earlySlots) : undefined;
  }

  /**
   * Applies the staged rows of `collections` to the live tables and then calls `finish` (which
   * writes the run's final state), all in one transaction. `absence` gives each collection's rule
   * (complete full-sync reads only; `none` otherwise). Every change is also recorded in `changes`
   * (`options.history`, default true). Returns per-collection absence counts. On PostgreSQL,
   * applies that write history run one at a time across all processes (an advisory transaction
   * lock), so the change feed's seqs become visible in order.
   *
   * An apply of at least `rebuildMinWrites` writes (a first sync) runs through the store's
   * `bulkApply` when it has one (SQLite: a rollback journal instead of the WAL, sqlite-bulk-journal.ts).
   */
  async apply(
    ctx: ApplyContext,
    collections: ReadonlyMap<CollectionName, ApplyCollection>,
    finish: ApplyFinish,
    options: { history?: boolean; within?: ControlledTransaction<Database> } = {},
  ): Promise<Partial<Record<CollectionName, AppliedCollection>>> {
    await this.ensureTables();
    const rebuildMinWrites = this.#rebuildMinWrites;
    const applyOptions = {
      dialect: this.#location.dialect ?? 'sqlite',
      history: options.history ?? true,
      rebuildMinWrites,
      ...(options.within ? { within: options.within } : {}),
    } as const;
    const run = () => applyStaged(this.#db, applyOptions, ctx, collections, finish);
    const writes = [...collections.values()].reduce((n, c) => n + c.writes, 0);
    const bulk = this.#bulkApply;
    return bulk !== undefined && rebuildMinWrites !== undefined && writes >= rebuildMinWrites ? bulk(run) : run();
  }
}

/** Where staging tables are created: an attached SQLite schema, or UNLOGGED PostgreSQL tables. */
export interface StageLocation {
  /** SQLite: the attached schema holding the stage tables. */
  schema?: string;
  /** PostgreSQL: UNLOGGED tables. */
  unlogged?: boolean;
  /** Column types follow the dialect (sourcedIds are `COLLATE "C"` on PostgreSQL). */
  dialect?: StoreDialect;
}

/** Per run and collection, the JSON checkpoint of the read (see the module comment). */
export const CHECKPOINTS = 'stage_checkpoints';

function checkpointUpsert(runId: number, collection: CollectionName, state: string): RawBuilder<unknown> {
  return sql`insert into ${sql.table(CHECKPOINTS)} (run_id, collection, state) values (${runId}, ${collection}, ${state})
    on conflict (run_id, collection) do update set state = excluded.state`;
}

/**
 * Version of the stage tables' layout. Stage tables are created idempotently, not migrated: when
 * the layout changes, the old tables are dropped (their staged pages are scratch data; a run
 * killed across an upgrade starts over) and created anew.
 */
export const STAGE_LAYOUT_VERSION = 2;
/** Advisory lock key serialising stage-table creation on PostgreSQL (any fixed 64-bit number). */
const STAGE_LOCK_KEY = 7_265_301_842;
const STAGE_META = 'stage_meta';

async function createStageTables(db: Kysely<Database>, where: StageLocation): Promise<void> {
  const schema = where.schema === undefined ? db.schema : db.schema.withSchema(where.schema);
  const loose = db as unknown as Kysely<any>; // SAFETY: stage_meta is not in the typed schema.
  await (where.unlogged ? schema.createTable(STAGE_META).modifyFront(sql`unlogged`) : schema.createTable(STAGE_META))
    .ifNotExists()
    .addColumn('version', 'integer', (col) => col.notNull())
    .execute();
  const meta = (await loose.selectFrom(STAGE_META).select('version').execute()) as Array<{ version: number }>;
  if (meta.length === 0 || Number(meta[0]!.version) !== STAGE_LAYOUT_VERSION) {
    const inTrx = <T,>(fn: (trx: Kysely<any>) => Promise<T>): Promise<T> => (loose.isTransaction ? fn(loose) : loose.transaction().execute(fn));
    await inTrx(async (trx) => {
      const s = where.schema === undefined ? trx.schema : trx.schema.withSchema(where.schema);
      await s.dropTable(CHECKPOINTS).ifExists().execute();
      for (const c of Object.keys(ENTITY_COLUMNS) as CollectionName[]) await s.dropTable(stageTable(c)).ifExists().execute();
      await trx.deleteFrom(STAGE_META).execute();
      await trx.insertInto(STAGE_META).values({ version: STAGE_LAYOUT_VERSION }).execute();
    });
  }
  const create = (name: string) => {
    const t = schema.createTable(name).ifNotExists();
    return where.unlogged ? t.modifyFront(sql`unlogged`) : t;
  };
  await create(CHECKPOINTS)
    .addColumn('run_id', 'integer', (col) => col.notNull())
    .addColumn('collection', 'text', (col) => col.notNull())
    .addColumn('state', 'text', (col) => col.notNull())
    .addPrimaryKeyConstraint(`${CHECKPOINTS}_pk`, ['run_id', 'collection'])
    .execute();
  for (const c of Object.keys(ENTITY_COLUMNS) as CollectionName[]) {
    const name = stageTable(c);
    let t = create(name)
      .addColumn('run_id', 'integer', (col) => col.notNull())
      .addColumn('sourced_id', sourcedIdType(where.dialect ?? 'sqlite'), (col) => col.notNull())
      .addColumn('op', 'integer', (col) => col.notNull())
      .addColumn('content_hash', 'text')
      .addColumn('status', 'text')
      .addColumn('date_last_modified', 'text')
      .addColumn('data', 'text')
      .addColumn('raw', 'text')
      .addColumn('raw_fp', 'text')
      .addColumn('diff', 'text')
      .addColumn('refs', 'text');
    for (const col of ENTITY_COLUMNS[c]) t = t.addColumn(col.name, col.type);
    await t.addPrimaryKeyConstraint(`${name}_pk`, ['run_id', 'sourced_id']).execute();
  }
}

/** Stage-row values in stage-table column order, for the writers. */
export function stageValues(c: CollectionName, runId: number, row: StageRow): Array<string | number | null> {
  const base: Array<string | number | null> = [runId, row.sourcedId, row.op, row.hash ?? null, row.fp ?? null];
  const { status, values } = row;
  if (row.op < STAGE_WRITE_MIN || status === undefined || values === undefined) return base;
  // values: dateLastModified, then the entity columns (in stageColumns order).
  base.push(status, values[0] ?? null, row.data ?? null, row.rawJson ?? null, row.diff ?? null, row.refs ?? null);
  for (let i = 1; i < values.length; i++) base.push(values[i]!);
  return base;
}

/** Stage-table column names matching `stageValues` for a full row. */
export function stageColumns(c: CollectionName, full: boolean): string[] {
  // Key rows carry the fingerprint too: an unchanged record whose live fingerprint is stale refreshes it.
  const base = ['run_id', 'sourced_id', 'op', 'content_hash', 'raw_fp'];
  if (!full) return base;
  return [...base, 'status', 'date_last_modified', 'data', 'raw', 'diff', 'refs', ...ENTITY_COLUMNS[c].map((col) => col.name)];
}

function toKnown(r: Record<string, unknown>): KnownRow {
  return { hash: r['content_hash'] as string, fp: (r['raw_fp'] as string | null) ?? null, deleted: r['deleted_at'] !== null };
}

/**
 * The portable stager: Kysely queries only (one IN-list lookup per page chunk, multi-row inserts),
 * for PostgreSQL and as a cross-check of the fast SQLite path in tests.
 */
export class PortableStagerFactory implements StagerFactory {
  readonly #db: Kysely<any>;

  constructor(db: Kysely<Database>) {
    this.#db = db as unknown as Kysely<any>; // SAFETY: table names are computed per collection.
  }

  async open(ctx: StageContext): Promise<CollectionStager> {
    const db = this.#db;
    const live = liveTable(ctx.collection);
    const stage = stageTable(ctx.collection);
    const any = await db.selectFrom(live).select('sourced_id').where('connection_id', '=', ctx.connectionId).limit(1).executeTakeFirst();
    const CHUNK = 500;
    return {
      liveEmpty: any === undefined,
      async lookup(sourcedIds) {
        const known = new Map<string, KnownRow>();
        for (let i = 0; i < sourcedIds.length; i += CHUNK) {
          const rows = await db
            .selectFrom(live)
            .select(['sourced_id', 'content_hash', 'raw_fp', 'deleted_at'])
            .where('connection_id', '=', ctx.connectionId)
            .where('sourced_id', 'in', sourcedIds.slice(i, i + CHUNK))
            .execute();
          for (const r of rows) known.set(r.sourced_id as string, toKnown(r));
        }
        return sourcedIds.map((id) => known.get(id));
      },
      async lookupRange(after, through) {
        let q = db
          .selectFrom(live)
          .select(['sourced_id', 'raw_fp', 'deleted_run'])
          .where('connection_id', '=', ctx.connectionId)
          .where('sourced_id', '<=', through);
        if (after !== undefined) q = q.where('sourced_id', '>', after);
        const rows = await q.orderBy('sourced_id').execute();
        return rows.map((r): [string, RangeRow] => [r.sourced_id as string, { fp: (r.raw_fp as string | null) ?? null, deleted: r.deleted_run !== null }]);
      },
      async loadData(sourcedIds) {
        const out = new Map<string, string>();
        for (let i = 0; i < sourcedIds.length; i += CHUNK) {
          const rows = await db
            .selectFrom(live)
            .select(['sourced_id', 'data'])
            .where('connection_id', '=', ctx.connectionId)
            .where('sourced_id', 'in', sourcedIds.slice(i, i + CHUNK))
            .execute();
          for (const r of rows) out.set(r.sourced_id as string, r.data as string);
        }
        return out;
      },
      async write(rows, checkpoint) {
        return db.transaction().execute(async (trx) => {
          const staged = new Set<string>();
          for (let i = 0; i < rows.length; i += CHUNK) {
            const found = await trx
              .selectFrom(stage)
              .select('sourced_id')
              .where('run_id', '=', ctx.runId)
              .where('sourced_id', 'in', rows.slice(i, i + CHUNK).map((r) => r.sourcedId))
              .execute();
            for (const f of found) staged.add(f.sourced_id as string);
          }
          const inserted = rows.map((r) => {
            if (staged.has(r.sourcedId)) return false;
            staged.add(r.sourcedId);
            return true;
          });
          const full = stageColumns(ctx.collection, true);
          const values = rows
            .filter((_, i) => inserted[i])
            .map((r) => {
              const v = stageValues(ctx.collection, ctx.runId, r);
              const obj: Record<string, string | number | null> = {};
              full.forEach((name, j) => (obj[name] = v[j] ?? null));
              return obj;
            });
          // ~16 parameters per row: 100 rows stay well inside both drivers' parameter limits.
          for (let i = 0; i < values.length; i += 100) await trx.insertInto(stage).values(values.slice(i, i + 100)).execute();
          if (checkpoint) await trx.executeQuery(checkpointUpsert(ctx.runId, ctx.collection, checkpoint(inserted)).compile(trx));
          return inserted;
        });
      },
    };
  }
}
