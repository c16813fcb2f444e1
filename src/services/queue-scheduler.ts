/**
 * The scheduler of the scaled setup (issue 8): every `serve` node on a PostgreSQL store runs one,
 * but only the leader (`LeaderLock`) runs H1's `Scheduler`, with jobs that enqueue due syncs for
 * the workers instead of running them (`queueSchedulerJobs`). A schedule therefore fires once, not
 * once per node; when the leader goes away, a standby takes over within `retryMs` and, the runs
 * table being the scheduler's memory, decides from where the old leader left off.
 */
import type { Store } from '../store/store.ts';
import type { SyncLogger } from '../sync/full-sync.ts';
import { Scheduler, type SchedulerClock, type SchedulerStatus } from '../sync/scheduler.ts';
import { LeaderLock } from './leader-lock.ts';
import type { SyncQueue } from './queue.ts';
import { queueSchedulerJobs } from './scheduler-service.ts';

/** Enqueueing is quick: one scan queues everything that is due. */
const ENQUEUE_CONCURRENCY = 64;

export interface LeaderSchedulerOptions {
  /** The store's PostgreSQL URL (the leader lock's session connects there). */
  url: string;
  logger?: SyncLogger;
  clock?: SchedulerClock;
  /** Leader check / takeover interval. Default 5000 ms. */
  retryMs?: number;
}

/** A scheduler that runs only while this process leads. */
export interface LeaderScheduler {
  /** Starts trying to lead. */
  start(): void;
  /** Steps down (stops the scheduler if leading) and stops trying. */
  stop(): Promise<void>;
  /** The scheduler's status while leading; `idle` with no scans while standing by. */
  status(): SchedulerStatus & { role: 'leader' | 'standby' };
  readonly isLeader: boolean;
}

/** Builds the leader-elected, enqueueing scheduler of `serve` on PostgreSQL (not started). */
export function createLeaderScheduler(store: Store, queue: Pick<SyncQueue, 'enqueueSync'>, options: LeaderSchedulerOptions): LeaderScheduler {
  let scheduler: Scheduler | undefined;
  let stopped = false;
  const lock = new LeaderLock({
    url: options.url,
    name: 'scheduler',
    ...(options.retryMs !== undefined ? { retryMs: options.retryMs } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    onElected: () => {
      if (stopped) return;
      scheduler = new Scheduler({
        store,
        jobs: queueSchedulerJobs(store, queue, options.logger ? { logger: options.logger } : {}),
        concurrency: ENQUEUE_CONCURRENCY,
        ...(options.logger ? { logger: options.logger } : {}),
        ...(options.clock ? { clock: options.clock } : {}),
      });
      scheduler.start();
    },
    onDeposed: async () => {
      const s = scheduler;
      scheduler = undefined;
      await s?.stop();
    },
  });
  return {
    start: () => lock.start(),
    stop: async () => {
      stopped = true;
      await lock.stop();
    },
    status: () => {
      if (scheduler) return { ...scheduler.status(), role: 'leader' };
      return { state: stopped ? 'stopped' : 'idle', concurrency: ENQUEUE_CONCURRENCY, active: [], role: 'standby' };
    },
    get isLeader() {
      return lock.isLeader;
    },
  };
}
