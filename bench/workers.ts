/**
 * `npm run bench -- workers [--size medium] [--connections 8] [--workers 1,2,4] [--sims 2] [--db postgres://admin-url]`:
 * throughput of the scaled setup (issue 8). For each worker count: a fresh PostgreSQL database,
 * `--connections` stored connections to simulators (child processes, `--sims` of them, the
 * connections spread over them), that many `rostersync worker` processes (concurrency 1 each),
 * one full sync of every connection queued at once; the wall time from queueing to the last run
 * applied, and records/s over all connections.
 *
 * On a 2-core machine the workers, the simulators and PostgreSQL share the same two cores, so the
 * gain from more workers is bounded by the cores; the point of workers is that throughput scales
 * with machines. The figures are printed anyway.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { SyncQueue } from '../src/services/queue.ts';
import { ensureStagingTables } from '../src/services/sync-worker.ts';
import { openStore } from '../src/store/store.ts';
import { startSimChild, type SimChild } from './sim-child.ts';

const PG_ADMIN_URL = process.env.ROSTERSYNC_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const CLI = fileURLToPath(new URL('../bin/rostersync.js', import.meta.url));

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : dflt;
}

async function admin<T>(adminUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

async function freshDatabase(adminUrl: string, name: string): Promise<string> {
  await admin(adminUrl, async (c) => {
    await c.query(`drop database if exists "${name}" with (force)`);
    await c.query(`create database "${name}"`);
  });
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

interface Worker {
  proc: ChildProcess;
  ready: Promise<void>;
  exit: Promise<number | null>;
}

function startWorker(url: string): Worker {
  const env = { ...process.env, ROSTERSYNC_LOG_LEVEL: 'warn' };
  const proc = spawn(process.execPath, [CLI, 'worker', '--db', url, '--concurrency', '1', '--poll-interval', '1s'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout! });
    rl.on('line', (l) => {
      if (/taking sync jobs/.test(l)) resolve();
    });
    void exit.then((code) => reject(new Error(`worker exited early (code ${code})`)));
  });
  return { proc, ready, exit };
}

interface Round {
  workers: number;
  wallMs: number;
  records: number;
  runs: number;
  perRunMs: number[];
  failed: number;
  /** Peak RSS of each worker process (Linux: VmHWM), MiB. */
  peakRssMiB: number[];
}

function peakRssMiB(pid: number | undefined): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

async function round(adminUrl: string, sims: SimChild[], connections: number, workers: number, size: string): Promise<Round> {
  const name = `rostersync_bench_workers_${workers}`;
  const url = await freshDatabase(adminUrl, name);
  const store = await openStore({ url });
  const procs: Worker[] = [];
  let queue: SyncQueue | undefined;
  try {
    await ensureStagingTables(store);
    const ids: string[] = [];
    for (let i = 0; i < connections; i++) {
      const sim = sims[i % sims.length]!;
      const c = await store.connections.create({ name: `${size}-${i}`, baseUrl: sim.baseUrl, authKind: 'none', options: {} });
      ids.push(c.id);
    }
    for (let i = 0; i < workers; i++) procs.push(startWorker(url));
    await Promise.all(procs.map((p) => p.ready));
    queue = await SyncQueue.open({ url });
    const t0 = performance.now();
    for (const id of ids) await queue.enqueueSync({ connectionId: id, mode: 'full', reason: 'bench' });
    for (;;) {
      await new Promise((r) => setTimeout(r, 500));
      const open = await queue.jobs({ states: ['created', 'retry', 'active'] });
      if (open.length === 0) break;
    }
    const wallMs = performance.now() - t0;
    const peaks = procs.map((p) => peakRssMiB(p.proc.pid));
    const runs = await store.runs.list({});
    let records = 0;
    for (const r of runs) for (const e of Object.values(r.entities)) records += e?.fetched ?? 0;
    const perRunMs = runs.filter((r) => r.finishedAt).map((r) => new Date(r.finishedAt!).getTime() - new Date(r.startedAt).getTime());
    return { workers, wallMs, records, runs: runs.length, perRunMs, failed: runs.filter((r) => r.status !== 'succeeded').length, peakRssMiB: peaks };
  } finally {
    for (const p of procs) if (p.proc.exitCode === null) p.proc.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exit));
    await queue?.close();
    await store.close();
    await admin(adminUrl, async (c) => void (await c.query(`drop database if exists "${name}" with (force)`)));
  }
}

export async function benchWorkers(args: string[]): Promise<void> {
  const size = arg(args, '--size', 'medium');
  const connections = Number(arg(args, '--connections', '8'));
  const counts = arg(args, '--workers', '1,2,4').split(',').map(Number);
  const simCount = Number(arg(args, '--sims', '2'));
  const adminUrl = arg(args, '--db', PG_ADMIN_URL);
  const t0 = performance.now();
  const sims = await Promise.all(Array.from({ length: simCount }, (_, i) => startSimChild({ size, seed: i + 1, auth: 'none' })));
  console.log(`${simCount} simulator(s) (${size}) ready in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${connections} connections spread over them`);
  const rounds: Round[] = [];
  try {
    for (const n of counts) {
      const r = await round(adminUrl, sims, connections, n, size);
      rounds.push(r);
      const rate = r.records / (r.wallMs / 1000);
      const avg = r.perRunMs.reduce((a, b) => a + b, 0) / Math.max(1, r.perRunMs.length);
      console.log(
        `${String(n).padStart(2)} worker(s): ${connections} full syncs, ${r.records.toLocaleString('en-US')} records in ${(r.wallMs / 1000).toFixed(1)} s = ${Math.round(rate).toLocaleString('en-US')} records/s` +
          `  (x${(rate / (rounds[0]!.records / (rounds[0]!.wallMs / 1000))).toFixed(2)} vs ${counts[0]} worker(s); mean run ${(avg / 1000).toFixed(1)} s; worker peak RSS ${Math.round(Math.max(...r.peakRssMiB))} MiB; ${r.failed} not succeeded)`,
      );
    }
  } finally {
    await Promise.all(sims.map((s) => s.stop()));
  }
  console.log('');
  console.log(
    'Note: on this 2-core machine the workers, the simulators and PostgreSQL share two cores, so more workers cannot go much past the cores; ' +
      'workers on separate machines scale with the machines (each connection runs on one worker at a time).',
  );
}
