/**
 * The sync queue, the leader lock and the leader-elected scheduler against a real PostgreSQL
 * (skipped with the reason without one): one queued or active job per connection, a live worker
 * keeps its job past the lease, a dead worker's job is taken again, a worker that lost its job
 * never finishes it, exactly one leader, and schedules enqueued once (not run) across two nodes.
 */
import assert from 'node:assert/strict';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { openStore } from '../store/store.ts';
import { forEachDialect } from '../store/test-dialects.ts';
import { LeaderLock } from './leader-lock.ts';
import { createLeaderScheduler, type LeaderScheduler } from './queue-scheduler.ts';
import { SYNC_QUEUE, SyncQueue, type QueueJob } from './queue.ts';

async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

forEachDialect(
  'sync queue',
  ({ it, freshUrl }) => {
    it('holds at most one queued or active job per connection', async (t) => {
      const url = await freshUrl();
      const queue = await SyncQueue.open({ url, leaseTimeoutMs: 5000, pollingIntervalMs: 500 });
      t.after(() => queue.close());

      const first = await queue.enqueueSync({ connectionId: 'c1', mode: 'full', reason: 'test' });
      assert.ok(first.jobId, 'first job queued');
      const second = await queue.enqueueSync({ connectionId: 'c1', mode: 'delta', reason: 'test' });
      assert.equal(second.jobId, undefined, 'no second job while one is queued');
      assert.deepEqual(second.existing, { id: first.jobId, state: 'created', mode: 'full' });
      const other = await queue.enqueueSync({ connectionId: 'c2', mode: 'full', reason: 'test' });
      assert.ok(other.jobId && other.jobId !== first.jobId, 'another connection gets its own job');

      // Concurrent enqueuers of one connection: exactly one wins.
      const burst = await Promise.all(Array.from({ length: 6 }, () => queue.enqueueSync({ connectionId: 'c3', mode: 'full', reason: 'test' })));
      assert.equal(burst.filter((r) => r.jobId !== undefined).length, 1, 'one of six concurrent enqueues made a job');

      let releaseHandler!: () => void;
      const gate = new Promise<void>((r) => (releaseHandler = r));
      const seen: QueueJob[] = [];
      const worker = queue.work(
        async (job) => {
          seen.push(job);
          if (job.data.connectionId === 'c1') await gate;
          return { action: 'complete', output: { ok: true } };
        },
        { concurrency: 1 },
      );
      t.after(() => worker.stop());
      await until(async () => (await queue.jobs({ connectionId: 'c1', states: ['active'] })).length === 1, 10_000, 'c1 active');
      const whileActive = await queue.enqueueSync({ connectionId: 'c1', mode: 'full', reason: 'test' });
      assert.equal(whileActive.existing?.state, 'active', 'no job queued behind an active one of the same connection');
      releaseHandler();
      await until(async () => (await queue.jobs({ states: ['created', 'retry', 'active'] })).length === 0, 15_000, 'all jobs done');
      assert.deepEqual(
        seen.map((j) => j.data.connectionId),
        ['c1', 'c2', 'c3'],
        'each connection ran once, in queue order',
      );
      const done = await queue.jobs({ connectionId: 'c1' });
      assert.deepEqual(done.map((j) => [j.state, j.output]), [['completed', { ok: true }]]);
      assert.ok((await queue.enqueueSync({ connectionId: 'c1', mode: 'full', reason: 'test' })).jobId, 'a finished connection can be queued again');
    });

    it('a live worker keeps its job past the lease; a dead one loses it to the next worker', async (t) => {
      const url = await freshUrl();
      const queue = await SyncQueue.open({ url, leaseTimeoutMs: 1500, pollingIntervalMs: 500 });
      t.after(() => queue.close());

      // Live: a handler three leases long, with expiry forced repeatedly meanwhile.
      const { jobId } = await queue.enqueueSync({ connectionId: 'live', mode: 'full', reason: 'test' });
      let finished = false;
      const worker = queue.work(async () => {
        for (let i = 0; i < 9; i++) {
          await new Promise((r) => setTimeout(r, 500));
          await queue.expireNow();
        }
        finished = true;
        return { action: 'complete', output: { ran: 'once' } };
      });
      await until(() => finished, 20_000, 'long handler finished');
      await until(async () => (await queue.jobs({ connectionId: 'live' }))[0]?.state === 'completed', 15_000, 'live job completed');
      const live = (await queue.jobs({ connectionId: 'live' }))[0]!;
      assert.equal(live.id, jobId);
      assert.equal(live.retryCount, 0, 'never expired while its worker lived');
      await worker.stop();

      // Dead: a raw pg-boss consumer takes the job and never renews it (a killed process).
      const { jobId: deadId } = await queue.enqueueSync({ connectionId: 'dead', mode: 'full', reason: 'test' });
      const raw = new PgBoss({ connectionString: url, schema: 'pgboss', supervise: false, schedule: false, migrate: false });
      raw.on('error', () => {});
      await raw.start();
      t.after(() => raw.stop({ graceful: false }));
      const [taken] = await raw.fetch(SYNC_QUEUE);
      assert.equal(taken?.id, deadId, 'the "dead" consumer holds the job');
      const attempts: number[] = [];
      const next = queue.work(async (job) => {
        attempts.push(job.attempt);
        return { action: 'complete' };
      });
      t.after(() => next.stop());
      await new Promise((r) => setTimeout(r, 1600));
      await queue.expireNow();
      await until(async () => (await queue.jobs({ connectionId: 'dead' }))[0]?.state === 'completed', 15_000, 'dead job taken over and completed');
      assert.deepEqual(attempts, [1], 'taken again once, as its second attempt');
    });

    it('a worker that lost its job lets go and does not finish the new attempt', async (t) => {
      // The job, expired by the bump below, may come back to this worker as a new attempt: that
      // handler waits for the end of the test (the first cleanup step), not for a loss that never comes.
      const ended = new AbortController();
      t.after(() => ended.abort());
      const url = await freshUrl();
      const queue = await SyncQueue.open({ url, leaseTimeoutMs: 1500, pollingIntervalMs: 500 });
      t.after(() => queue.close());
      const { jobId } = await queue.enqueueSync({ connectionId: 'c', mode: 'full', reason: 'test' });
      let lostSeen = false;
      const worker = queue.work(async (job) => {
        await new Promise<void>((r) => {
          job.lost.addEventListener('abort', () => r(), { once: true });
          ended.signal.addEventListener('abort', () => r(), { once: true });
        });
        if (job.lost.aborted) lostSeen = true;
        return { action: 'complete', output: { wrongly: 'finished' } };
      });
      t.after(() => worker.stop());
      await until(async () => (await queue.jobs({ connectionId: 'c', states: ['active'] })).length === 1, 10_000, 'job active');
      // What another worker's fetch after an expiry does to the row: a new attempt (retry_count + 1).
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      t.after(() => c.end());
      await c.query(`update pgboss.job set retry_count = retry_count + 1, started_on = now() where name = $1 and id = $2`, [SYNC_QUEUE, jobId]);
      await until(() => lostSeen, 15_000, 'the handler saw its job lost');
      await new Promise((r) => setTimeout(r, 300));
      const [job] = await queue.jobs({ connectionId: 'c' });
      assert.equal(job?.state, 'active', 'the other attempt is left active for its holder');
      assert.equal(job?.output, undefined, 'and was not completed by the worker that lost it');
    });

    it('leader lock: exactly one leader; a standby takes over when the leader stops or its session dies', async (t) => {
      const url = await freshUrl();
      const events: string[] = [];
      const make = (name: string): LeaderLock =>
        new LeaderLock({ url, name: 'test', retryMs: 150, onElected: () => void events.push(`${name}+`), onDeposed: () => void events.push(`${name}-`) });
      const a = make('a');
      const b = make('b');
      t.after(() => Promise.all([a.stop(), b.stop()]));
      a.start();
      await until(() => a.isLeader, 15_000, 'a leads');
      b.start();
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(b.isLeader, false, 'b stands by while a leads');
      await a.stop();
      await until(() => b.isLeader, 15_000, 'b takes over');
      assert.deepEqual(events, ['a+', 'a-', 'b+']);

      // The leader's session is killed (a network cut, an admin): it steps down; someone leads again.
      const c = make('c');
      t.after(() => c.stop());
      c.start();
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      t.after(() => admin.end());
      await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'rostersync-leader-test' and pid <> pg_backend_pid()
        and pid in (select pid from pg_locks where locktype = 'advisory' and granted)`);
      await until(() => events.includes('b-'), 15_000, 'b noticed it lost its session');
      await until(() => b.isLeader || c.isLeader, 15_000, 'a leader again');
      assert.ok(!(b.isLeader && c.isLeader), 'never two leaders');
    });

    it('scheduled syncs are queued once across two nodes, by the leader, and not run', async (t) => {
      const url = await freshUrl();
      const store = await openStore({ url });
      const queues: SyncQueue[] = [];
      const nodes: LeaderScheduler[] = [];
      t.after(async () => {
        await Promise.all(nodes.map((n) => n.stop()));
        await Promise.all(queues.map((q) => q.close()));
        await store.close();
      });
      const conn = await store.connections.create({ name: 'd', baseUrl: 'http://127.0.0.1:9/ims/oneroster/v1p1', authKind: 'none', options: { schedule: { enabled: true } } });
      // Opened at once, as two nodes starting together would (pg-boss creates the queue once).
      await Promise.all([0, 1].map(async () => queues.push(await SyncQueue.open({ url, leaseTimeoutMs: 5000 }))));
      nodes.push(...queues.map((q) => createLeaderScheduler(store, q, { url, retryMs: 150 })));
      for (const n of nodes) n.start();
      await until(async () => (await queues[0]!.jobs()).length > 0, 10_000, 'a job queued');
      await new Promise((r) => setTimeout(r, 800));
      assert.equal(nodes.filter((n) => n.isLeader).length, 1, 'one leader');
      const leader = nodes.findIndex((n) => n.isLeader);
      assert.equal(nodes[leader]!.status().role, 'leader');
      assert.equal(nodes[1 - leader]!.status().role, 'standby');
      let jobs = await queues[0]!.jobs();
      assert.deepEqual(jobs.map((j) => [j.connectionId, j.mode, j.reason, j.state]), [[conn.id, 'full', 'schedule', 'created']], 'the first full sync queued once');
      assert.equal((await store.runs.list({ connectionId: conn.id })).length, 0, 'queued, not run by the scheduler');

      // The leader goes away: the other node takes over, decides the same, and the queue keeps one job.
      await nodes[leader]!.stop();
      await until(() => nodes[1 - leader]!.isLeader, 15_000, 'the standby leads');
      await until(() => nodes[1 - leader]!.status().lastScanAt !== undefined, 15_000, 'the new leader scanned');
      jobs = await queues[0]!.jobs();
      assert.equal(jobs.length, 1, 'still one job after the takeover');
    });
  },
  { dialects: ['postgres'] },
);
