/**
 * Cost of the SDS validation layer next to the generic read it sits on, over a simulated district
 * sent through the wire form (`toWire` → `readEntity` → `SdsValidator.check` → `checkReferences`).
 * All toggles on, so contacts get phone validation and students flag parsing.
 * Run: `node --import tsx src/sds/rules.bench.ts [tiny|small|medium|large] [dirtyRate]` (default medium, 0.01).
 */
import type { DataIssue } from '../oneroster/issues.ts';
import { readEntity } from '../oneroster/reader.ts';
import { toWire } from '../oneroster/serialize.ts';
import { COLLECTIONS, type AnyEntity, type CollectionName } from '../oneroster/types.ts';
import { District, type DistrictSize } from '../simulate/district.ts';
import { SdsValidator, checkReferences } from './rules.ts';

const size = (process.argv[2] ?? 'medium') as DistrictSize;
const dirtyRate = Number(process.argv[3] ?? 0.01);
const district = District.generate({ size, dirtyRate });
const wire: Array<[CollectionName, unknown]> = [];
for (const c of COLLECTIONS) for (const r of district.records(c)) wire.push([c, toWire(c, r, 'https://sis.example/ims/oneroster/v1p1')]);
const read: Array<[CollectionName, AnyEntity]> = [];
for (const [c, w] of wire) {
  const r = readEntity(c, w);
  if (r.record !== undefined) read.push([c, r.record]);
}
const ids = new Set<string>();
for (const [c, r] of read) ids.add(`${c}\u0000${r.sourcedId}`);
const exists = (c: CollectionName, id: string): boolean => ids.has(`${c}\u0000${id}`);

function best(fn: () => number): { ms: number; out: number } {
  fn();
  let ms = Infinity;
  let out = 0;
  for (let i = 0; i < 5; i++) {
    const c0 = process.cpuUsage();
    out = fn();
    const c = process.cpuUsage(c0);
    ms = Math.min(ms, (c.user + c.system) / 1000);
  }
  return { ms, out };
}

const readT = best(() => {
  let n = 0;
  for (const [c, w] of wire) n += readEntity(c, w).issues.length;
  return n;
});
const sdsT = best(() => {
  const v = new SdsValidator({ toggles: { contacts: true, demographics: true, userFlags: true } });
  const issues: DataIssue[] = [];
  for (const [c, r] of read) v.check(c, r as never, issues);
  return issues.length;
});
const refT = best(() => {
  const issues: DataIssue[] = [];
  for (const [c, r] of read) checkReferences(c, r as never, exists, issues);
  return issues.length;
});
const n = read.length;
const rate = (ms: number): string => `${Math.round((n / ms) * 1000).toLocaleString('en-US')} rec/cpu-s`;
console.log(`${size}: ${n} records, dirtyRate ${dirtyRate}`);
console.log(`readEntity (generic 1.1 read)  ${readT.ms.toFixed(0).padStart(6)} ms  ${rate(readT.ms)}`);
console.log(`SdsValidator.check             ${sdsT.ms.toFixed(0).padStart(6)} ms  ${rate(sdsT.ms)}  (${sdsT.out} issues, ${(sdsT.ms / readT.ms * 100).toFixed(0)}% of the read)`);
console.log(`checkReferences                ${refT.ms.toFixed(0).padStart(6)} ms  ${rate(refT.ms)}  (${refT.out} issues)`);
