/**
 * `npm run bench -- delta [--size large] [--percent 1] [--days 1]`: the issue 4 delta benchmark.
 * One simulator (child process); a first full sync into a fresh SQLite file; the simulator churns
 * until about 1% of records changed (at least --days days); a delta sync. Prints both times and
 * their ratio.
 * Target: the delta takes less than 10% of the first full sync's time.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startSimChild } from './sim-child.ts';
import { runPass, type PassResult } from './sync.ts';

function arg(args: string[], name: string, dflt: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : dflt;
}

export async function benchDelta(args: string[]): Promise<void> {
  const size = arg(args, '--size', 'large');
  const minDays = Number(arg(args, '--days', '1'));
  const dir = join(process.cwd(), '.bench');
  mkdirSync(dir, { recursive: true });
  const db = join(dir, `delta-${size}.db`);
  for (const suffix of ['', '-wal', '-shm']) rmSync(db + suffix, { force: true });
  const entities = ['academicSessions', 'orgs', 'users', 'classes', 'enrollments', 'courses', 'demographics'];
  const sim = await startSimChild({ size, seed: 1, auth: 'oauth2' });
  const base = { baseUrl: sim.baseUrl, tokenUrl: sim.tokenUrl, clientId: sim.clientId, clientSecret: sim.clientSecret, entities, db };
  try {
    const first = runPass({ ...base, kind: 'sync', mode: 'full' });
    const root = sim.baseUrl.replace(/\/ims\/oneroster\/v1p1$/, '');
    // The "one churn day" changes about 1% of records. Our simulator's day is calmer
    // (~0.1%), so it advances day by day until at least --percent of the records changed.
    const want = (Number(arg(args, '--percent', '1')) / 100) * first.records;
    let changed = 0;
    let days = 0;
    const t = performance.now();
    while (changed < want && days < 120) {
      const res = await fetch(`${root}/simulator/advance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ days: 1 }) });
      if (!res.ok) throw new Error(`advance failed: ${res.status}`);
      const churn = (await res.json()) as { byCollection: Record<string, Record<string, number>> };
      for (const k of Object.values(churn.byCollection)) changed += Object.values(k).reduce((a, b) => a + b, 0);
      days++;
      if (days >= minDays && changed >= want) break;
    }
    const advanceMs = performance.now() - t;
    const delta = runPass({ ...base, kind: 'sync', mode: 'delta' });
    const line = (name: string, p: PassResult): string =>
      `${name.padEnd(16)} ${String(p.records).padStart(9)} records fetched  ${(p.wallMs / 1000).toFixed(2).padStart(7)} s  created ${p.created} updated ${p.updated} deleted ${p.deleted}  peak RSS ${p.peakRssMiB.toFixed(0)} MiB  (${String(p.status)}, ${String(p.mode)})`;
    console.log('');
    console.log(line('first full sync', first));
    console.log(`simulator advanced ${days} day(s) in ${(advanceMs / 1000).toFixed(1)} s: ${changed} record changes (${((changed * 100) / first.records).toFixed(2)}% of ${first.records})`);
    console.log(line('delta sync', delta));
    const ratio = delta.wallMs / first.wallMs;
    console.log('');
    console.log(`delta / first full sync: ${(ratio * 100).toFixed(1)}%  (target < 10%)`);
    if (delta.timings) console.log(`delta phases: ${JSON.stringify(delta.timings)}`);
  } finally {
    await sim.stop();
  }
}
