/**
 * The sync worker (issue 8, "Workers"): takes sync jobs from the queue and runs `syncConnection`
 * for the stored connection. `rostersync worker` runs one; `rostersync serve` on PostgreSQL runs
 * one in-process unless `--no-worker`.
 *
 * A job of a connection whose previous run is still `running`:
 * - the run's process is dead (on this host: its pid is gone; elsewhere: its heartbeat is older
 *   than this worker's lease): the run is failed as `lease_expired`, and `syncConnection` resumes
 *   it (same run id, staged pages not fetched again). This is how a killed worker's job ends: the
 *   queue hands it to another worker once its lease ran out, and that worker lands here;
 * - the run is alive (a manual `rostersync sync`, or a worker that lost its job only for a moment):
 *   the worker waits up to a lease for it to end or go stale, then gives up on this job
 *   (`skipped: run_in_progress`); nothing is ever run twice at once (the runs table allows one
 *   running run per connection).
 *
 * Shutdown (`release()`): running syncs stop after the page in hand and stay resumable (run
 * status `failed`, code `released`); each such job is handed back to the queue, so the next
 * worker resumes the run.
 */
import { hostname } from 'node:os';
import { sleepUntil as sleep } from '../source/retry.ts';
import { isSourceError } from '../source/errors.ts';
import { isStoreError } from '../store/errors.ts';
import type { Store } from '../store/store.ts';
import type { SyncLogger } from '../sync/full-sync.ts';
import type { JobOutcome, QueueJob, QueueWorker, SyncQueue } from './queue.ts';
import { isStoredConnectionError, storedAccess } from './stored-connection.ts';
import { expireDeadRuns, syncConnection } from './sync-service.ts';

/** How often a job waiting for a previous run checks it again. */
const WAIT_POLL_MS = 1000;

export interface SyncWorkerOptions {
  store: Store;
  queue: Pick<SyncQueue, 'work' | 'leaseTimeoutMs'>;
  /** Syncs at once in this process. Default 1. */
  concurrency?: number;
  /** Ids, codes and counts only. */
  logger?: SyncLogger;
}

/** A running worker. */
export interface SyncWorker {
  /** Jobs in progress. */
  active(): number;
  /**
   * Graceful stop: tells running syncs to let go after the page in hand (their jobs go back to
   * the queue), stops taking jobs, and resolves when every handler returned.
   */
  stop(): Promise<void>;
}

/**
 * Waits until the connection has no `running` run, failing it first when its process is dead
 * (heartbeat older than `leaseTimeoutMs`, or a dead pid on this host). Returns false when a live
 * run was still going after a lease of waiting, or when `signal` fired.
 */
export async function awaitPreviousRun(
  store: Store,
  connectionId: string,
  options: { leaseTimeoutMs: number; signal: AbortSignal; pollMs?: number; logger?: SyncLogger },
): Promise<boolean> {
  // A dead run's heartbeat is at most a lease old when its job comes back; a live one beats every
  // 5 s. So a lease plus a few heartbeats tells them apart.
  const deadline = Date.now() + options.leaseTimeoutMs + 10_000;
  for (;;) {
    const expired = await expireDeadRuns(store, connectionId, options.leaseTimeoutMs);
    if (expired.length > 0) options.logger?.info('failed a dead run; its sync will be resumed', { connectionId, runIds: expired });
    const running = await store.runs.findRunning(connectionId);
    if (!running) return true;
    if (options.signal.aborted || Date.now() >= deadline) return false;
    await sleep(options.pollMs ?? WAIT_POLL_MS, options.signal);
  }
}

/** The lease owner of the run a job starts: `<host>:<pid>:job-<job id>`. */
export function jobLeaseOwner(jobId: string): string {
  return `${hostname()}:${process.pid}:job-${jobId}`;
}

/** Runs one sync job (see the module comment). Throws only for unexpected failures (the queue retries those). */
export async function runSyncJob(
  store: Store,
  job: QueueJob,
  options: { leaseTimeoutMs: number; shutdown: AbortSignal; logger?: SyncLogger },
): Promise<JobOutcome> {
  const log = options.logger;
  const { connectionId, mode } = job.data;
  // Let go of the run on shutdown, and at once when the job is no longer ours.
  const release = AbortSignal.any([options.shutdown, job.lost]);
  const connection = await store.connections.get(connectionId);
  if (!connection) {
    log?.warn('sync job skipped: the connection no longer exists', { jobId: job.id, connectionId });
    return { action: 'complete', output: { skipped: 'not_found' } };
  }
  const free = await awaitPreviousRun(store, connectionId, { leaseTimeoutMs: options.leaseTimeoutMs, signal: release, ...(log ? { logger: log } : {}) });
  if (release.aborted) return { action: 'requeue', output: { released: true } };
  if (!free) {
    log?.info('sync job skipped: the connection is syncing in a live process', { jobId: job.id, connectionId });
    return { action: 'complete', output: { skipped: 'run_in_progress' } };
  }
  let target;
  try {
    target = await storedAccess(store, connection);
  } catch (err) {
    if (isStoredConnectionError(err) || isStoreError(err, 'secret_key_missing', 'secret_unreadable', 'not_found')) {
      // An admin must act (store the secret, configure the key): retrying would fail the same way.
      log?.warn('sync job failed: the connection cannot be read', { jobId: job.id, connectionId, code: err.code });
      return { action: 'complete', output: { status: 'failed', code: err.code } };
    }
    throw err;
  }
  const started = Date.now();
  log?.info('sync job started', { jobId: job.id, connectionId, mode, attempt: job.attempt });
  try {
    const { result } = await syncConnection({
      store,
      access: target.access,
      connectionId: target.connectionId,
      optional: target.optional,
      toggles: target.toggles,
      mode,
      release,
      // The job's id in the run's lease owner: an API-only node that queued the job finds its run by it.
      leaseOwner: jobLeaseOwner(job.id),
      ...(job.data.dryRun === true ? { dryRun: true } : {}),
      ...(job.data.approveRun !== undefined ? { approveRun: job.data.approveRun, approvedBy: job.data.approvedBy ?? 'unknown' } : {}),
      ...(log ? { logger: log } : {}),
    });
    const output = { runId: result.runId, status: result.status, resumes: result.resumes, ...(result.error ? { code: result.error.code } : {}) };
    const meta = { jobId: job.id, connectionId, ...output, durationMs: Date.now() - started };
    if (result.error?.code === 'released') {
      log?.info('sync job released: the run stays resumable', meta);
      return { action: 'requeue', output };
    }
    if (result.status === 'failed') log?.warn('sync job finished', meta);
    else log?.info('sync job finished', meta);
    // A failed run is not retried by the queue: the schedule retries it at its next slot.
    return { action: 'complete', output };
  } catch (err) {
    if (isStoreError(err, 'run_in_progress')) {
      log?.info('sync job skipped: another process started a run of the connection', { jobId: job.id, connectionId });
      return { action: 'complete', output: { skipped: 'run_in_progress' } };
    }
    if (isSourceError(err)) {
      log?.warn('sync job failed', { jobId: job.id, connectionId, code: err.code });
      return { action: 'complete', output: { status: 'failed', code: err.code } };
    }
    throw err;
  }
}

/**
 * Creates the staging tables before the first job. Several workers starting on a new database race
 * to create them, and PostgreSQL's `CREATE TABLE IF NOT EXISTS` is not safe against a concurrent
 * create (the loser fails with 42P07/42710/23505): retried until they exist.
 */
export async function ensureStagingTables(store: Store): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await store.staging.ensureTables();
      return;
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      if (attempt >= 5 || !['42P07', '42710', '23505'].includes(String(code))) throw err;
      await new Promise((r) => setTimeout(r, 100 * attempt + Math.random() * 200));
    }
  }
}

/** Starts taking sync jobs from `queue` (see the module comment). */
export function startSyncWorker(options: SyncWorkerOptions): SyncWorker {
  const shutdown = new AbortController();
  const leaseTimeoutMs = options.queue.leaseTimeoutMs;
  const worker: QueueWorker = options.queue.work(
    (job) => runSyncJob(options.store, job, { leaseTimeoutMs, shutdown: shutdown.signal, ...(options.logger ? { logger: options.logger } : {}) }),
    { concurrency: options.concurrency ?? 1 },
  );
  options.logger?.info('worker started', { concurrency: options.concurrency ?? 1, leaseTimeoutMs });
  return {
    active: () => worker.active(),
    stop: async () => {
      shutdown.abort();
      await worker.stop();
      options.logger?.info('worker stopped', {});
    },
  };
}
