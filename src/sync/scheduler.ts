/**
 * The scheduler (issue 4, "Scheduler"): `rostersync serve` runs the schedules of every stored
 * connection of every tenant.
 *
 * Two parts:
 * - `decideDue`, pure and table-tested: from a connection's schedule, its past runs and `now`,
 *   whether a full or a delta sync is due, and when the next ones fire.
 * - `Scheduler`, the loop: scans the connections, launches due syncs through an injected
 *   `SchedulerJobs` port (the composition root wires `syncConnection`, see
 *   `services/scheduler-service.ts`), at most `concurrency` at once and one per connection, runs
 *   the retention purge of each connection once a day, and stops gracefully. Clock and timers are
 *   injected so tests drive it without waiting.
 *
 * The runs table is the scheduler's memory: a restart loses nothing, and syncs started by hand
 * (`rostersync sync`) count as well. Several `serve` processes on one database do not double-run a
 * connection: the database allows one running run per connection (`run_in_progress`).
 */
import type { Cron } from 'croner';
import type { Connection } from '../store/connection-repository.ts';
import { isStoreError } from '../store/errors.ts';
import type { PurgeResult } from '../store/retention.ts';
import type { Store } from '../store/store.ts';
import type { SyncLogger } from './full-sync.ts';
import { compileCron, scheduleOf, type ConnectionSchedule } from './schedule.ts';
import { errorCode, errorMessage } from '../error-info.ts';

export type SyncMode = 'full' | 'delta';

/** What `decideDue` needs of one past run. Dry runs are not passed (they sync nothing). */
export interface PastRun {
  mode: string;
  /** `running` | `succeeded` | `partial` | `failed` | `held`. */
  status: string;
  startedAt: string | Date;
  /** A held run waiting for `approve`/`discard`. */
  holdPending?: boolean;
}

/** Why `decideDue` decided as it did (for logs, `connection show` and tests). */
export type DueReason =
  /** Schedules are off for this connection. */
  | 'disabled'
  /** A run of the connection is in progress. */
  | 'running'
  /** A held run waits for approval: nothing else runs before an admin decides. */
  | 'held'
  /** Never fully synced: a full sync at once. */
  | 'first-full'
  /** The first full sync failed: tried again at the next slot of either schedule. */
  | 'first-full-retry'
  /** Waiting for the next slot to retry the first full sync. */
  | 'first-full-wait'
  /** The full schedule fired since the last full sync. */
  | 'full-slot'
  /** The scheduled full sync failed: tried again at the next slot of either schedule. */
  | 'full-retry'
  /** The delta schedule fired since the last sync. */
  | 'delta-slot'
  /** Nothing fired since the last sync. */
  | 'idle';

export interface DueDecision {
  due: SyncMode | undefined;
  reason: DueReason;
  /** The next fire of the full schedule after `now` (undefined when schedules are off or it never fires again). */
  nextFull: Date | undefined;
  /** The next fire of the delta schedule after `now`. */
  nextDelta: Date | undefined;
}

/** Run statuses after which a full sync counts as done: `partial` applied every complete collection. */
const FULL_DONE = new Set(['succeeded', 'partial']);

/** The latest fire of `cron` at or before `now` (croner's `previousRuns` excludes an exact match). */
function lastFire(cron: Cron, now: Date): number {
  const t = now.getTime();
  const prev = cron.previousRuns(2, new Date(t + 1000)).find((d) => d.getTime() <= t);
  return prev ? prev.getTime() : -Infinity;
}

/**
 * Decides what is due for one connection. Rules:
 * - schedules off, a running run, or a pending hold: nothing is due;
 * - a delta is never due before the connection's first full sync that applied (`succeeded` or
 *   `partial`); until then a full is due at once, and after a failed attempt again at the next
 *   slot of either schedule (never in a tight loop);
 * - a full is due when the full schedule fired since the last full sync that applied and no full
 *   was attempted since the latest slot of either schedule (so a failed full is retried at the
 *   next slot, delta slots included);
 * - a delta is due when the delta schedule fired since the start of the last sync of any mode (a
 *   full sync covers a delta);
 * - full wins when both are due;
 * - a fire missed while the process was down is caught up once: only the latest slot counts, and
 *   one run started after it satisfies it, however many slots were missed.
 * Cron expressions are read in the schedule's time zone (croner handles DST).
 * @throws Error from croner for an unusable expression or time zone (validated when stored).
 */
export function decideDue(input: { schedule: ConnectionSchedule; runs: readonly PastRun[]; now: Date }): DueDecision {
  const { schedule, runs, now } = input;
  if (!schedule.enabled) return { due: undefined, reason: 'disabled', nextFull: undefined, nextDelta: undefined };
  const full = compileCron(schedule.full, schedule.timezone);
  const delta = compileCron(schedule.delta, schedule.timezone);
  const next = { nextFull: full.nextRun(now) ?? undefined, nextDelta: delta.nextRun(now) ?? undefined };
  const none = (reason: DueReason): DueDecision => ({ due: undefined, reason, ...next });
  const due = (mode: SyncMode, reason: DueReason): DueDecision => ({ due: mode, reason, ...next });

  if (runs.some((r) => r.status === 'running')) return none('running');
  if (runs.some((r) => r.holdPending === true)) return none('held');
  const syncs = runs.filter((r) => r.mode === 'full' || r.mode === 'delta');
  const latest = (pred: (r: PastRun) => boolean): number =>
    syncs.reduce((m, r) => (pred(r) ? Math.max(m, new Date(r.startedAt).getTime()) : m), -Infinity);
  const lastFullAttempt = latest((r) => r.mode === 'full');
  const lastFullDone = latest((r) => r.mode === 'full' && FULL_DONE.has(r.status));
  const lastAttempt = latest(() => true);
  const fullFire = lastFire(full, now);
  const deltaFire = lastFire(delta, now);
  const anyFire = Math.max(fullFire, deltaFire);

  if (lastFullDone === -Infinity) {
    if (lastFullAttempt === -Infinity) return due('full', 'first-full');
    return lastFullAttempt < anyFire ? due('full', 'first-full-retry') : none('first-full-wait');
  }
  if (fullFire > lastFullDone && lastFullAttempt < anyFire) return due('full', lastFullAttempt < fullFire ? 'full-slot' : 'full-retry');
  if (deltaFire > lastAttempt) return due('delta', 'delta-slot');
  return none('idle');
}

/**
 * What `decideDue` needs of the runs table, compact: per connection, the latest start per (mode,
 * status), with pending holds flagged. Dry runs are left out (they sync nothing).
 */
export async function loadPastRuns(store: Store, connectionId?: string): Promise<Map<string, PastRun[]>> {
  let q = store.db
    .selectFrom('runs')
    .select((eb) => [
      'connection_id',
      'mode',
      'status',
      eb.fn.max('started_at').as('started_at'),
      eb.fn.max(eb.case().when('hold_state', '=', 'pending').then(1).else(0).end()).as('hold_pending'),
    ])
    .where('dry_run', '=', 0);
  if (connectionId !== undefined) q = q.where('connection_id', '=', connectionId);
  const rows = await q.groupBy(['connection_id', 'mode', 'status']).execute();
  const out = new Map<string, PastRun[]>();
  for (const r of rows) {
    const list = out.get(r.connection_id) ?? [];
    list.push({ mode: r.mode, status: r.status, startedAt: String(r.started_at), holdPending: Number(r.hold_pending) === 1 });
    out.set(r.connection_id, list);
  }
  return out;
}

/** The side effects the scheduler needs (wired to `syncConnection` and `purgeExpired` by the composition root). */
export interface SchedulerJobs {
  /** Runs one sync of a stored connection; resolves with the run's id and final status. */
  sync(job: { connection: Connection; mode: SyncMode; signal: AbortSignal }): Promise<{ runId?: number; status: string }>;
  /** Fails the connection's `running` run when its process is gone (so a crash does not block the schedule). */
  expireDead(connectionId: string): Promise<number[]>;
  /** Hard-deletes the connection's tombstones and change rows past its retention. */
  purge(connection: Connection, now: Date): Promise<PurgeResult>;
}

/** Time and timers (a fake in tests). */
export interface SchedulerClock {
  now(): Date;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const SYSTEM_CLOCK: SchedulerClock = {
  now: () => new Date(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface SchedulerOptions {
  store: Store;
  jobs: SchedulerJobs;
  /** Syncs at once across all connections (one per connection in any case). Default 2. */
  concurrency?: number;
  clock?: SchedulerClock;
  /** Ids and counts only (never names, emails or secrets). */
  logger?: SyncLogger;
  /** Longest sleep between scans, so connections added by another process are picked up. Default 60 s. */
  maxSleepMs?: number;
  /** How often each connection's retention purge runs. Default 24 h. */
  purgeEveryMs?: number;
}

export interface ActiveSync {
  connectionId: string;
  mode: SyncMode;
  since: string;
}

/** What `/healthz` and `connection show` report. */
export interface SchedulerStatus {
  state: 'idle' | 'running' | 'stopping' | 'stopped';
  concurrency: number;
  active: ActiveSync[];
  lastScanAt?: string;
  /** False when the last scan itself failed (e.g. the database was unreachable). */
  lastScanOk?: boolean;
  nextWakeAt?: string;
}

/** What one scan did (for tests and logs). */
export interface ScanReport {
  launched: Array<{ connectionId: string; mode: SyncMode; reason: DueReason }>;
  /** Due but not launched because `concurrency` syncs were running. */
  waiting: string[];
  purged: string[];
  /** The earliest next fire over all connections, if any. */
  nextFire?: Date;
}

interface Running {
  mode: SyncMode;
  since: Date;
  abort: AbortController;
  done: Promise<void>;
}

/**
 * Runs the schedules of every stored connection. `start()` scans at once and then at each next
 * fire (at most `maxSleepMs` apart); `scan()` does one pass (tests call it directly); `stop()`
 * aborts running syncs and waits for them.
 */
export class Scheduler {
  readonly #store: Store;
  readonly #jobs: SchedulerJobs;
  readonly #clock: SchedulerClock;
  readonly #log: SyncLogger | undefined;
  readonly #concurrency: number;
  readonly #maxSleepMs: number;
  readonly #purgeEveryMs: number;
  readonly #active = new Map<string, Running>();
  /** Launches this process made, by connection: covers failures that left no run row (e.g. a missing secret). */
  readonly #launched = new Map<string, PastRun>();
  readonly #lastPurge = new Map<string, number>();
  /** Connections already warned about (a skipped connection is logged once, not every scan). */
  readonly #warned = new Map<string, string>();
  #state: SchedulerStatus['state'] = 'idle';
  #timer: unknown;
  #scanning: Promise<ScanReport> | undefined;
  #lastScanAt: Date | undefined;
  #lastScanOk: boolean | undefined;
  #nextWakeAt: Date | undefined;

  constructor(options: SchedulerOptions) {
    this.#store = options.store;
    this.#jobs = options.jobs;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#log = options.logger;
    this.#concurrency = Math.max(1, Math.floor(options.concurrency ?? 2));
    this.#maxSleepMs = options.maxSleepMs ?? 60_000;
    this.#purgeEveryMs = options.purgeEveryMs ?? 86_400_000;
  }

  /** Starts the loop (idempotent). */
  start(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'running';
    this.#log?.info('scheduler started', { concurrency: this.#concurrency });
    this.#kick();
  }

  /** The scheduler's state, for health checks. */
  status(): SchedulerStatus {
    const s: SchedulerStatus = {
      state: this.#state,
      concurrency: this.#concurrency,
      active: [...this.#active].map(([connectionId, r]) => ({ connectionId, mode: r.mode, since: r.since.toISOString() })),
    };
    if (this.#lastScanAt) s.lastScanAt = this.#lastScanAt.toISOString();
    if (this.#lastScanOk !== undefined) s.lastScanOk = this.#lastScanOk;
    if (this.#nextWakeAt) s.nextWakeAt = this.#nextWakeAt.toISOString();
    return s;
  }

  /**
   * One pass over all connections: launches what is due (up to the concurrency), purges what is
   * past retention. Passes never overlap: a call during a pass waits for it, then makes its own.
   */
  async scan(): Promise<ScanReport> {
    while (this.#scanning) await this.#scanning.catch(() => undefined);
    this.#scanning = this.#scanOnce();
    try {
      return await this.#scanning;
    } finally {
      this.#scanning = undefined;
    }
  }

  /** Resolves when no sync launched by this scheduler is running. */
  async whenIdle(): Promise<void> {
    while (this.#active.size > 0) await Promise.allSettled([...this.#active.values()].map((r) => r.done));
  }

  /** Stops scanning, aborts running syncs (they apply nothing) and waits for them to end. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopping';
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const [connectionId, r] of this.#active) {
      this.#log?.info('scheduler stopping: aborting sync', { connectionId, mode: r.mode });
      r.abort.abort();
    }
    await this.#scanning?.catch(() => undefined);
    await this.whenIdle();
    this.#state = 'stopped';
    this.#log?.info('scheduler stopped', {});
  }

  /** Scans soon (after a sync ended, or at start), then sleeps until the next fire. */
  #kick(): void {
    if (this.#state !== 'running') return;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = this.#clock.setTimeout(() => void this.#tick(), 0);
  }

  async #tick(): Promise<void> {
    this.#timer = undefined;
    if (this.#state !== 'running') return;
    let report: ScanReport | undefined;
    try {
      report = await this.scan();
    } catch (err) {
      this.#log?.warn('scheduler scan failed', { code: errorCode(err), message: errorMessage(err) });
    }
    if (this.#state !== 'running' || this.#timer !== undefined) return;
    const now = this.#clock.now().getTime();
    // Wake at the next fire (a little after, so the fire is in the past), at most maxSleepMs away.
    let wake = now + this.#maxSleepMs;
    if (report?.nextFire) wake = Math.min(wake, report.nextFire.getTime() + 10);
    this.#nextWakeAt = new Date(wake);
    this.#timer = this.#clock.setTimeout(() => void this.#tick(), Math.max(0, wake - now));
  }

  async #scanOnce(): Promise<ScanReport> {
    const now = this.#clock.now();
    const report: ScanReport = { launched: [], waiting: [], purged: [] };
    this.#lastScanAt = now;
    try {
      const connections = await this.#store.connections.list();
      const past = await loadPastRuns(this.#store);
      const due: Array<{ c: Connection; mode: SyncMode; reason: DueReason }> = [];
      for (const [i, c] of connections.entries()) {
        if (this.#state === 'stopping' || this.#state === 'stopped') break;
        // A decision costs ~0.7 ms (cron arithmetic): let HTTP requests in between on large stores.
        if (i > 0 && i % 50 === 0) await new Promise((r) => setImmediate(r));
        if (!this.#active.has(c.id)) await this.#purgeIfDue(c, now, report);
        const decision = await this.#decide(c, past.get(c.id) ?? [], now);
        if (!decision) continue;
        for (const t of [decision.nextFull, decision.nextDelta]) {
          if (t && (!report.nextFire || t < report.nextFire)) report.nextFire = t;
        }
        if (decision.due === undefined) continue;
        if (c.authKind !== 'none' && !c.hasSecret) {
          this.#warnOnce(c.id, 'secret_missing', 'scheduled sync skipped: the connection has no stored secret', { connectionId: c.id });
          continue;
        }
        due.push({ c, mode: decision.due, reason: decision.reason });
      }
      // Full syncs first: they are rarer, longer, and reconcile what deltas cannot see.
      due.sort((a, b) => (a.mode === b.mode ? 0 : a.mode === 'full' ? -1 : 1));
      for (const d of due) {
        if (this.#state === 'stopping' || this.#state === 'stopped') break;
        if (this.#active.size >= this.#concurrency) {
          report.waiting.push(d.c.id);
          continue;
        }
        this.#launch(d.c, d.mode, d.reason, now);
        report.launched.push({ connectionId: d.c.id, mode: d.mode, reason: d.reason });
      }
      this.#lastScanOk = true;
      return report;
    } catch (err) {
      this.#lastScanOk = false;
      throw err;
    }
  }

  async #decide(c: Connection, fromDb: PastRun[], now: Date): Promise<DueDecision | undefined> {
    let runs = fromDb;
    const mine = this.#launched.get(c.id);
    if (mine) runs = [...runs, mine];
    // A running run this process did not start may belong to a dead process: reap it first.
    if (!this.#active.has(c.id) && fromDb.some((r) => r.status === 'running')) {
      const failed = await this.#jobs.expireDead(c.id).catch((err: unknown) => {
        this.#log?.warn('dead-run check failed', { connectionId: c.id, code: errorCode(err), message: errorMessage(err) });
        return [] as number[];
      });
      if (failed.length > 0) {
        this.#log?.warn('failed a dead run before scheduling', { connectionId: c.id, runIds: failed });
        runs = runs.map((r) => (r.status === 'running' ? { ...r, status: 'failed' } : r));
      }
    }
    try {
      const decision = decideDue({ schedule: scheduleOf(c), runs, now });
      this.#warned.delete(`${c.id}:schedule`);
      return decision;
    } catch (err) {
      this.#warnOnce(`${c.id}:schedule`, errorMessage(err), 'schedule unusable; fix it with `rostersync connection schedule`', { connectionId: c.id, message: errorMessage(err) });
      return undefined;
    }
  }

  async #purgeIfDue(c: Connection, now: Date, report: ScanReport): Promise<void> {
    const last = this.#lastPurge.get(c.id);
    if (last !== undefined && now.getTime() - last < this.#purgeEveryMs) return;
    this.#lastPurge.set(c.id, now.getTime());
    try {
      const r = await this.#jobs.purge(c, now);
      report.purged.push(c.id);
      const total = Object.values(r.tombstones).reduce((a, b) => a + b, 0);
      if (total + r.changes > 0) this.#log?.info('retention purge', { connectionId: c.id, cutoff: r.cutoff, tombstones: total, changes: r.changes });
    } catch (err) {
      this.#log?.warn('retention purge failed', { connectionId: c.id, code: errorCode(err), message: errorMessage(err) });
    }
  }

  #launch(c: Connection, mode: SyncMode, reason: DueReason, now: Date): void {
    const abort = new AbortController();
    const since = now;
    this.#launched.set(c.id, { mode, status: 'running', startedAt: since });
    this.#log?.info('scheduled sync starting', { connectionId: c.id, tenantId: c.tenantId, mode, reason });
    const started = Date.now();
    const done = (async () => {
      try {
        const r = await this.#jobs.sync({ connection: c, mode, signal: abort.signal });
        this.#launched.set(c.id, { mode, status: r.status, startedAt: since });
        const meta = { connectionId: c.id, runId: r.runId, mode, status: r.status, durationMs: Date.now() - started };
        if (r.status === 'failed') this.#log?.warn('scheduled sync finished', meta);
        else this.#log?.info('scheduled sync finished', meta);
      } catch (err) {
        if (isStoreError(err, 'run_in_progress')) {
          // Another process is syncing it: not an attempt of ours, decide again once that run ends.
          this.#launched.delete(c.id);
          this.#log?.info('scheduled sync skipped: the connection is already syncing', { connectionId: c.id, mode });
        } else {
          this.#launched.set(c.id, { mode, status: 'failed', startedAt: since });
          this.#log?.warn('scheduled sync failed', { connectionId: c.id, mode, code: errorCode(err), message: errorMessage(err) });
        }
      } finally {
        this.#active.delete(c.id);
        // A slot is free: connections waiting for one may go now.
        this.#kick();
      }
    })();
    this.#active.set(c.id, { mode, since, abort, done });
  }

  #warnOnce(key: string, what: string, msg: string, meta: Record<string, unknown>): void {
    if (this.#warned.get(key) === what) return;
    this.#warned.set(key, what);
    this.#log?.warn(msg, meta);
  }
}


