/**
 * PostgreSQL: a first sync's live inserts while the read goes on.
 *
 * A first sync on PostgreSQL spent a third of its time in the apply (22-31 s at `large`), with the
 * server working on one core and the sync process idle; during the read it was the other way
 * round (the server ~20% busy staging pages, the sync process ~100%). Here the staged rows of a
 * fresh collection (the connection has no live row of it) are copied into the live table page by
 * page as they are staged, by one INSERT … SELECT from the stage table per batch of pages, in one
 * transaction that stays open until the apply, which then runs in it and commits it
 * (`ApplyOptions.within`). So the run stays one transaction: nothing is visible before the commit,
 * a failed or killed run leaves nothing behind, and a resumed run applies from its stage as before.
 *
 * Which collections: fresh, read from their first page in this process (not a resumed read).
 * Which rows: the page's staged writes (not a duplicate sourcedId), all of them creates of active
 * records, since a fresh collection has nothing to update, restore or delete (`classify`); the apply
 * then writes only their history. A collection whose read fails is rolled back to its savepoint. When the check of references within a collection (session parents, students' agents,
 * after the read) drops or rewrites staged rows, `reconcile` brings the live rows in line.
 *
 * Nothing here can make a run fail: the first error (the server ended the idle transaction, the
 * connection dropped, a conflict) drops the early transaction, and the apply writes everything from
 * the stage as it does without early inserts.
 *
 * Locks: ROW EXCLUSIVE on the live tables written, held until the apply commits; no history is
 * written early, so the history-order lock is taken at the apply as before (apply.ts).
 */
import { sql, type ControlledTransaction, type Kysely } from 'kysely';
import type { CollectionName } from '../oneroster/types.ts';
import { copiedColumns, insertFromStage, type ApplyContext } from './apply.ts';
import { STAGE_WRITE_MIN, liveTable, stageTable, type Database } from './schema.ts';

/**
 * The early transaction's idle limit while the read goes on: a client that is alive but stuck. A
 * worker machine lost mid-read leaves a session whose uncommitted rows block the run's next attempt
 * (the same keys) until PostgreSQL ends it, which its keepalive probes do within about a minute
 * (pg-keepalive.ts); a read that pauses longer than this limit (a provider's long retry) only loses
 * the early inserts.
 */
export const EARLY_IDLE_TIMEOUT = '10min';

/** Batches waiting beyond this make the sync wait for the server (bounds the ids held in memory). */
const MAX_QUEUED = 4;

/**
 * Open early transactions of one store at a time. Each holds a pooled connection for a whole read,
 * so a worker running more syncs than this leaves the pool to the others' page writes; a run that
 * finds none free inserts nothing early (the apply writes every row, as without early inserts).
 */
export class EarlySlots {
  readonly #max: number;
  #held = 0;

  constructor(max: number) {
    this.#max = max;
  }

  take(): boolean {
    if (this.#held >= this.#max) return false;
    this.#held++;
    return true;
  }

  give(): void {
    this.#held = Math.max(0, this.#held - 1);
  }
}

/** Staged ids to insert, or (`reconcile`) a collection whose staged rows changed after their insert. */
interface Batch {
  c: CollectionName;
  ids: string[];
  reconcile?: true;
}

/** The early inserts of one run. Use from one run only; calls need not be awaited in order. */
export class EarlyInserts {
  readonly #db: Kysely<Database>;
  readonly #ctx: ApplyContext;
  readonly #slots: EarlySlots;
  #slot = false;
  #trx: ControlledTransaction<Database> | undefined;
  #queue: Batch[] = [];
  #draining: Promise<void> | undefined;
  /** Nothing more is inserted early: an error, no free slot, or the end. */
  #stopped = false;
  /** The error that stopped early inserts, if one did. */
  #error: unknown;
  /** Collections with rows inserted (each has a savepoint of its name). */
  readonly #started = new Set<CollectionName>();
  /** Server time the inserts took (ms). */
  ms = 0;

  /**
   * @param ctx the run (its `now` would stamp a tombstone, which a fresh collection does not stage).
   * @param slots the store's (`EarlySlots`); one is taken with the transaction and given back by `abandon`.
   */
  constructor(db: Kysely<Database>, ctx: ApplyContext, slots: EarlySlots) {
    this.#db = db;
    this.#ctx = ctx;
    this.#slots = slots;
  }

  /** The error that stopped early inserts, if one did (for the log). */
  get failure(): unknown {
    return this.#error;
  }

  /**
   * Queues the insert of these staged ids of a fresh collection (only its active write rows are
   * taken). Resolves at once unless several batches wait for the server.
   */
  async add(c: CollectionName, ids: string[]): Promise<void> {
    if (this.#stopped || ids.length === 0) return;
    this.#enqueue({ c, ids });
    if (this.#queue.length >= MAX_QUEUED) await this.#draining;
  }

  /**
   * The staged rows of `c` changed after they went in early (the check of references within the
   * collection dropped or rewrote some): its live rows are brought in line with the stage.
   */
  async reconcile(c: CollectionName): Promise<void> {
    if (this.#stopped || !this.#started.has(c)) return;
    this.#enqueue({ c, ids: [], reconcile: true });
    await this.#draining;
  }

  /** The read of `c` failed: its early rows are rolled back (the other collections' stay). */
  async discard(c: CollectionName): Promise<void> {
    this.#queue = this.#queue.filter((b) => b.c !== c);
    await this.#draining;
    if (!this.#started.has(c) || this.#stopped) return;
    this.#started.delete(c);
    try {
      await sql`rollback to savepoint ${sql.id(savepoint(c))}`.execute(this.#trx!);
    } catch (err) {
      await this.#fail(err);
    }
  }

  /**
   * Waits for the queued inserts and checks the transaction is still alive. Returns it with the
   * collections early-inserted, for the apply to run in; undefined (after rolling it back) when
   * early inserts failed or never started.
   */
  async settle(): Promise<{ trx: ControlledTransaction<Database>; collections: ReadonlySet<CollectionName> } | undefined> {
    await this.#draining;
    if (this.#trx === undefined || this.#stopped) return undefined;
    try {
      await sql`select 1`.execute(this.#trx);
    } catch (err) {
      await this.#fail(err);
      return undefined;
    }
    return { trx: this.#trx, collections: this.#started };
  }

  /**
   * Ends early inserts: rolls back whatever was inserted early unless the apply committed it (a
   * held, aborted or failed run), and gives the slot back. Every run calls it at its end. Idempotent.
   */
  async abandon(): Promise<void> {
    this.#queue = [];
    await this.#draining;
    await this.#stop();
  }

  #enqueue(batch: Batch): void {
    this.#queue.push(batch);
    this.#draining ??= this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#stopped) {
        // Consecutive batches of one collection go in one statement.
        const c = this.#queue[0]!.c;
        const ids: string[] = [];
        let reconcile = false;
        while (this.#queue.length > 0 && this.#queue[0]!.c === c && !reconcile) {
          const b = this.#queue.shift()!;
          if (b.reconcile) reconcile = true;
          for (const id of b.ids) ids.push(id);
        }
        try {
          if (ids.length > 0) await this.#insert(c, ids);
          if (reconcile) await this.#reconcile(c);
        } catch (err) {
          await this.#fail(err);
        }
      }
    } finally {
      this.#draining = undefined;
    }
  }

  async #insert(c: CollectionName, ids: string[]): Promise<void> {
    const t0 = performance.now();
    if (this.#trx === undefined) {
      if (!this.#slots.take()) return void (await this.#stop());
      this.#slot = true;
      this.#trx = await this.#db.startTransaction().execute();
      await sql`set local idle_in_transaction_session_timeout = ${sql.lit(EARLY_IDLE_TIMEOUT)}`.execute(this.#trx);
    }
    const trx = this.#trx;
    if (!this.#started.has(c)) {
      await sql`savepoint ${sql.id(savepoint(c))}`.execute(trx);
      this.#started.add(c);
    }
    // One stage-key probe per id: the LATERAL subquery (kept apart by OFFSET 0) runs once per id.
    // As a plain join the planner, working from statistics taken before this read, hashed the ids
    // and scanned the whole stage table for every batch (77 s of server time at `large`).
    const stage = sql.table(stageTable(c));
    const from = sql`from unnest(${ids}::text[]) as k(id)
      cross join lateral (select * from ${stage} where run_id = ${this.#ctx.runId} and sourced_id = k.id offset 0) as s
      where s.op >= ${STAGE_WRITE_MIN}`;
    await trx.executeQuery(insertFromStage(c, this.#ctx, from).compile(trx));
    this.ms += performance.now() - t0;
  }

  /**
   * Deletes the live rows whose staged row became invalid and rewrites those whose staged data
   * changed (every live row of a fresh collection is one this transaction inserted).
   */
  async #reconcile(c: CollectionName): Promise<void> {
    const t0 = performance.now();
    const trx = this.#trx!;
    const live = sql.table(liveTable(c));
    const stage = sql.table(stageTable(c));
    const run = this.#ctx.runId;
    const mine = sql`s.run_id = ${run} and s.sourced_id = l.sourced_id and l.connection_id = ${this.#ctx.connectionId}`;
    await sql`delete from ${live} as l using ${stage} as s where ${mine} and s.op < ${STAGE_WRITE_MIN}`.execute(trx);
    const cols = copiedColumns(c);
    await sql`update ${live} as l set (${sql.join(cols.map((n) => sql.id(n)))}) = (${sql.join(cols.map((n) => sql.ref(`s.${n}`)))})
      from ${stage} as s where ${mine} and s.op >= ${STAGE_WRITE_MIN} and l.content_hash <> s.content_hash`.execute(trx);
    this.ms += performance.now() - t0;
  }

  async #fail(err: unknown): Promise<void> {
    this.#error ??= err;
    await this.#stop();
  }

  async #stop(): Promise<void> {
    this.#stopped = true;
    this.#queue = [];
    this.#started.clear();
    const trx = this.#trx;
    if (trx !== undefined && !trx.isCommitted && !trx.isRolledBack) await trx.rollback().execute().catch(() => undefined);
    if (this.#slot) {
      this.#slot = false;
      this.#slots.give();
    }
  }
}

function savepoint(c: CollectionName): string {
  return `early_${c}`;
}
