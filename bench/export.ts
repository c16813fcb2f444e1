/**
 * Export benchmark (issue 6: "exporting `large` stays under 512 MB RSS"): generates a District
 * in-process, reads it through the in-memory RosterReader and writes the OneRoster 1.1 CSV zip
 * (and/or the SDS v2.1 CSV files), printing time, rows/s and memory.
 *
 * Memory is reported two ways, honestly: the District's own footprint (RSS after generation and a
 * GC, minus RSS at start) and the export's peak RSS above that baseline (sampled every 10 ms while
 * exporting). The in-memory reader adds one sorted pointer array per collection being read; a
 * store-backed reader would not hold the District at all.
 *
 * Usage: node --expose-gc --import tsx bench/export.ts [--size large] [--seed 1]
 *          [--format oneroster|sds|both] [--out DIR] [--keep] [--verify]
 * (or `benchExport(args)` from bench/run.ts). `--verify` re-reads the zip and counts rows.
 * `--format both` runs each format in its own child process: a second export in the same process
 * would inherit the first one's grown heap and overstate its own peak.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { COLLECTIONS } from '../src/oneroster/types.ts';
import { MemoryRosterReader } from '../src/outputs/memory-roster-reader.ts';
import { exportOneRosterCsv } from '../src/outputs/oneroster-csv.ts';
import { exportSdsCsv } from '../src/outputs/sds-csv.ts';
import { readZipEntries } from '../src/outputs/zip-entries.ts';
import { District, type DistrictSize } from '../src/simulate/district.ts';

const MiB = 1024 * 1024;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
}

/** Samples RSS until stopped; returns the peak seen. */
function rssSampler(intervalMs = 10): { stop: () => number } {
  let peak = process.memoryUsage.rss();
  const t = setInterval(() => {
    const r = process.memoryUsage.rss();
    if (r > peak) peak = r;
  }, intervalMs);
  return {
    stop: () => {
      clearInterval(t);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}

async function measure<T>(label: string, rows: (r: T) => number, baselineRss: number, run: () => Promise<T>): Promise<T> {
  gc();
  const sampler = rssSampler();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await run();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const peak = sampler.stop();
  const n = rows(result);
  console.log(
    `${label.padEnd(16)} ${(ms / 1000).toFixed(2)} s (cpu ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s)  ${n.toLocaleString('en-US')} rows  ` +
      `${Math.round(n / (ms / 1000)).toLocaleString('en-US')} rows/s  peak RSS ${mib(peak)}  (+${mib(Math.max(0, peak - baselineRss))} over the District baseline)`,
  );
  return result;
}

/** Runs the export benchmark (see the file header). */
export async function benchExport(args: string[]): Promise<void> {
  const size = (arg(args, '--size') ?? 'large') as DistrictSize;
  const seed = Number(arg(args, '--seed') ?? 1);
  const format = arg(args, '--format') ?? 'oneroster';
  const keep = args.includes('--keep');
  const verify = args.includes('--verify');
  if (!['oneroster', 'sds', 'both'].includes(format)) throw new RangeError(`--format must be oneroster, sds or both, got ${format}`);
  if (format === 'both') {
    const script = fileURLToPath(import.meta.url);
    const rest = args.filter((a, i) => a !== '--format' && args[i - 1] !== '--format');
    for (const f of ['oneroster', 'sds']) {
      const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', script, ...rest, '--format', f], { stdio: 'inherit' });
      if (r.status !== 0) process.exitCode = r.status ?? 1;
    }
    return;
  }
  if (!(globalThis as { gc?: unknown }).gc) console.log('(run with node --expose-gc for steadier baselines)');

  const startRss = process.memoryUsage.rss();
  const t0 = performance.now();
  const district = District.generate({ size, seed });
  const genMs = performance.now() - t0;
  gc();
  const baseline = process.memoryUsage.rss();
  let records = 0;
  for (const c of COLLECTIONS) records += district.size(c);
  console.log(`district ${size} seed ${seed}: ${records.toLocaleString('en-US')} records, generated in ${(genMs / 1000).toFixed(2)} s`);
  console.log(`RSS at start ${mib(startRss)}, after generation + GC ${mib(baseline)} (District ≈ ${mib(baseline - startRss)}), heap used ${mib(process.memoryUsage().heapUsed)}`);

  const outDir = arg(args, '--out') ?? (await mkdtemp(join(tmpdir(), 'rostersync-bench-export-')));
  const reader = MemoryRosterReader.fromSource(district, { batchSize: 1000 });
  try {
    if (format === 'oneroster' || format === 'both') {
      const outFile = join(outDir, 'oneroster.zip');
      const summary = await measure('oneroster-csv', (s) => Object.values(s.files).reduce((n, f) => n + (f?.rows ?? 0), 0), baseline, () => exportOneRosterCsv(reader, { outFile }));
      console.log(`  zip ${mib(summary.bytes)} at ${outFile}`);
      console.log(`process peak RSS (getrusage, includes generation): ${mib(process.resourceUsage().maxRSS * 1024)}`);
      if (verify) {
        const entries = readZipEntries(await readFile(outFile));
        const counts = entries.map((e) => `${e.name}=${e.data.toString('utf8').split('\r\n').length - 2}`);
        console.log(`  verified (CRC + row count incl. quoted CRLF as rows): ${counts.join(' ')}`);
      }
    }
    if (format === 'sds' || format === 'both') {
      const dir = join(outDir, 'sds');
      const summary = await measure('sds-csv', (s) => Object.values(s.files).reduce((n: number, f) => n + (f ?? 0), 0), baseline, () =>
        exportSdsCsv(reader, { outDir: dir, toggles: { contacts: true, demographics: true, userFlags: true } }),
      );
      console.log(`  ${Object.entries(summary.files).map(([f, n]) => `${f}=${n}`).join(' ')}`);
      console.log(`process peak RSS (getrusage, includes generation): ${mib(process.resourceUsage().maxRSS * 1024)}`);
    }
  } finally {
    if (!keep && arg(args, '--out') === undefined) await rm(outDir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchExport(process.argv.slice(2));
}
