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

/** Starts and follows API-started runs. */
export class RunTracker {
  readonly #store: Store;
  readonly #logger: SyncLogger | undefined;
  readonly #runs = new Map<number, Entry>();
  readonly #pollMs: number;
  #stopping = false;

  constructor(store: Store, options: { logger?: SyncLogger; pollMs?: number } = {}) {
    this.#store = store;
    this.#logger = options.logger;
    this.#pollMs = options.pollMs ?? 20;
  }

  /**
   * Starts a sync in the background and resolves with its run once the run row exists.
   * @throws what `syncConnection` throws before the run starts (`run_in_progress`, `invalid_config`,
   *   `not_held`, …), so the request can answer it.
   */
  async start(options: StartRunOptions): Promise<TrackedRun> {
    if (this.#stopping) throw Object.assign(new Error('the server is stopping'), { code: 'stopping' });
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
