/**
 * Issue 8, "Done means": three `rostersync worker` processes against PostgreSQL, twelve stored
 * connections to simulators (latency makes each run take a few seconds), a full sync of each
 * queued; one worker is SIGKILLed mid-run. Its job comes back after the lease, another worker
 * resumes the run (same run id, staged pages kept), and every connection ends with one succeeded
 * run and a store equal to a fresh full sync (same live ids and content hashes), with every row
 * written once (row_version 1, one `created` history row per row). A second worker is SIGTERMed
 * mid-run: it lets go after the page in hand, exits 0, and its run is resumed by another worker
 * through a fresh job. PostgreSQL only (skipped with the reason without one).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { COLLECTIONS } from '../src/oneroster/types.ts';
import { SyncQueue } from '../src/services/queue.ts';
import { ensureStagingTables } from '../src/services/sync-worker.ts';
import { storedAccess } from '../src/services/stored-connection.ts';
import { syncConnection } from '../src/services/sync-service.ts';
import { startSimulator, type RunningSimulator } from '../src/simulate/server.ts';
import type { Connection } from '../src/store/connection-repository.ts';
import { liveTable } from '../src/store/schema.ts';
import { openStore, type Store } from '../src/store/store.ts';
import { forEachDialect } from '../src/store/test-dialects.ts';

const CLI = join(import.meta.dirname, '..', 'bin', 'rostersync.js');
const LEASE = '10s';

interface WorkerProc {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exit: Promise<number | null>;
}

function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ROSTERSYNC_LOG_LEVEL: 'warn', ...extra };
  delete env.ROSTERSYNC_DATABASE_URL;
  delete env.ROSTERSYNC_DB;
  return env;
}

function startCli(args: string[], env: NodeJS.ProcessEnv = cliEnv()): WorkerProc {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exit };
}

function startWorker(url: string): WorkerProc {
  return startCli(['worker', '--db', url, '--lease-timeout', LEASE, '--poll-interval', '1s']);
}

function runCli(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: cliEnv(), timeout: 60_000 }, (err, _stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr });
    });
  });
}

async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string, detail?: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for: ${what}${detail ? `\n${detail()}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** sourcedId → `status/content_hash` of every live row of a connection, per collection. */
async function liveRows(store: Store, connectionId: string): Promise<Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, string>> = {};
  for (const c of COLLECTIONS) {
    const rows = await store.db.selectFrom(liveTable(c)).select(['sourced_id', 'status', 'content_hash']).where('connection_id', '=', connectionId).execute();
    out[c] = Object.fromEntries(rows.map((r) => [r.sourced_id, `${r.status}/${r.content_hash}`]));
  }
  return out;
}

/** A short account of how two `liveRows` maps differ (the assertion's own diff cuts long maps). */
function rowDiff(actual: Record<string, string>, expected: Record<string, string>): string {
  const missing = Object.keys(expected).filter((k) => !(k in actual));
  const extra = Object.keys(actual).filter((k) => !(k in expected));
  const changed = Object.keys(expected).filter((k) => k in actual && actual[k] !== expected[k]);
  const some = (l: string[]): string => `${l.length}${l.length > 0 ? ` e.g. ${l.sort().slice(0, 5).join(', ')}` : ''}`;
  return `missing ${some(missing)}; extra ${some(extra)}; changed ${some(changed)}`;
}

forEachDialect(
  'workers',
  ({ it, freshUrl }) => {
    it('3 workers, 12 connections, one worker SIGKILLed mid-run: every run completes, every store equals a fresh full sync', async (t) => {
      // Ten tiny districts read 20 records a page and two small ones 1000 a page, each page 120 ms
      // late: every run takes a few seconds, so the kill lands mid-run.
      const specs = [
        ...Array.from({ length: 10 }, (_, i) => ({ size: 'tiny' as const, seed: 100 + i, pageSize: 20 })),
        { size: 'small' as const, seed: 200, pageSize: 1000 },
        { size: 'small' as const, seed: 201, pageSize: 1000 },
      ];
      const sims: RunningSimulator[] = [];
      const workers: WorkerProc[] = [];
      let store: Store | undefined;
      let queue: SyncQueue | undefined;
      t.after(async () => {
        for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
        await Promise.all(workers.map((w) => w.exit));
        await queue?.close();
        await store?.close();
        await Promise.all(sims.map((s) => s.close()));
      });
      sims.push(...(await Promise.all(specs.map((s) => startSimulator({ size: s.size, seed: s.seed, auth: 'none', faults: 'latency=120ms' })))));
      const url = await freshUrl();
      store = await openStore({ url });
      await ensureStagingTables(store); // before the workers race to (see ensureStagingTables)
      const connections: Connection[] = [];
      for (const [i, s] of specs.entries()) {
        connections.push(await store.connections.create({ name: `district-${i}`, baseUrl: sims[i]!.baseUrl, authKind: 'none', options: { pageSize: s.pageSize } }));
      }

      for (let i = 0; i < 3; i++) workers.push(startWorker(url));
      const logs = (): string => workers.map((w, i) => `worker ${i} (pid ${w.child.pid}): ${w.err().slice(-2000)}`).join('\n');
      await until(() => workers.every((w) => /taking sync jobs/.test(w.out())), 60_000, 'workers ready', logs);

      queue = await SyncQueue.open({ url });
      for (const c of connections) assert.ok((await queue.enqueueSync({ connectionId: c.id, mode: 'full', reason: 'test' })).jobId, 'queued');

      /** A live worker (not in `skip`) with a run that staged a page (so there is something to resume). */
      const midRun = async (skip: WorkerProc[]): Promise<{ worker: WorkerProc; runId: number; connectionId: string }> => {
        let found: { worker: WorkerProc; runId: number; connectionId: string } | undefined;
        await until(
          async () => {
            for (const w of workers) {
              if (skip.includes(w) || w.child.exitCode !== null) continue;
              const owner = `${hostname()}:${w.child.pid}`;
              const running = await store!.db.selectFrom('runs').select(['id', 'connection_id']).where('status', '=', 'running').where('lease_owner', 'like', `${owner}:job-%`).execute();
              for (const r of running) {
                if ((await store!.staging.checkpoints(r.id)).size > 0) {
                  found = { worker: w, runId: r.id, connectionId: r.connection_id };
                  return true;
                }
              }
            }
            return false;
          },
          30_000,
          'a worker mid-run with a staged page',
          logs,
        );
        return found!;
      };

      // One worker dies without a word.
      const victim = await midRun([]);
      victim.worker.child.kill('SIGKILL');
      await victim.worker.exit;

      // Another is told to stop while mid-run: it lets go after the page in hand and exits 0; its job
      // goes back to the queue. A fresh worker joins, so two keep working.
      const stopped = await midRun([victim.worker]);
      stopped.worker.child.kill('SIGTERM');
      const stopCode = await Promise.race([stopped.worker.exit, new Promise((r) => setTimeout(() => r('timeout'), 20_000))]);
      assert.equal(stopCode, 0, `a SIGTERMed worker exits 0 soon, mid-run\n${logs()}`);
      assert.match(stopped.worker.out(), /Stopped\./, 'stopped cleanly');
      workers.push(startWorker(url));

      // Everything completes: the killed job comes back after the lease and is resumed.
      await until(
        async () => {
          const open = await queue!.jobs({ states: ['created', 'retry', 'active'] });
          if (open.length > 0) return false;
          const ok = await store!.db.selectFrom('runs').select('connection_id').where('status', '=', 'succeeded').execute();
          return new Set(ok.map((r) => r.connection_id)).size === connections.length;
        },
        90_000,
        'every connection synced',
        logs,
      );

      // The survivors stop gracefully.
      const survivors = workers.filter((w) => w !== victim.worker && w !== stopped.worker);
      for (const w of survivors) w.child.kill('SIGTERM');
      const codes = await Promise.all(survivors.map((w) => w.exit));
      assert.deepEqual(codes, [0, 0], `survivors exit 0 on SIGTERM\n${logs()}`);
      for (const w of survivors) assert.match(w.out(), /Stopped\./, 'stopped cleanly');

      // The killed run was resumed under its id by another worker, its job taken again once.
      const killedRuns = await store.runs.list({ connectionId: victim.connectionId });
      assert.deepEqual(
        killedRuns.map((r) => [r.id, r.status]),
        [[victim.runId, 'succeeded']],
        'the killed run was resumed (same id) and succeeded; no second run',
      );
      assert.ok(killedRuns[0]!.resumes >= 1, `resumed (${killedRuns[0]!.resumes})`);
      assert.ok(!(killedRuns[0]!.leaseOwner ?? '').startsWith(`${hostname()}:${victim.worker.child.pid}:`), 'finished by another worker');
      const killedJobs = await queue.jobs({ connectionId: victim.connectionId });
      assert.deepEqual(killedJobs.map((j) => [j.state, j.retryCount]), [['completed', 1]], 'the job was taken again once after its lease');

      // The released run was handed back (its job completed, a fresh one queued) and resumed too.
      const releasedRuns = await store.runs.list({ connectionId: stopped.connectionId });
      assert.deepEqual(releasedRuns.map((r) => [r.id, r.status]), [[stopped.runId, 'succeeded']], 'the released run was resumed under its id');
      assert.ok(releasedRuns[0]!.resumes >= 1, 'released run resumed');
      const releasedJobs = await queue.jobs({ connectionId: stopped.connectionId });
      assert.deepEqual(
        releasedJobs.map((j) => [j.reason, j.state, j.retryCount]),
        [['released', 'completed', 0], ['test', 'completed', 0]],
        'handed back without using a retry',
      );
      assert.deepEqual((releasedJobs[1]!.output as { code?: string }).code, 'released', 'the first job recorded the release');

      // Every store equals a fresh full sync of the same provider, and every row was written once.
      const fresh = await Promise.all(
        connections.map(async (c) => {
          const lite = await openStore({ url: ':memory:' });
          try {
            const target = await storedAccess(store!, c);
            const r = await syncConnection({ store: lite, access: { ...target.access, pageSize: 5000 }, connectionName: c.name, optional: target.optional, toggles: target.toggles });
            assert.equal(r.result.status, 'succeeded', `fresh sync of ${c.name}`);
            return await liveRows(lite, r.connection.id);
          } finally {
            await lite.close();
          }
        }),
      );
      for (const [i, c] of connections.entries()) {
        const runs = await store.runs.list({ connectionId: c.id });
        assert.deepEqual(runs.map((r) => r.status), ['succeeded'], `${c.name}: one run, succeeded`);
        const rows = await liveRows(store, c.id);
        let total = 0;
        for (const coll of COLLECTIONS) {
          assert.deepEqual(rows[coll], fresh[i]![coll], `${c.name} ${coll}: same live ids and content hashes as a fresh full sync (${rowDiff(rows[coll]!, fresh[i]![coll]!)})`);
          total += Object.keys(rows[coll]!).length;
        }
        assert.ok(total > 0, `${c.name} has rows`);
        for (const coll of COLLECTIONS) {
          const rewritten = await store.db.selectFrom(liveTable(coll)).select('sourced_id').where('connection_id', '=', c.id).where('row_version', '<>', 1).execute();
          assert.equal(rewritten.length, 0, `${c.name} ${coll}: every row written once (row_version 1)`);
        }
        const created = await store.db.selectFrom('changes').select((eb) => eb.fn.countAll<number>().as('n')).where('connection_id', '=', c.id).where('kind', '=', 'created').where('applied', '=', 1).executeTakeFirstOrThrow();
        assert.equal(Number(created.n), total, `${c.name}: one 'created' history row per row (nothing applied twice)`);
      }
    });
  },
  { dialects: ['postgres'] },
);

test('the queue needs PostgreSQL: worker, serve --no-worker and sync --queue refuse a SQLite store', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rostersync-workers-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'store.db');
  for (const args of [['worker', '--db', db], ['serve', '--no-worker', '--port', '0', '--db', db], ['sync', '--connection', 'x', '--queue', '--db', db]]) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: exit 2 (${r.stderr})`);
    assert.match(r.stderr, /needs a PostgreSQL store/, `${args[0]} says why`);
  }
});

forEachDialect(
  'serve on PostgreSQL',
  ({ it, freshUrl }) => {
    it('two nodes: the leader queues a due sync once, the worker node runs it, the --no-worker node runs nothing', async (t) => {
      const sim = await startSimulator({ size: 'tiny', auth: 'oauth2', seed: 7 });
      const nodes: WorkerProc[] = [];
      t.after(async () => {
        for (const n of nodes) if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL');
        await Promise.all(nodes.map((n) => n.exit));
        await sim.close();
      });
      const url = await freshUrl();
      const key = randomBytes(32).toString('hex');
      const store = await openStore({ url, secretKey: key });
      t.after(() => store.close());
      const conn = await store.connections.create({
        name: 'district',
        baseUrl: sim.baseUrl,
        authKind: 'oauth2',
        options: { tokenUrl: sim.tokenUrl, clientId: sim.clientId, schedule: { enabled: true } },
        secret: sim.clientSecret,
      });
      const env = cliEnv({ ROSTERSYNC_SECRET_KEY: key, ROSTERSYNC_LOG_LEVEL: 'info' });
      const apiOnly = startCli(['serve', '--port', '0', '--db', url, '--no-worker'], env);
      nodes.push(apiOnly);
      await until(() => /serving on/.test(apiOnly.out()), 60_000, 'API node up', apiOnly.err);
      const full = startCli(['serve', '--port', '0', '--db', url, '--concurrency', '1'], env);
      nodes.push(full);
      await until(() => /serving on/.test(full.out()), 60_000, 'worker node up', full.err);
      assert.match(apiOnly.out(), /worker off \(--no-worker\)/);
      assert.match(full.out(), /worker on: 1 sync\(s\) at once/);

      await until(async () => (await store.runs.list({ connectionId: conn.id })).some((r) => r.status !== 'running'), 60_000, 'the scheduled sync ran', () => full.err());
      const runs = await store.runs.list({ connectionId: conn.id });
      assert.deepEqual(runs.map((r) => [r.mode, r.status]), [['full', 'succeeded']], JSON.stringify(runs.map((r) => r.error ?? null)));
      assert.ok((runs[0]!.leaseOwner ?? '').startsWith(`${hostname()}:${full.child.pid}:job-`), `run by the node with a worker: ${runs[0]!.leaseOwner}`);
      const queue = await SyncQueue.open({ url });
      t.after(() => queue.close());
      // The run row is final before the worker completes its job (after-apply work comes in between).
      await until(async () => (await queue.jobs({ connectionId: conn.id })).every((j) => j.state !== 'active' && j.state !== 'created'), 30_000, 'the job finished');
      const jobs = await queue.jobs({ connectionId: conn.id });
      assert.deepEqual(jobs.map((j) => [j.reason, j.state]), [['schedule', 'completed']], 'queued once, by one leader');

      const states = await Promise.all(
        nodes.map(async (n) => {
          const base = /serving on (http:\/\/\S+?) /.exec(n.out())![1]!;
          return ((await (await fetch(`${base}/healthz`)).json()) as { scheduler: { state: string } }).scheduler.state;
        }),
      );
      assert.deepEqual([...states].sort(), ['idle', 'running'], `one leader scheduling, one standing by: ${states.join(', ')}`);

      for (const n of nodes) n.child.kill('SIGTERM');
      assert.deepEqual(await Promise.all(nodes.map((n) => n.exit)), [0, 0], 'both stop cleanly');
      for (const n of nodes) assert.ok(!(n.out() + n.err()).includes(sim.clientSecret), 'the secret is never printed or logged');
    });
  },
  { dialects: ['postgres'] },
);
