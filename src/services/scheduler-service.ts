/**
 * The scheduler's composition: its jobs wired to the real services (a stored connection's access
 * and toggles, `syncConnection`, dead-run expiry, the retention purge). `rostersync serve` and
 * (later) the admin server build their scheduler here.
 */
import { purgeExpired } from '../store/retention.ts';
import type { Store } from '../store/store.ts';
import type { SyncLogger } from '../sync/full-sync.ts';
import { retentionDaysOf } from '../sync/schedule.ts';
import { Scheduler, type SchedulerClock, type SchedulerJobs } from '../sync/scheduler.ts';
import type { SyncQueue } from './queue.ts';
import { storedAccess } from './stored-connection.ts';
import { expireDeadRuns, syncConnection } from './sync-service.ts';

/**
 * The jobs of a scheduler over `store`: a scheduled sync reads the connection's stored access
 * (secret unsealed only for the run) and toggles, then runs `syncConnection` in the mode asked.
 */
export function schedulerJobs(store: Store, options: { logger?: SyncLogger } = {}): SchedulerJobs {
  return {
    async sync({ connection, mode, signal }) {
      const target = await storedAccess(store, connection);
      const { result } = await syncConnection({
        store,
        access: target.access,
        connectionId: target.connectionId,
        optional: target.optional,
        toggles: target.toggles,
        mode,
        signal,
        ...(options.logger ? { logger: options.logger } : {}),
      });
      return { runId: result.runId, status: result.status };
    },
    expireDead: (connectionId) => expireDeadRuns(store, connectionId),
    purge: (connection, now) => purgeExpired(store, { connectionId: connection.id, now, retentionDays: retentionDaysOf(connection) }),
  };
}

/**
 * The jobs of a scheduler in the scaled setup (PostgreSQL + workers): a due sync is ENQUEUED, not
 * run (`status: 'queued'`; a connection that already has a queued or running job keeps that one).
 * Workers run it; the scheduler sees the run in the runs table like any other.
 */
export function queueSchedulerJobs(store: Store, queue: Pick<SyncQueue, 'enqueueSync'>, options: { logger?: SyncLogger } = {}): SchedulerJobs {
  return {
    async sync({ connection, mode }) {
      const r = await queue.enqueueSync({ connectionId: connection.id, mode, reason: 'schedule' });
      if (r.existing) options.logger?.info('scheduled sync not queued: the connection already has a job', { connectionId: connection.id, jobId: r.existing.id, state: r.existing.state });
      return { status: 'queued' };
    },
    expireDead: (connectionId) => expireDeadRuns(store, connectionId),
    purge: (connection, now) => purgeExpired(store, { connectionId: connection.id, now, retentionDays: retentionDaysOf(connection) }),
  };
}

/** A scheduler over every connection of `store` (not started: call `start()`). */
export function createScheduler(store: Store, options: { concurrency?: number; logger?: SyncLogger; clock?: SchedulerClock } = {}): Scheduler {
  return new Scheduler({
    store,
    jobs: schedulerJobs(store, options.logger ? { logger: options.logger } : {}),
    ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
}
