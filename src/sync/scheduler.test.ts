import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openStore, type Store } from '../store/store.ts';
import type { PurgeResult } from '../store/retention.ts';
import type { ConnectionSchedule } from './schedule.ts';
import { decideDue, Scheduler, type PastRun, type SchedulerClock, type SchedulerJobs, type SyncMode } from './scheduler.ts';

// 2025-01-01 is a Wednesday; 2025-01-05 a Sunday.
const SDS: ConnectionSchedule = { enabled: true, delta: '0 */12 * * *', full: '0 3 * * 0', timezone: 'UTC' };
const run = (mode: string, status: string, startedAt: string, holdPending = false): PastRun => ({ mode, status, startedAt, holdPending });
const d = (iso: string): Date => new Date(iso);

describe('decideDue (table)', () => {
  const FULL_OK = run('full', 'succeeded', '2025-01-01T10:00:00.000Z');
  const cases: Array<{ name: string; schedule?: Partial<ConnectionSchedule>; runs: PastRun[]; now: string; due: SyncMode | undefined; reason: string }> = [
    { name: 'never synced: a full at once', runs: [], now: '2025-01-01T10:00:00Z', due: 'full', reason: 'first-full' },
    { name: 'schedules off', schedule: { enabled: false }, runs: [], now: '2025-01-01T10:00:00Z', due: undefined, reason: 'disabled' },
    { name: 'a running run: nothing', runs: [FULL_OK, run('delta', 'running', '2025-01-01T12:00:00Z')], now: '2025-01-02T00:00:00Z', due: undefined, reason: 'running' },
    { name: 'a pending hold: nothing', runs: [FULL_OK, run('full', 'held', '2025-01-01T12:00:00Z', true)], now: '2025-01-09T00:00:00Z', due: undefined, reason: 'held' },
    { name: 'a resolved hold is an attempt, not a full that applied', runs: [run('full', 'held', '2025-01-01T10:00:00Z')], now: '2025-01-01T12:00:00Z', due: 'full', reason: 'first-full-retry' },
    // No delta before the first full that applied.
    { name: 'only deltas so far: a full first', runs: [run('delta', 'succeeded', '2025-01-01T00:00:00Z')], now: '2025-01-01T12:00:00Z', due: 'full', reason: 'first-full' },
    { name: 'first full failed: no tight retry loop', runs: [run('full', 'failed', '2025-01-01T10:00:00Z')], now: '2025-01-01T11:59:59Z', due: undefined, reason: 'first-full-wait' },
    { name: 'first full failed: retried at the next slot (a delta slot), as a full', runs: [run('full', 'failed', '2025-01-01T10:00:00Z')], now: '2025-01-01T12:00:00Z', due: 'full', reason: 'first-full-retry' },
    { name: 'dry runs do not count as a full', runs: [run('dry-run', 'succeeded', '2025-01-01T09:00:00Z')], now: '2025-01-01T10:00:00Z', due: 'full', reason: 'first-full' },
    // Cadence after the first full.
    { name: 'just after a full: idle', runs: [FULL_OK], now: '2025-01-01T11:59:59Z', due: undefined, reason: 'idle' },
    { name: 'delta slot fires (exactly on time)', runs: [FULL_OK], now: '2025-01-01T12:00:00Z', due: 'delta', reason: 'delta-slot' },
    { name: 'delta slot taken', runs: [FULL_OK, run('delta', 'succeeded', '2025-01-01T12:00:00Z')], now: '2025-01-01T18:00:00Z', due: undefined, reason: 'idle' },
    { name: 'a failed delta waits for the next slot', runs: [FULL_OK, run('delta', 'failed', '2025-01-01T12:00:01Z')], now: '2025-01-01T23:59:00Z', due: undefined, reason: 'idle' },
    { name: 'partial counts as a full that applied', runs: [run('full', 'partial', '2025-01-01T10:00:00Z')], now: '2025-01-01T12:00:00Z', due: 'delta', reason: 'delta-slot' },
    { name: 'full slot fires', runs: [FULL_OK, run('delta', 'succeeded', '2025-01-05T00:00:00Z')], now: '2025-01-05T03:00:00Z', due: 'full', reason: 'full-slot' },
    {
      name: 'full wins when both fire at once',
      schedule: { full: '0 0 * * 0' },
      runs: [FULL_OK, run('delta', 'succeeded', '2025-01-04T12:00:00Z')],
      now: '2025-01-05T00:00:00Z',
      due: 'full',
      reason: 'full-slot',
    },
    {
      name: 'a full covers the delta slot it ran after',
      schedule: { full: '0 0 * * 0' },
      runs: [FULL_OK, run('full', 'succeeded', '2025-01-05T00:00:05Z')],
      now: '2025-01-05T00:10:00Z',
      due: undefined,
      reason: 'idle',
    },
    // Catch-up once after downtime: weeks of missed slots, one full.
    { name: 'down for a month: one full (it wins over the missed deltas)', runs: [run('full', 'succeeded', '2024-12-01T03:00:00Z'), run('delta', 'succeeded', '2024-12-01T12:00:00Z')], now: '2025-01-01T10:00:00Z', due: 'full', reason: 'full-slot' },
    {
      name: 'down for a month, caught up: no second full, no missed delta replayed',
      runs: [run('full', 'succeeded', '2024-12-01T03:00:00Z'), run('delta', 'succeeded', '2024-12-01T12:00:00Z'), run('full', 'succeeded', '2025-01-01T10:00:01Z')],
      now: '2025-01-01T10:30:00Z',
      due: undefined,
      reason: 'idle',
    },
    { name: 'down for a day: one delta, not two', runs: [FULL_OK], now: '2025-01-02T13:00:00Z', due: 'delta', reason: 'delta-slot' },
    { name: 'down for a day, caught up', runs: [FULL_OK, run('delta', 'succeeded', '2025-01-02T13:00:01Z')], now: '2025-01-02T13:05:00Z', due: undefined, reason: 'idle' },
    // A failed scheduled full is retried at the next slot of either schedule.
    { name: 'scheduled full failed: not retried at once', runs: [FULL_OK, run('full', 'failed', '2025-01-05T03:00:10Z')], now: '2025-01-05T05:00:00Z', due: undefined, reason: 'idle' },
    { name: 'scheduled full failed: retried at the next delta slot, as a full', runs: [FULL_OK, run('full', 'failed', '2025-01-05T03:00:10Z')], now: '2025-01-05T12:00:00Z', due: 'full', reason: 'full-retry' },
    // Time zones: the expressions are read in the schedule's zone.
    {
      name: 'New York: 03:00 UTC on Sunday is not yet 03:00 in New York',
      schedule: { timezone: 'America/New_York' },
      runs: [run('full', 'succeeded', '2024-12-29T08:00:00Z'), run('delta', 'succeeded', '2025-01-05T05:00:01Z')],
      now: '2025-01-05T07:59:00Z',
      due: undefined,
      reason: 'idle',
    },
    {
      name: 'New York: 03:00 EST is 08:00 UTC',
      schedule: { timezone: 'America/New_York' },
      runs: [run('full', 'succeeded', '2024-12-29T08:00:00Z'), run('delta', 'succeeded', '2025-01-05T05:00:01Z')],
      now: '2025-01-05T08:00:00Z',
      due: 'full',
      reason: 'full-slot',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = decideDue({ schedule: { ...SDS, ...c.schedule }, runs: c.runs, now: d(c.now) });
      assert.equal(got.due, c.due, `due (reason ${got.reason})`);
      assert.equal(got.reason, c.reason);
    });
  }

  it('next fire times, in UTC and across DST in a time zone', () => {
    const utc = decideDue({ schedule: SDS, runs: [], now: d('2025-01-01T10:00:00Z') });
    assert.equal(utc.nextFull?.toISOString(), '2025-01-05T03:00:00.000Z');
    assert.equal(utc.nextDelta?.toISOString(), '2025-01-01T12:00:00.000Z');
    const ny = { ...SDS, timezone: 'America/New_York' };
    assert.equal(decideDue({ schedule: ny, runs: [], now: d('2025-01-01T10:00:00Z') }).nextFull?.toISOString(), '2025-01-05T08:00:00.000Z', 'EST = UTC-5');
    assert.equal(decideDue({ schedule: ny, runs: [], now: d('2025-07-01T10:00:00Z') }).nextFull?.toISOString(), '2025-07-06T07:00:00.000Z', 'EDT = UTC-4');
    const exact = decideDue({ schedule: SDS, runs: [], now: d('2025-01-01T12:00:00Z') });
    assert.equal(exact.nextDelta?.toISOString(), '2025-01-02T00:00:00.000Z', 'next fire is strictly after now');
    const off = decideDue({ schedule: { ...SDS, enabled: false }, runs: [], now: d('2025-01-01T10:00:00Z') });
    assert.equal(off.nextFull, undefined, 'no next fire when schedules are off');
  });
});

// ---------------------------------------------------------------------------------------------
// The Scheduler loop, with fake jobs and a fake clock.

interface FakeClock extends SchedulerClock {
  t: number;
  timers: Array<{ fn: () => void; at: number; id: number }>;
}

function fakeClock(iso: string): FakeClock {
  let next = 1;
  const c: FakeClock = {
    t: new Date(iso).getTime(),
    timers: [],
    now: () => new Date(c.t),
    setTimeout: (fn, ms) => {
      const id = next++;
      c.timers.push({ fn, at: c.t + ms, id });
      return id;
    },
    clearTimeout: (h) => {
      c.timers = c.timers.filter((x) => x.id !== h);
    },
  };
  return c;
}

interface Deferred {
  resolve(status: string): void;
  reject(err: unknown): void;
}

/** Jobs whose syncs stay running until the test settles them. */
function fakeJobs(): SchedulerJobs & { started: Array<{ id: string; mode: SyncMode; signal: AbortSignal }>; open: Map<string, Deferred>; purges: string[]; expired: string[] } {
  const started: Array<{ id: string; mode: SyncMode; signal: AbortSignal }> = [];
  const open = new Map<string, Deferred>();
  const purges: string[] = [];
  const expired: string[] = [];
  return {
    started,
    open,
    purges,
    expired,
    sync: ({ connection, mode, signal }) =>
      new Promise((resolve, reject) => {
        started.push({ id: connection.id, mode, signal });
        open.set(connection.id, { resolve: (status) => resolve({ status }), reject });
        signal.addEventListener('abort', () => resolve({ status: 'failed' }));
      }),
    expireDead: async (id) => {
      expired.push(id);
      return [];
    },
    purge: async (c, now): Promise<PurgeResult> => {
      purges.push(`${c.id}@${now.toISOString()}`);
      return { cutoff: now.toISOString(), tombstones: {} as PurgeResult['tombstones'], changes: 0 };
    },
  };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

async function storeWith(conns: Array<{ id: string; schedule?: Partial<ConnectionSchedule>; authKind?: 'none' | 'oauth2' }>): Promise<Store> {
  const store = await openStore({ url: ':memory:' });
  for (const c of conns) {
    await store.connections.create({
      id: c.id,
      name: c.id,
      baseUrl: `https://${c.id}.example/ims/oneroster/v1p1`,
      authKind: c.authKind ?? 'none',
      options: { provider: 'custom', schedule: { ...SDS, ...c.schedule } },
    });
  }
  return store;
}

describe('Scheduler (fake jobs, fake clock)', () => {
  it('runs at most `concurrency` syncs at once, one per connection, and remembers what it ran', async () => {
    const store = await storeWith([{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
    const clock = fakeClock('2025-01-01T10:00:00Z');
    const jobs = fakeJobs();
    const s = new Scheduler({ store, jobs, clock, concurrency: 2 });
    const r1 = await s.scan();
    assert.deepEqual(r1.launched.map((l) => `${l.connectionId}:${l.mode}:${l.reason}`), ['a:full:first-full', 'b:full:first-full']);
    assert.deepEqual(r1.waiting, ['c']);
    const r2 = await s.scan();
    assert.equal(r2.launched.length, 0, 'a and b are running, c still waits');
    assert.equal(s.status().active.length, 2);
    jobs.open.get('a')!.resolve('succeeded');
    await settle();
    const r3 = await s.scan();
    assert.deepEqual(r3.launched.map((l) => l.connectionId), ['c'], 'the freed slot goes to c; a is not due again');
    jobs.open.get('b')!.resolve('succeeded');
    jobs.open.get('c')!.resolve('succeeded');
    await s.whenIdle();
    assert.equal((await s.scan()).launched.length, 0, 'nothing due until the next slot');
    clock.t = new Date('2025-01-01T12:00:00Z').getTime();
    const r4 = await s.scan();
    assert.deepEqual(r4.launched.map((l) => `${l.connectionId}:${l.mode}`), ['a:delta', 'b:delta']);
    assert.equal(r4.nextFire?.toISOString(), '2025-01-02T00:00:00.000Z');
    for (const id of ['a', 'b']) jobs.open.get(id)!.resolve('succeeded');
    await s.stop();
    await store.close();
  });

  it('a sync that throws before it has a run row is not retried before the next slot', async () => {
    const store = await storeWith([{ id: 'a' }]);
    const clock = fakeClock('2025-01-01T10:00:00Z');
    const jobs = fakeJobs();
    const s = new Scheduler({ store, jobs, clock });
    await s.scan();
    jobs.open.get('a')!.reject(Object.assign(new Error('connection a has no stored secret'), { code: 'secret_missing' }));
    await s.whenIdle();
    clock.t += 60_000;
    assert.equal((await s.scan()).launched.length, 0, 'no tight retry loop');
    clock.t = new Date('2025-01-01T12:00:00Z').getTime();
    assert.deepEqual((await s.scan()).launched.map((l) => l.reason), ['first-full-retry']);
    jobs.open.get('a')!.resolve('succeeded');
    await s.stop();
    await store.close();
  });

  it('skips disabled connections and ones that need a secret they do not have', async () => {
    const store = await storeWith([{ id: 'off', schedule: { enabled: false } }, { id: 'nosecret', authKind: 'oauth2' }, { id: 'ok' }]);
    const jobs = fakeJobs();
    const s = new Scheduler({ store, jobs, clock: fakeClock('2025-01-01T10:00:00Z') });
    const r = await s.scan();
    assert.deepEqual(r.launched.map((l) => l.connectionId), ['ok']);
    jobs.open.get('ok')!.resolve('succeeded');
    await s.stop();
    await store.close();
  });

  it('a run left running by a dead process is offered for expiry before deciding', async () => {
    const store = await storeWith([{ id: 'a' }]);
    const ok = await store.runs.start({ connectionId: 'a', mode: 'full', leaseOwner: 'test', now: d('2025-01-01T03:00:00Z') });
    await store.runs.finish(ok.id, { status: 'succeeded', entities: {}, requests: {}, issues: { bySeverity: { error: 0, warning: 0 }, byRule: {}, stored: 0 } });
    await store.runs.start({ connectionId: 'a', mode: 'delta', leaseOwner: 'elsewhere:1', now: d('2025-01-01T11:00:00Z') });
    const jobs = fakeJobs();
    const s = new Scheduler({ store, jobs, clock: fakeClock('2025-01-01T12:00:00Z') });
    const r1 = await s.scan();
    assert.deepEqual(jobs.expired, ['a']);
    assert.equal(r1.launched.length, 0, 'the run was not expired (its owner may be alive): nothing due');
    // This time the job expires it: the connection is scheduled in the same scan.
    jobs.expireDead = async (id) => store.runs.expireStale(new Date(Date.now() + 1000), { connectionId: id });
    const r2 = await s.scan();
    assert.deepEqual(r2.launched.map((l) => `${l.mode}:${l.reason}`), ['delta:delta-slot']);
    jobs.open.get('a')!.resolve('succeeded');
    await s.stop();
    await store.close();
  });

  it('purges each connection once a day, not while it syncs', async () => {
    const store = await storeWith([{ id: 'a' }, { id: 'b', schedule: { enabled: false } }]);
    const clock = fakeClock('2025-01-01T10:00:00Z');
    const jobs = fakeJobs();
    const s = new Scheduler({ store, jobs, clock });
    const r1 = await s.scan();
    assert.deepEqual(jobs.purges, ['a@2025-01-01T10:00:00.000Z', 'b@2025-01-01T10:00:00.000Z'], 'b is purged though its schedules are off');
    assert.deepEqual(r1.launched.map((l) => l.connectionId), ['a'], 'then a syncs');
    clock.t += 3600_000;
    await s.scan();
    assert.equal(jobs.purges.length, 2, 'not again within the day');
    clock.t = new Date('2025-01-02T10:00:00Z').getTime();
    await s.scan();
    assert.deepEqual(jobs.purges.slice(2), ['b@2025-01-02T10:00:00.000Z'], 'a is still syncing: not purged');
    jobs.open.get('a')!.resolve('succeeded');
    await s.whenIdle();
    await s.scan();
    assert.deepEqual(jobs.purges.slice(3), ['a@2025-01-02T10:00:00.000Z'], 'a purged once its sync ended');
    await s.stop();
    await store.close();
  });

  it('start() scans at once, then sleeps until the next fire (at most maxSleepMs); stop() aborts and waits', async () => {
    const store = await storeWith([{ id: 'a' }]);
    const clock = fakeClock('2025-01-01T11:50:00Z');
    const jobs = fakeJobs();
    const s = new Scheduler({ store, jobs, clock, maxSleepMs: 3600_000 });
    s.start();
    assert.equal(clock.timers.length, 1, 'a first scan is queued');
    assert.equal(clock.timers[0]!.at, clock.t, 'at once');
    clock.timers.shift()!.fn();
    for (let i = 0; i < 5 && jobs.started.length === 0; i++) await settle();
    assert.equal(jobs.started.length, 1, 'the first full started');
    jobs.open.get('a')!.resolve('succeeded');
    for (let i = 0; i < 5; i++) await settle();
    // The sync's end queued a scan (a slot freed); run it.
    const kick = clock.timers.find((x) => x.at === clock.t);
    assert.ok(kick, 'a scan is queued when a sync ends');
    clock.timers = clock.timers.filter((x) => x !== kick);
    kick.fn();
    for (let i = 0; i < 5; i++) await settle();
    assert.equal(clock.timers.length, 1, 'one wake-up pending');
    assert.equal(new Date(clock.timers[0]!.at).toISOString(), '2025-01-01T12:00:00.010Z', 'wakes just after the 12:00 delta slot');
    assert.equal(s.status().nextWakeAt, '2025-01-01T12:00:00.010Z');
    clock.t = clock.timers[0]!.at;
    clock.timers.shift()!.fn();
    for (let i = 0; i < 5 && jobs.started.length < 2; i++) await settle();
    assert.equal(jobs.started[1]?.mode, 'delta', 'the delta ran at its slot');
    const signal = jobs.started[1]!.signal;
    assert.equal(s.status().state, 'running');
    await s.stop();
    assert.ok(signal.aborted, 'the running sync was aborted');
    assert.equal(s.status().state, 'stopped');
    assert.equal(s.status().active.length, 0, 'stop waited for it');
    assert.equal(clock.timers.length, 0, 'no timer left behind');
    await store.close();
  });
});
