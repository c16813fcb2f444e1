/**
 * The `large` district holds its referential integrity: every GUIDRef resolves, agents point both
 * ways, phones are E.164, except the deliberately dirty records, which must be exactly the ledger.
 * Generates `large` once (seconds, ~0.5-0.8 GiB), so it lives here rather than beside the code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { District } from '../src/simulate/district.ts';
import { checkIntegrity } from '../src/simulate/large-integrity.ts';

test('large district (clean) has no integrity problems and the promised size', () => {
  const d = District.generate({ size: 'large', seed: 1 });
  const report = checkIntegrity(d, { checkPhones: false });
  assert.equal(report.problemCount, 0, JSON.stringify(report.problems.slice(0, 5)));
  const s = d.stats();
  assert.ok(s.counts.enrollments.total > 1_000_000, `enrollments ${s.counts.enrollments.total}`);
  assert.ok(s.counts.demographics.total >= 95_000, `demographics ${s.counts.demographics.total}`);
  assert.ok(s.counts.orgs.total >= 100, `orgs ${s.counts.orgs.total}`);
  assert.ok(s.counts.classes.total >= 35_000, `classes ${s.counts.classes.total}`);
  assert.ok(s.counts.users.total >= 230_000, `users ${s.counts.users.total}`);
});

test('large district with dirt: integrity problems are exactly the dirty ledger', () => {
  const d = District.generate({ size: 'large', seed: 3, dirtyRate: 0.01 });
  const report = checkIntegrity(d, { checkPhones: true, maxProblems: 1_000_000 });
  const ledger = d.dirtyRecords();
  assert.ok(ledger.length > 1000);
  const key = (c: string, id: string): string => `${c}/${id}`;
  const found = new Set(report.problems.map((p) => key(p.collection, p.sourcedId)));
  const dirty = new Set(ledger.map((r) => key(r.collection, r.sourcedId)));
  for (const k of found) assert.ok(dirty.has(k), `problem on a record not in the dirty ledger: ${k}`);
  for (const k of dirty) assert.ok(found.has(k), `dirty record not detected: ${k}`);
});
