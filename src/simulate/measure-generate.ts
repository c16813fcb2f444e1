/**
 * Measures district generation: wall time and peak RSS per size, each size in a fresh child
 * process so that one size's heap does not inflate the next one's peak.
 *
 * Usage: node --import tsx src/simulate/measure-generate.ts [tiny|small|medium|large ...] [--dirty 0.05] [--seed N] [--advance DAYS]
 * (no sizes = all four). Budget for `large` (task brief): under 60 s and under 2 GiB RSS.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { COLLECTIONS } from '../oneroster/types.ts';
import { District } from './district.ts';
import type { DistrictSize } from './generator.ts';
import { DISTRICT_SIZES } from './generator.ts';

interface Result {
  size: DistrictSize;
  generateMs: number;
  /** User + system CPU time: the honest number on a shared, loaded machine. */
  generateCpuMs: number;
  advanceMs?: number;
  peakRssMiB: number;
  heapUsedMiB: number;
  records: number;
  counts: Record<string, number>;
  contacts: number;
  teachers: number;
  students: number;
  dirty: number;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function child(size: DistrictSize): void {
  const seed = Number(arg('--seed') ?? 1);
  const dirtyRate = Number(arg('--dirty') ?? 0);
  const days = arg('--advance');
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const d = District.generate({ size, seed, dirtyRate });
  const generateMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const generateCpuMs = (cpu.user + cpu.system) / 1000;
  let advanceMs: number | undefined;
  if (days) {
    const t1 = performance.now();
    d.advance(Number(days));
    advanceMs = performance.now() - t1;
  }
  const s = d.stats();
  const counts: Record<string, number> = {};
  let records = 0;
  for (const c of COLLECTIONS) {
    counts[c] = s.counts[c].total;
    records += s.counts[c].total;
  }
  const result: Result = {
    size,
    generateMs,
    generateCpuMs,
    ...(advanceMs !== undefined ? { advanceMs } : {}),
    // maxRSS is in KiB on Linux and macOS.
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    heapUsedMiB: process.memoryUsage().heapUsed / 1048576,
    records,
    counts,
    contacts: s.contacts,
    teachers: s.teachers,
    students: s.students,
    dirty: Object.values(s.dirty).reduce((a, b) => a + b, 0),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function main(): void {
  const childSize = arg('--child');
  if (childSize) return child(childSize as DistrictSize);
  const sizes = process.argv.slice(2).filter((a): a is DistrictSize => (DISTRICT_SIZES as readonly string[]).includes(a));
  const extra: string[] = [];
  for (const flag of ['--dirty', '--seed', '--advance']) {
    const v = arg(flag);
    if (v !== undefined) extra.push(flag, v);
  }
  const self = fileURLToPath(import.meta.url);
  for (const size of sizes.length ? sizes : DISTRICT_SIZES) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', size, ...extra], { encoding: 'utf8' });
    if (r.status !== 0) {
      process.stderr.write(`${size}: failed (exit ${r.status})\n${r.stderr}`);
      process.exitCode = 1;
      continue;
    }
    const res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Result;
    const adv = res.advanceMs !== undefined ? `  advance ${(res.advanceMs / 1000).toFixed(2)} s` : '';
    console.log(
      `${size.padEnd(6)}  generate ${(res.generateMs / 1000).toFixed(2).padStart(6)} s (cpu ${(res.generateCpuMs / 1000).toFixed(2)} s)${adv}  peak RSS ${res.peakRssMiB.toFixed(0).padStart(5)} MiB` +
        `  heap ${res.heapUsedMiB.toFixed(0).padStart(5)} MiB  records ${res.records}  students ${res.students}  teachers ${res.teachers}` +
        `  contacts ${res.contacts}  dirty ${res.dirty}`,
    );
    console.log(`        ${Object.entries(res.counts).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  }
}

main();
