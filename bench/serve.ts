/**
 * Provider throughput: start a `large` simulator in this process (no auth, no faults), then fetch
 * every `/enrollments?limit=5000` page sequentially over HTTP and report pages/s, records/s,
 * MB/s of JSON, wall time and RSS. Client and server share this process's one event loop, so the
 * numbers include the client's socket reads (bodies are counted, not parsed, except two sample
 * pages checked for the right record count).
 *
 * Environment: BENCH_SERVE_SIZE (default large), BENCH_SERVE_FILTER (e.g. `status='active'`),
 * BENCH_SERVE_PASSES (default 2: the second pass runs with warm caches).
 */
import { Agent, request } from 'undici';
import type { DistrictSize } from '../src/simulate/district.ts';
import { startSimulator } from '../src/simulate/server.ts';

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

async function fetchAll(dispatcher: Agent, baseUrl: string, filter: string | undefined, limit: number): Promise<PassResult> {
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
    const res = await request(`${baseUrl}/enrollments?limit=${limit}&offset=${offset}${filterParam}`, { dispatcher });
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

/** Runs the benchmark and prints its numbers. */
export async function benchServe(): Promise<void> {
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
  try {
    for (let pass = 1; pass <= passes; pass++) {
      const r = await fetchAll(dispatcher, sim.baseUrl, filter, limit);
      const s = r.ms / 1000;
      console.log(
        `serve pass ${pass}: /enrollments?limit=${limit}${filter ? ` filter=${filter}` : ''} → ${r.pages} pages, ${r.records} records, ` +
          `${(r.bytes / MB).toFixed(1)} MB in ${s.toFixed(2)} s | ${(r.pages / s).toFixed(1)} pages/s, ` +
          `${Math.round(r.records / s)} records/s, ${(r.bytes / MB / s).toFixed(1)} MB/s | ` +
          `CPU ${(r.cpuMs / 1000).toFixed(2)} s = ${(r.bytes / MB / (r.cpuMs / 1000)).toFixed(1)} MB per CPU-second | ` +
          `first page ${r.firstPageMs.toFixed(0)} ms | RSS ${rssMb()} MB`,
      );
    }
  } finally {
    await dispatcher.close();
    await sim.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchServe();
}
