/**
 * Syncs started over the admin API, run in the background of the server process: the request
 * answers with the run id at once, and `GET /api/v1/runs/:id/events` streams the progress.
 *
 * - Each run calls `syncConnection` (the service the CLI and the scheduler call) with a lease owner
 *   unique to it (`<host>:<pid>:api-<random>`), so the tracker finds its own run row as soon as the
 *   sync inserted it, whatever else (the scheduler, another process) runs meanwhile. The database's
 *   one-running-run-per-connection rule still decides who runs: a second sync of a busy connection
 *   fails with `run_in_progress` before the request is answered.
 * - Progress (`SyncProgress` per collection) is kept per run while it runs, so a late subscriber
 *   first gets the latest state of every collection, then live updates, then `done`.
 * - `stop()` (server shutdown) aborts every run (an aborted run applies nothing) and waits for them.
 * - With a `queue` (an API-only node, `serve --no-worker` on PostgreSQL) nothing runs here: the sync
 *   is queued for the workers, and `start` resolves once a worker has created its run, found by the
 *   job id in the run's lease owner (`jobLeaseOwner`). Such a run is not tracked: its events stream
 *   polls the run record (as for scheduled runs). No worker within `queueStartMs`: `no_worker` (503),
 *   and the job stays queued for the next worker.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { CollectionName } from '../../oneroster/types.ts';
import type { StoredAccess } from '../../services/stored-connection.ts';
import { syncConnection } from '../../services/sync-service.ts';
import type { Store } from '../../store/store.ts';
import type { SyncLogger, SyncProgress } from '../../sync/full-sync.ts';
import { errorCode, errorMessage } from '../../error-info.ts';
import type { SyncQueue } from '../../services/queue.ts';
import { StoreError } from '../../store/errors.ts';
import { AdminError } from './admin-errors.ts';

export interface StartRunOptions {
  target: StoredAccess;
  mode: 'full' | 'delta';
  dryRun?: boolean;
  /** Approve this pending hold (the re-run applies it). */
  approveRun?: number;
  approvedBy?: string;
}

/** What a run's subscribers receive. */
export type RunEvent =
  | { type: 'progress'; progress: SyncProgress }
  | { type: 'done'; status: string; error?: { code: string; message: string } };

/** One run started by this process. */
export interface TrackedRun {
  runId: number;
  connectionId: string;
  tenantId: string;
  /** Latest progress per collection. */
  progress: Map<CollectionName, SyncProgress>;
  /** Set when the sync ended. */
  outcome?: Extract<RunEvent, { type: 'done' }>;
  /** Settles when the sync ended (never rejects). */
  finished: Promise<void>;
}

interface Entry extends TrackedRun {
  emitter: EventEmitter;
  abort: AbortController;
}

/** How long a finished run stays in memory for late subscribers (the run record has it all too). */
const KEEP_FINISHED_MS = 60_000;

/** The part of the sync queue an API-only node uses (services/queue.ts `SyncQueue`). */
export type RunQueue = Pick<SyncQueue, 'enqueueSync' | 'jobs'>;

export interface RunTrackerOptions {
  logger?: SyncLogger;
  pollMs?: number;
  /** Queue syncs for the workers instead of running them here (see the module comment). */
  queue?: RunQueue;
  /** How long `start` waits for a worker to start a queued sync. Default 60 s. */
  queueStartMs?: number;
}

/** Starts and follows API-started runs. */
export class RunTracker {
  readonly #store: Store;
  readonly #logger: SyncLogger | undefined;
  readonly #runs = new Map<number, Entry>();
  readonly #pollMs: number;
  readonly #queue: RunQueue | undefined;
  readonly #queueStartMs: number;
  #stopping = false;

  constructor(store: Store, options: RunTrackerOptions = {}) {
    this.#store = store;
    this.#logger = options.logger;
    this.#pollMs = options.pollMs ?? 20;
    this.#queue = options.queue;
    this.#queueStartMs = options.queueStartMs ?? 60_000;
  }

  /** Syncs go to the workers' queue (an API-only node). */
  get queued(): boolean {
    return this.#queue !== undefined;
  }

  /** Queues the sync and waits for a worker to create its run (see the module comment). */
  async #startQueued(queue: RunQueue, options: StartRunOptions): Promise<TrackedRun> {
    const { target } = options;
    const connectionId = target.connectionId;
    const queued = await queue.enqueueSync({
      connectionId,
      mode: options.mode,
      reason: 'manual',
      ...(options.dryRun ? { dryRun: true } : {}),
      ...(options.approveRun !== undefined ? { approveRun: options.approveRun, approvedBy: options.approvedBy ?? 'unknown' } : {}),
    });
    if (queued.jobId === undefined) {
      const job = queued.existing;
      throw new StoreError('run_in_progress', `connection ${connectionId} already has a sync ${job?.state === 'active' ? 'running' : 'queued'}${job ? ` (job ${job.id}, ${job.mode})` : ''}; wait for it to end`);
    }
    const jobId = queued.jobId;
    const suffix = `:job-${jobId}`;
    const deadline = Date.now() + this.#queueStartMs;
    const poll = Math.max(this.#pollMs, 100);
    for (;;) {
      const mine = (await this.#store.runs.list({ connectionId, limit: 5 })).find((r) => r.leaseOwner?.endsWith(suffix) === true);
      if (mine) {
        this.#logger?.info('API-started sync queued and started by a worker', { runId: mine.id, connectionId, jobId });
        return { runId: mine.id, connectionId, tenantId: target.tenantId, progress: new Map(), finished: Promise.resolve() };
      }
      const job = (await queue.jobs({ connectionId })).find((j) => j.id === jobId);
      if (job === undefined || job.state === 'completed' || job.state === 'failed' || job.state === 'cancelled') {
        // Ended without a run of its own: say why (the worker's output names it).
        const out = (job?.output ?? {}) as { skipped?: string; code?: string; message?: string };
        const why = out.skipped ?? out.code ?? job?.state ?? 'archived';
        if (why === 'run_in_progress') throw new StoreError('run_in_progress', `connection ${connectionId} is syncing in another process; wait for it to end`);
        if (why === 'not_found') throw new StoreError('not_found', `connection ${connectionId} does not exist`);
        throw new AdminError('no_worker', `the queued sync of connection ${connectionId} (job ${jobId}) ended without a run (${why}); see the worker's log`);
      }
      if (Date.now() >= deadline && job.state !== 'active') {
        throw new AdminError('no_worker', `no worker started the sync of connection ${connectionId} within ${Math.round(this.#queueStartMs / 1000)} s; it stays queued (job ${jobId}) and runs when a worker is free. Start one with \`rostersync worker\`.`);
      }
      await new Promise((r) => setTimeout(r, poll));
    }
  }

  /**
   * Starts a sync in the background and resolves with its run once the run row exists.
   * @throws what `syncConnection` throws before the run starts (`run_in_progress`, `invalid_config`,
   *   `not_held`, …), so the request can answer it.
   */
  async start(options: StartRunOptions): Promise<TrackedRun> {
    if (this.#stopping) throw Object.assign(new Error('the server is stopping'), { code: 'stopping' });
    if (this.#queue) return this.#startQueued(this.#queue, options);
    const { target } = options;
    const leaseOwner = `${hostname()}:${process.pid}:api-${randomBytes(4).toString('hex')}`;
    const abort = new AbortController();
    const emitter = new EventEmitter();
    // Progress arrives before the run id is known only in theory (the run row is inserted first); buffer it anyway.
    const early: SyncProgress[] = [];
    let entry: Entry | undefined;
    const onProgress = (p: SyncProgress): void => {
      if (!entry) {
        early.push(p);
        return;
      }
      entry.progress.set(p.collection, p);
      emitter.emit('event', { type: 'progress', progress: p } satisfies RunEvent);
    };
    const sync = syncConnection({
      store: this.#store,
      access: target.access,
      connectionId: target.connectionId,
      optional: target.optional,
      toggles: target.toggles,
      mode: options.mode,
      ...(options.dryRun ? { dryRun: true } : {}),
      ...(options.approveRun !== undefined ? { approveRun: options.approveRun, approvedBy: options.approvedBy ?? 'unknown' } : {}),
      onProgress,
      signal: abort.signal,
      leaseOwner,
      ...(this.#logger ? { logger: this.#logger } : {}),
    });
    // Which comes first: the run row (found by our lease owner) or the end of the sync.
    let settled: { ok: true; runId: number; status: string } | { ok: false; err: unknown } | undefined;
    const ended = sync.then(
      (r) => (settled = { ok: true, runId: r.result.runId, status: r.result.status }),
      (err: unknown) => (settled = { ok: false, err }),
    );
    let runId: number | undefined;
    while (runId === undefined) {
      if (settled !== undefined) {
        if (!settled.ok) throw settled.err;
        runId = settled.runId;
        break;
      }
      const running = await this.#store.runs.findRunning(target.connectionId);
      if (running?.leaseOwner === leaseOwner) runId = running.id;
      else await Promise.race([ended, new Promise((r) => setTimeout(r, this.#pollMs))]);
    }
    let release!: () => void;
    const finished = new Promise<void>((r) => (release = r));
    entry = { runId, connectionId: target.connectionId, tenantId: target.tenantId, progress: new Map(), finished, emitter, abort };
    for (const p of early) entry.progress.set(p.collection, p);
    this.#runs.set(runId, entry);
    const e = entry;
    void ended.then(() => {
      const s = settled!;
      e.outcome = s.ok
        ? { type: 'done', status: s.status }
        : { type: 'done', status: 'failed', error: { code: errorCode(s.err), message: errorMessage(s.err) } };
      if (!s.ok) this.#logger?.warn('API-started sync failed', { runId: e.runId, connectionId: e.connectionId, code: errorCode(s.err) });
      emitter.emit('event', e.outcome);
      release();
      setTimeout(() => {
        if (this.#runs.get(e.runId) === e) this.#runs.delete(e.runId);
      }, KEEP_FINISHED_MS).unref();
    });
    return entry;
  }

  /** A run this process started (still running, or finished in the last minute). */
  get(runId: number): TrackedRun | undefined {
    return this.#runs.get(runId);
  }

  /**
   * Follows a tracked run: `listener` gets every event after this call (the caller reads
   * `progress`/`outcome` for what happened before). Returns the unsubscribe function.
   */
  subscribe(runId: number, listener: (e: RunEvent) => void): () => void {
    const e = this.#runs.get(runId);
    if (!e) return () => undefined;
    e.emitter.on('event', listener);
    return () => e.emitter.off('event', listener);
  }

  /** Runs still going. */
  active(): TrackedRun[] {
    return [...this.#runs.values()].filter((e) => e.outcome === undefined);
  }

  /** Aborts every running sync and waits for them (server shutdown). */
  async stop(): Promise<void> {
    this.#stopping = true;
    const running = this.active() as Entry[];
    for (const e of running) e.abort.abort(new Error('the server is stopping'));
    await Promise.all(running.map((e) => e.finished));
  }
}
