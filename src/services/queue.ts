/**
 * The sync job queue (issue 8, "Workers"): a small port over pg-boss 10, in the store's PostgreSQL
 * database (schema `pgboss`). Schedulers and `rostersync sync --queue` enqueue; `rostersync worker`
 * (and `serve` without `--no-worker`) take jobs and run them.
 *
 * Guarantees and how they are kept:
 * - At most one queued or active job per connection. The queue's `stately` policy (unique index per
 *   state and singleton key = connection id) makes two active jobs of one connection impossible;
 *   `enqueueSync` also refuses a second job while one is queued OR active, under a per-connection
 *   advisory lock. (Without that, a queued job behind an active one of the same connection would
 *   make pg-boss's fetch hit the unique index and return nothing, stalling every other job.)
 * - A job whose worker died is taken again after its lease. pg-boss 10 has no job heartbeat: a job
 *   expires `expire_in` after `started_on`, and its handler is raced against that time. So workers
 *   here do not use `boss.work()`: they `fetch` jobs themselves and keep each active job's lease
 *   alive (every third of it) by moving its `expire_in`, so a job lives as long as its worker, and
 *   pg-boss's maintenance expires it (then retries it) `leaseTimeoutMs` after the worker stopped.
 * - A worker only finishes the attempt it holds: completion, failure and re-queueing check the
 *   job's state and `retry_count` (one per attempt) under a row lock first, so a worker that lost
 *   its job (lease expired while it was cut off from the database) never completes the next
 *   attempt, which another worker may be running.
 *
 * Reads and the lease update touch pg-boss's `job` table directly (pg-boss 10 schema, version 24;
 * `open` refuses another schema version). Everything else goes through pg-boss's API.
 */
import { sleepUntil as sleep } from '../source/retry.ts';
import PgBoss from 'pg-boss';
import pg from 'pg';
import { askServerKeepalive, STORE_KEEPALIVE } from '../store/pg-keepalive.ts';
import { isPostgresUrl, storeLabel, survivePoolErrors } from '../store/store.ts';
import type { SyncLogger } from '../sync/full-sync.ts';
import { errorCode, errorMessage } from '../error-info.ts';

/** The queue of sync jobs. */
export const SYNC_QUEUE = 'rostersync-sync';
/** pg-boss's schema in the store's database. */
export const QUEUE_SCHEMA = 'pgboss';
/** The pg-boss schema version this module reads directly (pg-boss 10.x). */
const BOSS_SCHEMA_VERSION = 24;
/** Default worker lease: a job whose worker stopped keeping it alive is taken again after this. */
export const DEFAULT_WORKER_LEASE_MS = 60_000;
/**
 * Shortest worker lease the CLI accepts: twice the runs' 5 s heartbeat, so a worker that takes
 * over a job never takes a live run for dead. (`SyncQueue` itself accepts 1 s, for tests.)
 */
export const MIN_WORKER_LEASE_MS = 10_000;
/** Attempts after the first: a worker that keeps dying on one job (e.g. out of memory) stops retrying it. */
const RETRY_LIMIT = 5;

// Two-key advisory locks (int4, int4) live apart from pg-boss's single bigint keys.
const LOCK_NAMESPACE = 'rostersync';

export type SyncJobMode = 'full' | 'delta';

/** What a sync job carries: ids only (never secrets or personal data). */
export interface SyncJobData {
  connectionId: string;
  mode: SyncJobMode;
  /** Why it was queued: `schedule`, `manual`, `released` (a worker's shutdown handed it back), … */
  reason: string;
  /** A dry run (plan only, applies nothing). */
  dryRun?: boolean;
  /** Approve this held run: the sync re-runs it and applies (admin API on an API-only node). */
  approveRun?: number;
  /** Who approved (`approveRun`), for the run record. */
  approvedBy?: string;
}

export type JobState = 'created' | 'retry' | 'active' | 'completed' | 'cancelled' | 'failed';

/** A job of the sync queue, as `jobs()` lists it. */
export interface SyncJobInfo {
  id: string;
  connectionId: string;
  mode: string;
  reason: string;
  state: JobState;
  /** Attempts after the first (an expired or failed attempt is retried). */
  retryCount: number;
  createdOn: Date;
  startedOn?: Date;
  completedOn?: Date;
  output?: unknown;
}

/** What `enqueueSync` did. */
export interface EnqueueResult {
  /** The new job; absent when the connection already had a queued or active job. */
  jobId?: string;
  /** The connection's job that is already queued or running (no new job was made). */
  existing?: { id: string; state: JobState; mode: string };
}

/** One job handed to a handler. */
export interface QueueJob {
  id: string;
  data: SyncJobData;
  /** 0 for the first attempt; retries after a dead worker or a failure count up. */
  attempt: number;
  /**
   * Fires when this worker no longer holds the job (its lease could not be kept: another worker
   * may take it). The handler should let go of the run at once (it stays resumable).
   */
  lost: AbortSignal;
}

/**
 * What a handler decided: `complete` the job (with an output for the record), or `requeue` it (the
 * job completes and a fresh one for the same connection and mode is queued in the same
 * transaction; used when a worker shuts down mid-run: the next worker resumes the run, and the
 * hand-over does not count against the job's retries). A handler that throws fails the attempt;
 * pg-boss retries it with backoff, at most 5 times.
 */
export type JobOutcome = { action: 'complete'; output?: Record<string, unknown> } | { action: 'requeue'; output?: Record<string, unknown> };

export type JobHandler = (job: QueueJob) => Promise<JobOutcome>;

export const QUEUE_ERROR_CODES = [
  /** The store is SQLite: the queue needs PostgreSQL. */
  'postgres_required',
  /** PostgreSQL could not be reached, or pg-boss could not install or start in it. */
  'queue_unavailable',
  /** The database holds a pg-boss schema of another version than this build reads. */
  'queue_schema_mismatch',
] as const;
export type QueueErrorCode = (typeof QUEUE_ERROR_CODES)[number];

/** An operational failure of the queue. `code` is stable; `message` is for an admin (never a password). */
export class QueueError extends Error {
  readonly code: QueueErrorCode;

  constructor(code: QueueErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'QueueError';
    this.code = code;
  }
}

/** True when `err` is a QueueError (optionally with one of `codes`). */
export function isQueueError(err: unknown, ...codes: QueueErrorCode[]): err is QueueError {
  return err instanceof QueueError && (codes.length === 0 || codes.includes(err.code));
}

export interface SyncQueueOptions {
  /** The store's PostgreSQL URL. */
  url: string;
  /**
   * This process's worker lease: a job it takes is kept alive every third of this, and expires
   * (is taken by another worker) this long after the process stopped. Also the expiry of jobs it
   * queues until a worker takes them over. Default 60 s, at least 1 s (workers: 10 s).
   */
  leaseTimeoutMs?: number;
  /** How often an idle worker slot asks for a job. Default 2000 ms (at least 500). */
  pollingIntervalMs?: number;
  /** Ids and codes only. */
  logger?: SyncLogger;
}

/** A running set of worker slots (see `SyncQueue.work`). */
export interface QueueWorker {
  /** Jobs being handled now. */
  active(): number;
  /** Stops taking jobs and waits for the handlers in progress to return (release them first). */
  stop(): Promise<void>;
}

interface PgJob {
  id: string;
  data: SyncJobData;
  retryCount: number;
}

type Db = { executeSql(text: string, values?: unknown[]): Promise<{ rows: any[] }> };



/**
 * The queue over one PostgreSQL database. `SyncQueue.open` installs pg-boss's schema when needed
 * (safe from several processes at once) and creates the sync queue.
 */
export class SyncQueue {
  readonly #boss: PgBoss;
  /** Our own small pool: the transactions below need one client each; pg-boss's pool is its own. */
  readonly #pool: pg.Pool;
  readonly #leaseMs: number;
  readonly #pollMs: number;
  readonly #log: SyncLogger | undefined;
  readonly #workers = new Set<{ stop(): Promise<void> }>();
  #closed: Promise<void> | undefined;

  private constructor(boss: PgBoss, pool: pg.Pool, leaseMs: number, pollMs: number, log: SyncLogger | undefined) {
    this.#boss = boss;
    this.#pool = pool;
    this.#leaseMs = leaseMs;
    this.#pollMs = pollMs;
    this.#log = log;
  }

  /**
   * Starts pg-boss in the store's database and creates the sync queue (idempotent).
   * @throws QueueError `postgres_required` for a SQLite URL; `queue_unavailable` when PostgreSQL
   *   cannot be reached or pg-boss cannot start; `queue_schema_mismatch` for another pg-boss schema version.
   */
  static async open(options: SyncQueueOptions): Promise<SyncQueue> {
    if (!isPostgresUrl(options.url)) {
      throw new QueueError('postgres_required', 'the sync queue needs a PostgreSQL store (pass --db postgres://… or set ROSTERSYNC_DATABASE_URL); a SQLite store runs its syncs in `rostersync serve` itself');
    }
    const leaseMs = Math.max(1000, Math.round(options.leaseTimeoutMs ?? DEFAULT_WORKER_LEASE_MS));
    const pollMs = Math.max(500, Math.round(options.pollingIntervalMs ?? 2000));
    const boss = new PgBoss({
      connectionString: options.url,
      schema: QUEUE_SCHEMA,
      application_name: 'rostersync-queue',
      max: 3,
      // Schedules are ours (the leader's scheduler), not pg-boss's cron.
      schedule: false,
      // Maintenance expires jobs whose lease ran out: run it a few times per lease (pg-boss runs
      // it once per interval across all processes).
      maintenanceIntervalSeconds: Math.max(1, Math.min(60, Math.round(leaseMs / 3000))),
    });
    const log = options.logger;
    // pg-boss reports background failures (maintenance, a dropped connection) as events; without a
    // listener an 'error' event would end the process.
    boss.on('error', (err) => log?.warn('queue background error', { code: errorCode(err) }));
    const pool = new pg.Pool({
      connectionString: options.url,
      max: 2,
      application_name: 'rostersync-queue-tx',
      connectionTimeoutMillis: 30_000,
      // Its transactions hold a connection's job lock: a vanished worker machine's must not hold it for hours.
      onConnect: (client) => askServerKeepalive(client, STORE_KEEPALIVE),
    });
    survivePoolErrors(pool);
    try {
      await boss.start();
      const version = Number(await boss.schemaVersion());
      if (version !== BOSS_SCHEMA_VERSION) {
        throw new QueueError('queue_schema_mismatch', `the ${QUEUE_SCHEMA} schema in ${storeLabel(options.url)} is pg-boss schema version ${version}; this build needs ${BOSS_SCHEMA_VERSION} (pg-boss 10)`);
      }
      if (!(await boss.getQueue(SYNC_QUEUE))) {
        // pg-boss 10's create_queue deadlocks when two processes create the same new queue at once
        // (each inserts the queue row, then adds a foreign key to the queue table): serialise it.
        const lock = await pool.connect();
        try {
          await lock.query('select pg_advisory_lock(hashtext($1), hashtext($2))', [LOCK_NAMESPACE, 'create-queue']);
          await boss.createQueue(SYNC_QUEUE, {
            name: SYNC_QUEUE,
            policy: 'stately',
            retryLimit: RETRY_LIMIT,
            retryDelay: 1,
            retryBackoff: true,
            expireInSeconds: Math.ceil(leaseMs / 1000),
          });
        } finally {
          await lock.query('select pg_advisory_unlock(hashtext($1), hashtext($2))', [LOCK_NAMESPACE, 'create-queue']).catch(() => undefined);
          lock.release();
        }
      }
    } catch (err) {
      await boss.stop({ graceful: false, wait: true }).catch(() => undefined);
      await pool.end().catch(() => undefined);
      if (err instanceof QueueError) throw err;
      throw new QueueError('queue_unavailable', `cannot start the sync queue in ${storeLabel(options.url)} (${errorCode(err)}); check that PostgreSQL runs and the user may create the ${QUEUE_SCHEMA} schema`, { cause: err });
    }
    return new SyncQueue(boss, pool, leaseMs, pollMs, log);
  }

  /** The lease this process keeps on the jobs it works, ms. */
  get leaseTimeoutMs(): number {
    return this.#leaseMs;
  }

  /**
   * Queues a sync of a connection, unless it already has a queued or active job (then that job is
   * returned as `existing`, whatever its mode: the queued one stands).
   */
  async enqueueSync(data: SyncJobData): Promise<EnqueueResult> {
    return this.#tx(async (db) => this.#enqueueIn(db, data));
  }

  /** The sync queue's jobs (newest first), optionally of one connection; archived jobs are not listed. */
  async jobs(filter: { connectionId?: string; states?: JobState[] } = {}): Promise<SyncJobInfo[]> {
    const where: string[] = ['name = $1'];
    const values: unknown[] = [SYNC_QUEUE];
    if (filter.connectionId !== undefined) {
      values.push(filter.connectionId);
      where.push(`singleton_key = $${values.length}`);
    }
    if (filter.states !== undefined) {
      values.push(filter.states);
      where.push(`state::text = any($${values.length}::text[])`);
    }
    const r = await this.#pool.query<{
      id: string;
      data: SyncJobData;
      state: JobState;
      retry_count: number;
      created_on: Date;
      started_on: Date | null;
      completed_on: Date | null;
      output: unknown;
    }>(`select id, data, state::text as state, retry_count, created_on, started_on, completed_on, output from ${QUEUE_SCHEMA}.job where ${where.join(' and ')} order by created_on desc, id`, values);
    return r.rows.map((row) => ({
      id: row.id,
      connectionId: row.data.connectionId,
      mode: row.data.mode,
      reason: row.data.reason,
      state: row.state,
      retryCount: row.retry_count,
      createdOn: row.created_on,
      ...(row.started_on ? { startedOn: row.started_on } : {}),
      ...(row.completed_on ? { completedOn: row.completed_on } : {}),
      ...(row.output !== null ? { output: row.output } : {}),
    }));
  }

  /** Runs pg-boss's expiry now (maintenance does it on its own every third of a lease; tests call this). */
  async expireNow(): Promise<void> {
    await this.#boss.expire();
  }

  /**
   * Starts `concurrency` worker slots. Each takes one job at a time, keeps its lease alive while the
   * handler runs, then completes, re-queues or fails it (see `JobOutcome`).
   */
  work(handler: JobHandler, options: { concurrency?: number } = {}): QueueWorker {
    const concurrency = Math.max(1, Math.floor(options.concurrency ?? 1));
    const stopping = new AbortController();
    let active = 0;
    const slot = async (): Promise<void> => {
      while (!stopping.signal.aborted) {
        let job: PgJob | undefined;
        try {
          // pg-boss's fetch swallows its query errors (returns no job): an unreachable database
          // just looks like an empty queue until it is back.
          const jobs = await this.#boss.fetch<SyncJobData>(SYNC_QUEUE, { batchSize: 1, includeMetadata: true });
          job = jobs[0];
        } catch (err) {
          this.#log?.warn('queue fetch failed', { code: errorCode(err) });
        }
        if (!job) {
          await sleep(this.#pollMs, stopping.signal);
          continue;
        }
        active++;
        try {
          await this.#runJob(job, handler);
        } finally {
          active--;
        }
      }
    };
    const slots = Array.from({ length: concurrency }, () => slot());
    const worker = {
      active: () => active,
      stop: async (): Promise<void> => {
        stopping.abort();
        await Promise.allSettled(slots);
        this.#workers.delete(worker);
      },
    };
    this.#workers.add(worker);
    return worker;
  }

  /** Stops the worker slots (waiting for their handlers), then pg-boss, then the pool (idempotent). */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await Promise.allSettled([...this.#workers].map((w) => w.stop()));
      // Nothing runs in pg-boss's own workers (ours fetch by hand), so graceful stop returns at once.
      await this.#boss.stop({ graceful: true, wait: true, timeout: 5000 }).catch((err: unknown) => this.#log?.warn('queue stop failed', { code: errorCode(err) }));
      await this.#pool.end().catch(() => undefined);
    })();
    return this.#closed;
  }

  async #runJob(pgJob: PgJob, handler: JobHandler): Promise<void> {
    const attempt = pgJob.retryCount;
    const lost = new AbortController();
    let lastKept = Date.now();
    const keep = async (): Promise<void> => {
      try {
        // Extends the attempt's expiry to a full lease from now (only while it is still ours).
        const r = await this.#pool.query(
          `update ${QUEUE_SCHEMA}.job set expire_in = (now() - started_on) + $3 * interval '1 millisecond'
            where name = $1 and id = $2 and state = 'active' and retry_count = $4`,
          [SYNC_QUEUE, pgJob.id, this.#leaseMs, attempt],
        );
        if (r.rowCount === 0) {
          if (!lost.signal.aborted) this.#log?.warn('sync job lease lost: another worker may take it; letting go of the run', { jobId: pgJob.id, connectionId: pgJob.data.connectionId });
          lost.abort();
          return;
        }
        lastKept = Date.now();
      } catch (err) {
        this.#log?.warn('sync job lease not renewed', { jobId: pgJob.id, code: errorCode(err) });
        if (Date.now() - lastKept >= this.#leaseMs && !lost.signal.aborted) {
          this.#log?.warn('sync job lease expired while the database was unreachable; letting go of the run', { jobId: pgJob.id, connectionId: pgJob.data.connectionId });
          lost.abort();
        }
      }
    };
    await keep();
    const timer = setInterval(() => void keep(), Math.max(1000, Math.floor(this.#leaseMs / 3)));
    let outcome: JobOutcome | undefined;
    let failure: unknown;
    try {
      outcome = lost.signal.aborted ? undefined : await handler({ id: pgJob.id, data: pgJob.data, attempt, lost: lost.signal });
    } catch (err) {
      failure = err;
    } finally {
      clearInterval(timer);
    }
    if (lost.signal.aborted) return; // not ours any more: its next holder finishes it
    try {
      await this.#finish(pgJob, attempt, outcome, failure);
    } catch (err) {
      // The attempt stays active until its lease runs out, then pg-boss retries it.
      this.#log?.warn('sync job could not be finished; it will be retried after its lease', { jobId: pgJob.id, code: errorCode(err) });
    }
  }

  /** Completes, re-queues or fails one attempt, if (and only if) it is still the active attempt we hold. */
  async #finish(pgJob: PgJob, attempt: number, outcome: JobOutcome | undefined, failure: unknown): Promise<void> {
    await this.#tx(async (db, client) => {
      const held = await client.query(
        `select 1 from ${QUEUE_SCHEMA}.job where name = $1 and id = $2 and state = 'active' and retry_count = $3 for update`,
        [SYNC_QUEUE, pgJob.id, attempt],
      );
      if (held.rowCount === 0) {
        this.#log?.warn('sync job was taken over before it finished; leaving it to its new holder', { jobId: pgJob.id });
        return;
      }
      if (outcome === undefined) {
        await this.#boss.fail(SYNC_QUEUE, pgJob.id, { code: errorCode(failure), message: errorMessage(failure) }, { db });
        return;
      }
      await this.#boss.complete(SYNC_QUEUE, pgJob.id, outcome.output ?? {}, { db });
      if (outcome.action === 'requeue') {
        const again = await this.#enqueueIn(db, { ...pgJob.data, reason: 'released' }, client);
        this.#log?.info('sync job handed back to the queue', { jobId: pgJob.id, connectionId: pgJob.data.connectionId, next: again.jobId ?? again.existing?.id });
      }
    });
  }

  async #enqueueIn(db: Db, data: SyncJobData, client?: pg.PoolClient): Promise<EnqueueResult> {
    const exec = client ? (text: string, values: unknown[]) => client.query(text, values) : (text: string, values: unknown[]) => db.executeSql(text, values);
    // Serialises enqueuers of one connection until commit, so "none queued" stays true until ours is.
    await exec(`select pg_advisory_xact_lock(hashtext($1), hashtext($2))`, [LOCK_NAMESPACE, `sync:${data.connectionId}`]);
    const existing = async (): Promise<EnqueueResult['existing']> => {
      const r = await exec(
        `select id, state::text as state, data->>'mode' as mode from ${QUEUE_SCHEMA}.job
          where name = $1 and singleton_key = $2 and state < 'completed' order by created_on limit 1`,
        [SYNC_QUEUE, data.connectionId],
      );
      const row = r.rows[0] as { id: string; state: JobState; mode: string } | undefined;
      return row ? { id: row.id, state: row.state, mode: row.mode } : undefined;
    };
    const found = await existing();
    if (found) return { existing: found };
    const id = await this.#boss.send(SYNC_QUEUE, { ...data }, {
      singletonKey: data.connectionId,
      expireInSeconds: Math.ceil(this.#leaseMs / 1000),
      retryLimit: RETRY_LIMIT,
      retryDelay: 1,
      retryBackoff: true,
      db,
    });
    if (id) return { jobId: id };
    // Only a concurrent insert that bypassed the lock gets here; report what is there.
    const after = await existing();
    return after ? { existing: after } : {};
  }

  async #tx<T>(fn: (db: Db, client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    const db: Db = { executeSql: (text, values) => client.query(text, values as unknown[]) };
    try {
      await client.query('begin');
      const out = await fn(db, client);
      await client.query('commit');
      return out;
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}
