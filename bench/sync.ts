/**
 * `npm run bench -- sync [--size large] [--db sqlite]`: in one process tree and one run —
 * the simulator (child process), a raw download+parse pass of the same endpoints (the practical
 * limit), a first full sync into a fresh SQLite file, and a second full sync with no changes.
 * Prints records/s, wall time and peak RSS of each pass, and the ratio sync/raw.
 * Targets (issue 3, 2-core machine): first sync ≥ 40,000 records/s, no-change re-sync ≥ 80,000
 * records/s, sync peak RSS < 512 MB.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSimChild } from './sim-child.ts';

export interface PassResult {
  kind: string;
  records: number;
  bytes: number;
  wallMs: number;
  peakRssMiB: number;
  [k: string]: unknown;
}

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : dflt;
}

export function runPass(input: Record<string, unknown>): PassResult {
  const script = fileURLToPath(new URL('./sync-pass.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, JSON.stringify(input)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`pass ${String(input.kind)} failed (exit ${r.status})`);
  const last = r.stdout.trim().split('\n').pop()!;
  return JSON.parse(last) as PassResult;
}

export async function benchSync(args: string[]): Promise<void> {
  const size = arg(args, '--size', 'large');
  const dir = join(process.cwd(), '.bench');
  mkdirSync(dir, { recursive: true });
  const db = join(dir, `sync-${size}.db`);
  for (const suffix of ['', '-wal', '-shm']) rmSync(db + suffix, { force: true });
  const entities = ['academicSessions', 'orgs', 'users', 'classes', 'enrollments', 'courses', 'demographics'];

  const t0 = performance.now();
  const sim = await startSimChild({ size, seed: 1, auth: 'oauth2' });
  console.log(`simulator (${size}) ready in ${((performance.now() - t0) / 1000).toFixed(1)} s at ${sim.baseUrl}`);
  const base = { baseUrl: sim.baseUrl, tokenUrl: sim.tokenUrl, clientId: sim.clientId, clientSecret: sim.clientSecret, entities };
  try {
    const raw = runPass({ ...base, kind: 'raw' });
    const first = runPass({ ...base, kind: 'sync', db });
    const second = runPass({ ...base, kind: 'sync', db });
    const rate = (p: PassResult): number => p.records / (p.wallMs / 1000);
    const row = (name: string, p: PassResult, target?: string): string =>
      `${name.padEnd(22)} ${String(p.records).padStart(9)} records  ${(p.wallMs / 1000).toFixed(1).padStart(6)} s  ${Math.round(rate(p)).toLocaleString('en-US').padStart(9)} records/s  ${(p.bytes / 1e6).toFixed(0).padStart(5)} MB  peak RSS ${p.peakRssMiB.toFixed(0).padStart(4)} MiB${target ? `  (target ${target})` : ''}`;
    console.log('');
    console.log(row('raw download+parse', raw));
    console.log(row('first full sync', first, '≥ 40,000 records/s, < 512 MiB'));
    console.log(row('no-change re-sync', second, '≥ 80,000 records/s, < 512 MiB'));
    console.log('');
    console.log(`ratio first sync / raw: ${(rate(first) / rate(raw)).toFixed(2)}   no-change / raw: ${(rate(second) / rate(raw)).toFixed(2)}`);
    console.log(`first sync: created ${first.created} unchanged ${first.unchanged} invalid ${first.invalid} (${first.status})`);
    console.log(`re-sync:    created ${second.created} updated ${second.updated} unchanged ${second.unchanged} deleted ${second.deleted} (${second.status})`);
    if (first.timings) console.log(`first sync phases: ${JSON.stringify(first.timings)}`);
    if (second.timings) console.log(`re-sync phases:    ${JSON.stringify(second.timings)}`);
  } finally {
    await sim.stop();
  }
}
