/**
 * The scheduler end to end in one process: a fake clock, real syncs of a stored connection (secret
 * sealed in the store) against the simulator over HTTP, into an in-memory store. Full syncs only,
 * so this does not depend on the delta engine.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Cron } from 'croner';
import { schedulerJobs } from '../src/services/scheduler-service.ts';
import { startSimulator, type RunningSimulator } from '../src/simulate/server.ts';
import { openStore, type Store } from '../src/store/store.ts';
import { Scheduler, type SchedulerClock } from '../src/sync/scheduler.ts';

const HOURLY_FULL = '0 * * * *';
/** Fires once a year: keeps deltas out of this test. */
const YEARLY_DELTA = '0 0 1 1 *';

function manualClock(start: number): SchedulerClock & { t: number } {
  const c = {
    t: start,
    now: () => new Date(c.t),
    setTimeout: () => 0,
    clearTimeout: () => undefined,
  };
  return c;
}

async function storeWithConnection(sim: RunningSimulator): Promise<Store> {
  const store = await openStore({ url: ':memory:', secretKey: randomBytes(32) });
  await store.connections.create({
    id: 'district',
    name: 'district',
    baseUrl: sim.baseUrl,
    authKind: 'oauth2',
    secret: sim.clientSecret,
    options: {
      provider: 'custom',
      clientId: sim.clientId,
      tokenUrl: sim.tokenUrl,
      toggles: { contacts: true, demographics: false, userFlags: true },
      courses: true,
      schedule: { enabled: true, full: HOURLY_FULL, delta: YEARLY_DELTA, timezone: 'UTC' },
    },
  });
  return store;
}

describe('Scheduler with real syncs', () => {
  it('runs the first full at once, then a full at its slot, and nothing in between', async (t) => {
    const sim = await startSimulator({ size: 'tiny', auth: 'oauth2' });
    const store = await storeWithConnection(sim);
    t.after(async () => {
      await store.close();
      await sim.close();
    });
    const logs: Array<{ msg: string; meta: Record<string, unknown> | undefined }> = [];
    const logger = { info: (msg: string, meta?: Record<string, unknown>) => logs.push({ msg, meta }), warn: (msg: string, meta?: Record<string, unknown>) => logs.push({ msg, meta }) };
    // Runs record wall-clock start times, so the fake clock starts at the real time and moves forward.
    const clock = manualClock(Date.now());
    const scheduler = new Scheduler({ store, jobs: schedulerJobs(store, { logger }), clock, logger });

    const r1 = await scheduler.scan();
    assert.deepEqual(r1.launched, [{ connectionId: 'district', mode: 'full', reason: 'first-full' }]);
    assert.deepEqual(r1.purged, ['district'], 'retention purge ran on the first scan');
    await scheduler.whenIdle();
    const runs1 = await store.runs.list({ connectionId: 'district' });
    assert.equal(runs1.length, 1);
    assert.equal(runs1[0]!.status, 'succeeded', JSON.stringify(runs1[0]!.error ?? {}));
    assert.equal(runs1[0]!.mode, 'full');
    const live = await store.records.countLive('district');
    assert.equal(live.users?.active, sim.district.stats().counts.users.active, 'the users were synced');

    // Just before the next hourly slot after the run started, nothing is due (a fixed "a minute later"
    // crossed an hourly slot when the test ran in the last minute of an hour).
    const nextSlot = new Cron(HOURLY_FULL, { paused: true, timezone: 'UTC' }).nextRun(new Date(runs1[0]!.startedAt))!.getTime();
    clock.t = Math.max(clock.t, nextSlot - 1);
    assert.equal((await scheduler.scan()).launched.length, 0, 'nothing due before the next slot');

    // The first hourly slot more than a minute after the real sync started.
    clock.t = new Cron(HOURLY_FULL, { paused: true, timezone: 'UTC' }).nextRun(new Date(Date.now() + 60_000))!.getTime();
    const r2 = await scheduler.scan();
    assert.deepEqual(r2.launched, [{ connectionId: 'district', mode: 'full', reason: 'full-slot' }]);
    await scheduler.whenIdle();
    const runs2 = await store.runs.list({ connectionId: 'district' });
    assert.equal(runs2.length, 2);
    assert.equal(runs2[0]!.status, 'succeeded');
    assert.equal(runs2[0]!.entities.users?.created, 0, 'the second full sync of unchanged data created nothing');
    await scheduler.stop();

    const text = JSON.stringify(logs);
    assert.ok(!text.includes(sim.clientSecret), 'the secret is never logged');
    assert.ok(logs.some((l) => l.msg === 'scheduled sync finished' && l.meta?.status === 'succeeded'), 'finished syncs are logged');
  });

  it('stop() aborts a running sync, which applies nothing, and waits for it', async (t) => {
    // Slow pages so the sync is still running when stop() is called.
    const sim = await startSimulator({ size: 'tiny', auth: 'oauth2', faults: 'latency=300ms' });
    const store = await storeWithConnection(sim);
    t.after(async () => {
      await store.close();
      await sim.close();
    });
    const scheduler = new Scheduler({ store, jobs: schedulerJobs(store), clock: manualClock(Date.now()) });
    const r = await scheduler.scan();
    assert.equal(r.launched.length, 1);
    await new Promise((res) => setTimeout(res, 400));
    assert.equal(scheduler.status().active.length, 1, 'still syncing');
    await scheduler.stop();
    assert.equal(scheduler.status().state, 'stopped');
    const runs = await store.runs.list({ connectionId: 'district' });
    assert.equal(runs.length, 1);
    assert.equal(runs[0]!.status, 'failed', 'an aborted run is failed, not left running');
    assert.equal(runs[0]!.error?.code, 'aborted');
    const live = await store.records.countLive('district');
    assert.equal(Object.values(live).reduce((n, c) => n + c.active, 0), 0, 'nothing applied');
  });
});
