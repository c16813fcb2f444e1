/**
 * An API-only node (`serve --no-worker` on PostgreSQL): syncs started over the admin API go to the
 * workers' queue instead of running in the API process, and the request answers with the run a
 * worker created for it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { ADMIN_PASSWORD, as, readEvents, startAdmin, tokenCaller } from '../src/http/admin/test-support.ts';
import { SyncQueue } from '../src/services/queue.ts';
import { startSyncWorker } from '../src/services/sync-worker.ts';
import { startSimulator } from '../src/simulate/server.ts';
import { forEachDialect } from '../src/store/test-dialects.ts';


async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

forEachDialect(
  'admin API on an API-only node',
  (d) => {
    d.it('queues syncs for the workers: no worker is a 503 and the job waits; a worker runs it; dry runs go through the queue too', async (t) => {
      // Latency and small pages make a run last a couple of seconds, so its progress is seen live.
      const sim = await startSimulator({ size: 'tiny', auth: 'oauth2', seed: 3, faults: 'latency=20ms' });
      t.after(() => sim.close());
      const url = await d.freshUrl();
      const store = await d.openAt(url, { secretKey: randomBytes(32) });
      const queue = await SyncQueue.open({ url, leaseTimeoutMs: 5000, pollingIntervalMs: 500 });
      t.after(() => queue.close());
      const admin = await startAdmin({ store, syncQueue: queue, queueStartMs: 1500, runPollMs: 50 });
      t.after(() => admin.app.close());
      const { app } = admin;
      await app.listen({ host: '127.0.0.1', port: 0 });
      const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const script = await tokenCaller(app, 'admin', ADMIN_PASSWORD);
      const created = await as(app, script, {
        method: 'POST',
        url: '/api/v1/connections',
        payload: { name: 'district', baseUrl: sim.baseUrl, auth: { kind: 'oauth2', clientId: sim.clientId, clientSecret: sim.clientSecret, tokenUrl: sim.tokenUrl }, pageSize: 10 },
      });
      assert.equal(created.statusCode, 201, created.body);
      const id = (created.json() as { connection: { id: string } }).connection.id;

      // No worker yet: the request says so, and the job stays queued.
      const waiting = await as(app, script, { method: 'POST', url: `/api/v1/connections/${id}/sync`, payload: { mode: 'full' } });
      assert.equal(waiting.statusCode, 503, waiting.body);
      assert.equal((waiting.json() as { error: string }).error, 'no_worker');
      assert.match((waiting.json() as { message: string }).message, /stays queued \(job [0-9a-f-]+\)/);
      const jobs = await queue.jobs({ connectionId: id });
      assert.deepEqual(jobs.map((j) => [j.state, j.mode, j.reason]), [['created', 'full', 'manual']]);
      assert.equal((await store.runs.list({ connectionId: id })).length, 0, 'nothing ran in the API process');
      const again = await as(app, script, { method: 'POST', url: `/api/v1/connections/${id}/sync`, payload: {} });
      assert.equal(again.statusCode, 409, 'one queued sync per connection');
      assert.equal((again.json() as { error: string }).error, 'run_in_progress');

      // A worker takes the queued job and finishes it.
      const worker = startSyncWorker({ store, queue, concurrency: 1 });
      t.after(() => worker.stop());
      const first = await until('the queued run', async () => {
        const runs = await store.runs.list({ connectionId: id });
        return runs[0]?.status === 'succeeded' ? runs[0] : undefined;
      });
      assert.match(first.leaseOwner ?? '', new RegExp(`^${hostname()}:${process.pid}:job-${jobs[0]!.id}$`), 'the run names its job');
      await until('the job to complete', async () => ((await queue.jobs({ connectionId: id }))[0]?.state === 'completed' ? true : undefined));

      // With a worker: the request answers with the worker's run; a dry run stays a dry run.
      const dry = await as(app, script, { method: 'POST', url: `/api/v1/connections/${id}/sync`, payload: { mode: 'full', dryRun: true } });
      assert.equal(dry.statusCode, 202, dry.body);
      const { runId, dryRun } = dry.json() as { runId: number; dryRun: boolean };
      assert.equal(dryRun, true);
      assert.notEqual(runId, first.id);
      const run = await until('the dry run', async () => {
        const r = await store.runs.get(runId);
        return r && r.status !== 'running' ? r : undefined;
      });
      assert.equal(run.dryRun, true);
      assert.equal(run.status, 'succeeded');
      assert.match(run.leaseOwner ?? '', /:job-/);
      const shown = await as(app, script, { method: 'GET', url: `/api/v1/runs/${runId}` });
      assert.equal(shown.statusCode, 200, shown.body);
      await until('the dry run job to complete', async () => ((await queue.jobs({ connectionId: id }))[0]?.state === 'completed' ? true : undefined));

      // The events stream of a run on a worker: progress from the run's staging checkpoints, then done.
      const full = await as(app, script, { method: 'POST', url: `/api/v1/connections/${id}/sync`, payload: { mode: 'full' } });
      assert.equal(full.statusCode, 202, full.body);
      const { links } = full.json() as { links: { events: string } };
      const events = await readEvents(`${origin}${links.events}`, script.headers);
      assert.equal(events[0]?.event, 'run');
      const progress = events.filter((e) => e.event === 'progress').map((e) => e.data as { collection: string; records: number; pages: number });
      assert.ok(progress.length >= 2, `progress events: ${JSON.stringify(progress)}`);
      assert.ok(progress.some((p) => p.records > 0 && p.pages > 0), 'with record and page counts');
      assert.equal(events.at(-1)?.event, 'done');
      assert.equal(events.at(-1)?.data.status, 'succeeded');
    });
  },
  { dialects: ['postgres'] },
);
