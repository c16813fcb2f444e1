/**
 * `npm run bench -- sync [--size large] [--db sqlite|postgres|postgres://…] [--bulk native|portable] [--keep-db]`:
 * in one process tree and one run — the simulator (child process), a raw download+parse pass of the
 * same endpoints (the practical limit), a first full sync into a fresh store, and a second full sync
 * with no changes. Prints records/s, wall time and peak RSS of each pass, and the ratio sync/raw.
 *
 * `--db sqlite` (default): a fresh file under `.bench/`. `--db postgres[://url]`: a fresh database
 * created through the administrative URL (`postgres` alone: `ROSTERSYNC_TEST_PG_URL`, else
 * `postgres://postgres@127.0.0.1:5432/postgres`) and dropped at the end (unless `--keep-db`); peak RSS is the sync
 * process's own, the PostgreSQL server's memory is not in it.
 *
 * Targets (issue 3, 2-core machine): first sync ≥ 40,000 records/s, no-change re-sync ≥ 80,000
 * records/s, sync peak RSS < 512 MB; issue 8: first sync on PostgreSQL ≥ 25,000 records/s.
 *
 * Profiling: `BENCH_NODE_ARGS` adds node options to the pass processes (e.g. `--cpu-prof
 * --cpu-prof-dir=.prof`); `BENCH_MEM_TRACE=1` makes each pass print its RSS and V8 heap every 2 s.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { storeLabel } from '../src/store/store.ts';
import { startSimChild } from './sim-child.ts';

export interface PassResult {
  kind: string;
  records: number;
  bytes: number;
  wallMs: number;
  peakRssMiB: number;
  /** The pass process's user + system CPU (absent in results of older passes). */
  cpuMs?: number;
  [k: string]: unknown;
}

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : dflt;
}

export function runPass(input: Record<string, unknown>): PassResult {
  const script = fileURLToPath(new URL('./sync-pass.ts', import.meta.url));
  // BENCH_NODE_ARGS: extra node options for the pass processes, e.g. `--cpu-prof --cpu-prof-dir=.prof`.
  const nodeArgs = (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const r = spawnSync(process.execPath, [...nodeArgs, '--import', 'tsx', script, JSON.stringify(input)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`pass ${String(input.kind)} failed (exit ${r.status})`);
  const last = r.stdout.trim().split('\n').pop()!;
  return JSON.parse(last) as PassResult;
}

/** The administrative PostgreSQL URL for `--db postgres` (the tests' default). */
const PG_ADMIN_URL = process.env.ROSTERSYNC_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

/** A store for the bench: its URL, and how to remove it afterwards. */
interface BenchStore {
  url: string;
  label: string;
  /** Size of the database once synced (PostgreSQL: pg_database_size), for the report. */
  size(): Promise<number | undefined>;
  drop(): Promise<void>;
}

/** A fresh SQLite file under `.bench/` (its WAL and stage files removed too); left there afterwards. */
function sqliteStore(size: string): BenchStore {
  const dir = join(process.cwd(), '.bench');
  mkdirSync(dir, { recursive: true });
  const db = join(dir, `sync-${size}.db`);
  const remove = (): void => {
    for (const suffix of ['', '-wal', '-shm', '-stage', '-stage-journal']) rmSync(db + suffix, { force: true });
  };
  remove();
  return { url: db, label: db, size: async () => undefined, drop: async () => {} };
}

/**
 * A fresh PostgreSQL database `rostersync_bench_sync_<size>` (dropped first if a killed bench left
 * it), created through `adminUrl` with the server's default collation, dropped at the end unless
 * `--keep-db`.
 */
async function postgresStore(adminUrl: string, size: string): Promise<BenchStore> {
  const name = `rostersync_bench_sync_${size.replace(/\W/g, '_')}`;
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
    client.on('error', () => {});
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end().catch(() => {});
    }
  };
  await admin(async (c) => {
    await c.query(`drop database if exists "${name}" with (force)`);
    await c.query(`create database "${name}"`);
  });
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  return {
    url,
    label: storeLabel(url),
    size: () => admin(async (c) => Number((await c.query<{ n: string }>('select pg_database_size($1) as n', [name])).rows[0]?.n)),
    drop: () => admin(async (c) => void (await c.query(`drop database if exists "${name}" with (force)`))),
  };
}

export async function benchSync(args: string[]): Promise<void> {
  const size = arg(args, '--size', 'large');
  const dbArg = arg(args, '--db', 'sqlite');
  const bulk = arg(args, '--bulk', 'native');
  if (bulk !== 'native' && bulk !== 'portable') throw new Error(`--bulk must be native or portable, not ${bulk}`);
  let store: BenchStore;
  if (dbArg === 'sqlite') store = sqliteStore(size);
  else if (dbArg === 'postgres') store = await postgresStore(PG_ADMIN_URL, size);
  else if (/^postgres(ql)?:\/\//i.test(dbArg)) store = await postgresStore(dbArg, size);
  else throw new Error(`--db must be sqlite, postgres or a postgres:// URL, not ${dbArg}`);
  const db = store.url;
  // Passes inherit the environment: ROSTERSYNC_PREP_THREADS=1 measures page preparation in a worker thread.
  console.log(`store: ${store.label} (staging: ${bulk}; page preparation threads: ${process.env['ROSTERSYNC_PREP_THREADS'] || 0})`);
  const entities = ['academicSessions', 'orgs', 'users', 'classes', 'enrollments', 'courses', 'demographics'];

  const t0 = performance.now();
  const sim = await startSimChild({ size, seed: 1, auth: 'oauth2' });
  console.log(`simulator (${size}) ready in ${((performance.now() - t0) / 1000).toFixed(1)} s at ${sim.baseUrl}`);
  const base = { baseUrl: sim.baseUrl, tokenUrl: sim.tokenUrl, clientId: sim.clientId, clientSecret: sim.clientSecret, entities };
  try {
    const raw = runPass({ ...base, kind: 'raw' });
    const first = runPass({ ...base, kind: 'sync', db, bulk });
    const second = runPass({ ...base, kind: 'sync', db, bulk });
    const rate = (p: PassResult): number => p.records / (p.wallMs / 1000);
    const row = (name: string, p: PassResult, target?: string): string =>
      `${name.padEnd(22)} ${String(p.records).padStart(9)} records  ${(p.wallMs / 1000).toFixed(1).padStart(6)} s  ${Math.round(rate(p)).toLocaleString('en-US').padStart(9)} records/s  ${(p.bytes / 1e6).toFixed(0).padStart(5)} MB  peak RSS ${p.peakRssMiB.toFixed(0).padStart(4)} MiB${p.cpuMs === undefined ? '' : `  CPU ${(p.cpuMs / 1000).toFixed(1).padStart(5)} s`}${target ? `  (target ${target})` : ''}`;
    console.log('');
    console.log(row('raw download+parse', raw));
    console.log(row('first full sync', first, dbArg === 'sqlite' ? '≥ 40,000 records/s, < 512 MiB' : '≥ 25,000 records/s (issue 8)'));
    console.log(row('no-change re-sync', second, '≥ 80,000 records/s, < 512 MiB'));
    console.log('');
    console.log(`ratio first sync / raw: ${(rate(first) / rate(raw)).toFixed(2)}   no-change / raw: ${(rate(second) / rate(raw)).toFixed(2)}`);
    console.log(`first sync: created ${first.created} unchanged ${first.unchanged} invalid ${first.invalid} (${first.status})`);
    console.log(`re-sync:    created ${second.created} updated ${second.updated} unchanged ${second.unchanged} deleted ${second.deleted} (${second.status})`);
    const share = (p: PassResult): string => {
      const t = p.timings as { validate?: number; references?: number } | undefined;
      if (t?.validate === undefined) return 'n/a';
      const v = t.validate + (t.references ?? 0);
      return `${(v / 1000).toFixed(1)} s = ${((v * 100) / p.wallMs).toFixed(1)}% of the sync (target < 15%)`;
    };
    console.log(`validation (read + SDS rules + reference checks): first sync ${share(first)}; re-sync ${share(second)}`);
    if (first.timings) console.log(`first sync phases: ${JSON.stringify(first.timings)}`);
    if (second.timings) console.log(`re-sync phases:    ${JSON.stringify(second.timings)}`);
    const bytes = await store.size();
    if (bytes !== undefined) console.log(`database size after both syncs: ${(bytes / 2 ** 20).toFixed(0)} MiB`);
  } finally {
    await sim.stop();
    if (!args.includes('--keep-db')) await store.drop();
  }
}
