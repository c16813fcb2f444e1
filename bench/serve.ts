/**
 * Provider throughput: start a `large` simulator in this process (no auth, no faults), then fetch
 * every `/enrollments?limit=5000` page sequentially over HTTP and report pages/s, records/s,
 * MB/s of JSON, wall time and RSS. Client and server share this process's one event loop, so the
 * numbers include the client's socket reads (bodies are counted, not parsed, except two sample
 * pages checked for the right record count).
 *
 * `--store` (issue 6, the re-served API): also the same pages served from a SQLite store holding
 * the same district (`createStoreOneRosterServer`, OAuth 2 bearer token of a stored API client),
 * and the ratio store / in-memory (target: at least 0.5). The store is `.bench/serve-<size>.db`
 * (or BENCH_SERVE_DB), built on first use by a full sync from a simulator child process (about
 * 1.5–2 min at `large`) and reused afterwards.
 *
 * Environment: BENCH_SERVE_SIZE (default large), BENCH_SERVE_FILTER (e.g. `status='active'`),
 * BENCH_SERVE_PASSES (default 2: the second pass runs with warm caches), BENCH_SERVE_DB.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { createStoreOneRosterServer } from '../src/serve/store-server.ts';
import type { DistrictSize } from '../src/simulate/district.ts';
import { startSimulator } from '../src/simulate/server.ts';
import { openStore, type Store } from '../src/store/store.ts';
import { startSimChild } from './sim-child.ts';

const MB = 1024 * 1024;

function rssMb(): string {
  return (process.memoryUsage().rss / MB).toFixed(0);
}

interface PassResult {
  pages: number;
  records: number;
  bytes: number;
  ms: number;
  /** User + system CPU time of this process during the pass (wall time is noisy on a shared machine). */
  cpuMs: number;
  firstPageMs: number;
}

async function fetchAll(dispatcher: Agent, baseUrl: string, filter: string | undefined, limit: number, headers: Record<string, string> = {}): Promise<PassResult> {
  const filterParam = filter ? `&filter=${encodeURIComponent(filter)}` : '';
  let offset = 0;
  let total = Infinity;
  let pages = 0;
  let records = 0;
  let bytes = 0;
  let firstPageMs = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  while (offset < total) {
    const tp = performance.now();
    const res = await request(`${baseUrl}/enrollments?limit=${limit}&offset=${offset}${filterParam}`, { dispatcher, headers });
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode} at offset ${offset}`);
    total = Number(res.headers['x-total-count']);
    const expected = Math.min(limit, total - offset);
    const sample = pages === 0 || offset + limit >= total;
    if (sample) {
      const text = await res.body.text();
      bytes += Buffer.byteLength(text);
      const n = (JSON.parse(text) as { enrollments: unknown[] }).enrollments.length;
      if (n !== expected) throw new Error(`page at ${offset}: ${n} records, expected ${expected}`);
    } else {
      for await (const chunk of res.body) bytes += (chunk as Buffer).length;
    }
    if (pages === 0) firstPageMs = performance.now() - tp;
    pages++;
    records += expected;
    offset += limit;
  }
  const cpu = process.cpuUsage(cpu0);
  return { pages, records, bytes, ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, firstPageMs };
}

function report(label: string, pass: number, limit: number, filter: string | undefined, r: PassResult): void {
  const s = r.ms / 1000;
  console.log(
    `${label} pass ${pass}: /enrollments?limit=${limit}${filter ? ` filter=${filter}` : ''} → ${r.pages} pages, ${r.records} records, ` +
      `${(r.bytes / MB).toFixed(1)} MB in ${s.toFixed(2)} s | ${(r.pages / s).toFixed(1)} pages/s, ` +
      `${Math.round(r.records / s)} records/s, ${(r.bytes / MB / s).toFixed(1)} MB/s | ` +
      `CPU ${(r.cpuMs / 1000).toFixed(2)} s = ${(r.bytes / MB / (r.cpuMs / 1000)).toFixed(1)} MB per CPU-second | ` +
      `first page ${r.firstPageMs.toFixed(0)} ms | RSS ${rssMb()} MB`,
  );
}

/** A store holding the district (seed 1), synced once by a child process and reused. */
async function ensureStore(size: DistrictSize): Promise<string> {
  const dir = join(process.cwd(), '.bench');
  mkdirSync(dir, { recursive: true });
  const db = process.env['BENCH_SERVE_DB'] ?? join(dir, `serve-${size}.db`);
  if (existsSync(db)) {
    const store = await openStore({ url: db });
    try {
      const conns = await store.connections.list();
      if (conns.length > 0 && (await store.records.countLive(conns[0]!.id)).enrollments.active > 0) return db;
    } finally {
      await store.close();
    }
  }
  console.log(`serve --store: building ${db} (a full sync of the ${size} simulator; minutes at large)`);
  const t0 = performance.now();
  const sim = await startSimChild({ size, seed: 1, auth: 'oauth2' });
  try {
    const input = {
      kind: 'sync', baseUrl: sim.baseUrl, tokenUrl: sim.tokenUrl, clientId: sim.clientId, clientSecret: sim.clientSecret, db,
      entities: ['academicSessions', 'orgs', 'users', 'classes', 'enrollments', 'courses', 'demographics'],
    };
    const script = fileURLToPath(new URL('./sync-pass.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', script, JSON.stringify(input)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`building the store failed (exit ${r.status})`);
  } finally {
    await sim.stop();
  }
  console.log(`serve --store: store built in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return db;
}

interface Target {
  label: string;
  baseUrl: string;
  headers: Record<string, string>;
  close(): Promise<void>;
}

/** The re-served API over the store, with a bearer token of a fresh API client. */
async function storeTarget(size: DistrictSize, dispatcher: Agent): Promise<Target> {
  const db = await ensureStore(size);
  const store: Store = await openStore({ url: db });
  const conn = (await store.connections.list())[0]!;
  const { client, clientSecret } = await store.apiClients.create({ connectionId: conn.id, name: 'bench serve', scopes: ['roster-core', 'roster'] });
  const app = await createStoreOneRosterServer({ store });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const origin = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`;
  const tok = await request(`${origin}/oauth/token`, {
    method: 'POST',
    dispatcher,
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.clientId}:${clientSecret}`).toString('base64')}` },
    body: 'grant_type=client_credentials',
  });
  const { access_token: token } = (await tok.body.json()) as { access_token: string };
  console.log(`serve --store: ${db}, connection ${conn.id}; RSS ${rssMb()} MB`);
  return {
    label: 'store',
    baseUrl: `${origin}/ims/oneroster/v1p1`,
    headers: { authorization: `Bearer ${token}` },
    close: async () => {
      await app.close();
      await store.apiClients.revoke(client.id);
      await store.close();
    },
  };
}

/**
 * Runs the benchmark and prints its numbers. `--store`: the store is served too, passes alternate
 * (memory, store, memory, store…) so that load from other processes on a shared machine hits both
 * alike, and the ratio of the best passes is printed, by wall time and by CPU time.
 */
export async function benchServe(args: string[] = []): Promise<void> {
  const size = (process.env['BENCH_SERVE_SIZE'] ?? 'large') as DistrictSize;
  const filter = process.env['BENCH_SERVE_FILTER'];
  const passes = Number(process.env['BENCH_SERVE_PASSES'] ?? '2');
  const limit = 5000;

  const tg = performance.now();
  const sim = await startSimulator({ size, seed: 1, auth: 'none' });
  const genMs = performance.now() - tg;
  console.log(`serve: ${size} district generated and listening in ${(genMs / 1000).toFixed(1)} s; ` +
    `${sim.district.size('enrollments')} enrollments; RSS ${rssMb()} MB`);
  const dispatcher = new Agent({ connections: 1, pipelining: 1, keepAliveTimeout: 30_000 });
  const targets: Target[] = [{ label: 'memory', baseUrl: sim.baseUrl, headers: {}, close: () => sim.close() }];
  try {
    if (args.includes('--store')) targets.push(await storeTarget(size, dispatcher));
    const best = new Map<string, PassResult>();
    for (let pass = 1; pass <= passes; pass++) {
      for (const t of targets) {
        const r = await fetchAll(dispatcher, t.baseUrl, filter, limit, t.headers);
        report(t.label, pass, limit, filter, r);
        const b = best.get(t.label);
        if (b === undefined || r.ms < b.ms) best.set(t.label, r);
      }
    }
    const mem = best.get('memory');
    const st = best.get('store');
    if (mem !== undefined && st !== undefined) {
      const rate = (r: PassResult): number => r.pages / (r.ms / 1000);
      const cpuRate = (r: PassResult): number => r.bytes / MB / (r.cpuMs / 1000);
      console.log(
        `\nbest passes: memory ${rate(mem).toFixed(1)} pages/s, ${(mem.bytes / MB / (mem.ms / 1000)).toFixed(1)} MB/s; ` +
          `store ${rate(st).toFixed(1)} pages/s, ${(st.bytes / MB / (st.ms / 1000)).toFixed(1)} MB/s; ` +
          `store / memory = ${(rate(st) / rate(mem)).toFixed(2)} by wall time, ${(cpuRate(st) / cpuRate(mem)).toFixed(2)} by CPU time (target ≥ 0.5)`,
      );
    }
  } finally {
    await dispatcher.close();
    for (const t of targets) await t.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchServe(process.argv.slice(2));
}
