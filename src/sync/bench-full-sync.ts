/**
 * Throughput of the full-sync engine without HTTP: a synthetic PageReader generates N
 * enrollment-like wire records (sorted sourcedIds, hrefs, like a 1.1 provider), serialises each
 * page and parses it back (the client's parse cost), into a SQLite file store.
 *
 * Run: `node --import tsx src/sync/bench-full-sync.ts [records=1000000] [pageSize=1000] [flags]`
 * Flags (comma-separated): `first` (first sync only). Env BENCH_CACHE_MIB / BENCH_PAGE_SIZE set the SQLite page cache / page size.
 * Reports first sync and no-change re-sync in records/s (wall and per CPU-second of this process),
 * the time spent generating+stringifying pages (the provider's share, which runs in another
 * process in production), and peak RSS (VmHWM).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CollectionName } from '../oneroster/types.ts';
import type { FetchedPage, PageReader, ReadOptions } from '../source/page-reader.ts';
import { openStore } from '../store/store.ts';
import { runSync, type RunResult } from './full-sync.ts';

const N = Number(process.argv[2] ?? 1_000_000);
const PAGE = Number(process.argv[3] ?? 1000);
const FLAGS = new Set((process.argv[4] ?? '').split(',').filter(Boolean));
const H = 'https://sis.example.org/ims/oneroster/v1p1';

function enrollment(i: number, salt: string): Record<string, unknown> {
  const u = `u-${String(i % 90_000).padStart(6, '0')}`;
  const k = `k-${String(i % 6_000).padStart(5, '0')}`;
  const s = `s-${String(i % 40).padStart(3, '0')}`;
  return {
    sourcedId: `e-${String(i).padStart(8, '0')}`,
    status: 'active',
    dateLastModified: '2025-08-01T12:00:00.000Z',
    user: { href: `${H}/users/${u}`, sourcedId: u, type: 'user' },
    class: { href: `${H}/classes/${k}`, sourcedId: k, type: 'class' },
    school: { href: `${H}/orgs/${s}`, sourcedId: s, type: 'org' },
    role: i % 25 === 0 ? 'teacher' : 'student',
    primary: i % 25 === 0,
    beginDate: '2025-08-20',
    endDate: salt === '' ? '2026-06-10' : '2026-06-11',
  };
}

/** Generates pages on the fly; `changeEvery` > 0 alters every Nth record (for an update pass). */
class SyntheticReader implements PageReader {
  providerMs = 0;
  constructor(private readonly changeEvery = 0) {}

  async *readPages(collection: CollectionName, options: ReadOptions = {}): AsyncIterable<FetchedPage> {
    if (collection !== 'enrollments') {
      yield { collection, offset: 0, index: 0, items: [], bytes: 2, requests: 1 };
      return;
    }
    for (let offset = options.startOffset ?? 0, index = 0; offset < N; offset += PAGE, index++) {
      const t = performance.now();
      const items: unknown[] = [];
      for (let i = offset; i < Math.min(N, offset + PAGE); i++) {
        items.push(enrollment(i, this.changeEvery > 0 && i % this.changeEvery === 0 ? 'x' : ''));
      }
      const text = JSON.stringify(items);
      this.providerMs += performance.now() - t;
      await new Promise((r) => setImmediate(r)); // a network boundary: yield to the event loop
      yield { collection, offset, index, items: JSON.parse(text) as unknown[], bytes: Buffer.byteLength(text), total: N, requests: 1 };
    }
  }
}

function peakRssMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : Math.round(process.memoryUsage().rss / 2 ** 20);
}

async function pass(label: string, fn: () => Promise<{ res: RunResult; reader: SyntheticReader }>): Promise<void> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const { res, reader } = await fn();
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const e = res.entities.enrollments!;
  const provider = reader.providerMs / 1000;
  console.log(
    `${label.padEnd(22)} ${res.status} created=${e.created} updated=${e.updated} unchanged=${e.unchanged} deleted=${e.deleted}\n` +
      `${''.padEnd(22)} wall ${wall.toFixed(1)} s → ${Math.round(N / wall).toLocaleString()} rec/s; ` +
      `without provider-side generation (${provider.toFixed(1)} s) → ${Math.round(N / (wall - provider)).toLocaleString()} rec/s; ` +
      `CPU ${cpuS.toFixed(1)} s → ${Math.round(N / (cpuS - provider)).toLocaleString()} rec/cpu-s (engine only); peak RSS ${peakRssMiB()} MiB\n` +
      `${''.padEnd(22)} phases ms ${JSON.stringify(res.timings)}`,
  );
}

const dir = mkdtempSync(join(tmpdir(), 'rostersync-bench-'));
try {
  const file = join(dir, 'bench.db');
  const store = await openStore({
    url: file,
    ...(process.env['BENCH_CACHE_MIB'] ? { cacheMiB: Number(process.env['BENCH_CACHE_MIB']) } : {}),
    ...(process.env['BENCH_PAGE_SIZE'] ? { pageSize: Number(process.env['BENCH_PAGE_SIZE']) } : {}),
  });
  await store.connections.create({ id: 'bench', name: 'bench', baseUrl: H, authKind: 'none' });
  const run = (changeEvery = 0) => async () => {
    const reader = new SyntheticReader(changeEvery);
    const res = await runSync({ store, reader, connectionId: 'bench', entities: ['enrollments'] });
    return { res, reader };
  };
  console.log(`records=${N.toLocaleString()} pageSize=${PAGE} db=${file}`);
  await pass('first sync', run());
  if (!FLAGS.has('first')) {
    await pass('no-change re-sync', run());
    await pass('re-sync, 1% changed', run(100));
  }
  console.log(`db size ${Math.round(statSync(file).size / 2 ** 20)} MiB (+wal ${Math.round((statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0) / 2 ** 20)} MiB)`);
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
