/**
 * Issue 5: "Against the simulator with --dirty, the report finds exactly the dirty records the
 * simulator planted, by kind." A `small` district with dirtyRate 0.05 is synced through
 * `syncConnection` with every SDS toggle on; the stored issues are compared with the simulator's
 * ledger (src/simulate/dirty.ts).
 *
 * `dangling-reference` (enrollments pointing at a class or user that does not exist) is found by
 * the engine's reference check after staging (src/sync/reference-check.ts), not by the codec.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { syncConnection } from '../src/services/sync-service.ts';
import { startSimulator, type RunningSimulator } from '../src/simulate/server.ts';
import type { DirtyKind, DirtyRecord } from '../src/simulate/district.ts';
import { openStore, type Store } from '../src/store/store.ts';
import type { StoredIssue } from '../src/store/issue-repository.ts';

let sim: RunningSimulator;
let store: Store;

before(async () => {
  sim = await startSimulator({ size: 'small', seed: 7, dirtyRate: 0.05, auth: 'none' });
  store = await openStore({ url: ':memory:' });
});

after(async () => {
  await store?.close();
  await sim?.close();
});

const key = (entity: string, id: string | undefined): string => `${entity}\u0000${id ?? ''}`;

/** Rule codes a planted kind must show up as (reader rules of src/oneroster/reader.ts + SDS rules). */
const EXPECTED_RULES: Record<DirtyKind, readonly string[]> = {
  'missing-required-field': ['required-field', 'sds-required-field', 'contact-required-field'],
  'bad-phone': ['invalid-phone'],
  'unknown-flag': ['unknown-user-flag'],
  'dangling-reference': ['dangling-reference'],
  'duplicate-sourced-id': ['duplicate-sourced-id'],
  'wrong-enum-case': ['enum-case'],
};

test('a dirty small district: the stored issues cover exactly the planted dirty records', async () => {
  const { result, sds } = await syncConnection({
    store,
    access: { baseUrl: sim.baseUrl, auth: { kind: 'none' } },
    toggles: { contacts: true, demographics: true, userFlags: true },
  });
  assert.equal(result.status, 'succeeded', JSON.stringify(result.error));
  assert.ok(sds, 'syncConnection returns the SDS stats when toggles are given');
  assert.equal(sds.skippedByToggle.contacts, 0);

  const ledger: DirtyRecord[] = sim.district.dirtyRecords();
  assert.ok(ledger.length > 50, `expected a real ledger, got ${ledger.length}`);
  const kinds = new Set(ledger.map((d) => d.kind));
  for (const k of Object.keys(EXPECTED_RULES)) assert.ok(kinds.has(k as DirtyKind), `the ledger plants ${k}`);

  const stored: StoredIssue[] = [];
  for (let offset = 0; ; offset += 10_000) {
    const page = await store.issues.list(result.runId, { limit: 10_000, offset });
    stored.push(...page);
    if (page.length < 10_000) break;
  }
  assert.equal(stored.length, result.issues.stored);
  assert.equal(result.issues.stored, result.issues.bySeverity.error + result.issues.bySeverity.warning, 'no issue was capped');

  const byRecord = new Map<string, StoredIssue[]>();
  for (const i of stored) {
    const k = key(i.entity, i.sourcedId);
    const list = byRecord.get(k);
    if (list) list.push(i);
    else byRecord.set(k, [i]);
  }
  const planted = new Map(ledger.map((d) => [key(d.collection, d.sourcedId), d]));

  // 1. Every planted record has an issue of its kind (except the known gap, asserted as such).
  const missing: string[] = [];
  const wrongRule: string[] = [];
  for (const d of ledger) {
    const found = byRecord.get(key(d.collection, d.sourcedId)) ?? [];
    if (found.length === 0) {
      missing.push(`${d.kind} ${d.collection} ${d.sourcedId}`);
      continue;
    }
    const rules = EXPECTED_RULES[d.kind];
    if (!found.some((i) => rules.includes(i.rule))) wrongRule.push(`${d.kind} ${d.sourcedId}: ${found.map((i) => i.rule).join(',')}`);
    // The issue points at the planted field (reader and SDS rules use the same dotted names).
    if (d.field !== undefined && d.kind !== 'duplicate-sourced-id') {
      assert.ok(found.some((i) => i.field === d.field), `${d.kind} ${d.sourcedId}: an issue on ${d.field}, got ${found.map((i) => i.field).join(',')}`);
    }
  }
  assert.deepEqual(missing, [], 'planted records without an issue');
  assert.deepEqual(wrongRule, [], 'planted records reported under another rule');

  // 2. No issue (error or warning) on a record the simulator did not plant, except the cascade:
  // a reference to a planted record that was dropped ("its dependents report a reference error").
  const TARGET: Record<string, string> = { sourcedId: 'users', agents: 'users', class: 'classes', user: 'users', school: 'orgs', orgs: 'orgs', terms: 'academicSessions', course: 'courses', org: 'orgs', parent: 'academicSessions' };
  const cascade = (i: StoredIssue): boolean => {
    if (!(i.rule.startsWith('dangling-reference') || i.rule === 'demographics-without-user') || i.value === undefined) return false;
    const target = TARGET[(i.field ?? '').split(/[.[]/)[0]!];
    return target !== undefined && planted.has(key(target, i.value));
  };
  const cascaded = stored.filter((i) => !planted.has(key(i.entity, i.sourcedId)) && cascade(i));
  assert.ok(cascaded.length > 0, 'dropped planted records cascade to their dependents');
  const unplanted = stored.filter((i) => !planted.has(key(i.entity, i.sourcedId)) && !cascade(i));
  assert.deepEqual(unplanted.map((i) => `${i.severity} ${i.rule} ${i.entity} ${i.sourcedId} ${i.field}`), []);

  // 3. Counts by kind, as the report summarises them: one stored issue per planted record for the
  // single-issue kinds (a duplicate is reported once per extra copy; the simulator plants one).
  const countRule = (rule: string): number => stored.filter((i) => i.rule === rule).length;
  const countKind = (k: DirtyKind): number => ledger.filter((d) => d.kind === k).length;
  assert.equal(countRule('invalid-phone'), countKind('bad-phone'));
  assert.equal(countRule('unknown-user-flag'), countKind('unknown-flag'));
  assert.equal(countRule('duplicate-sourced-id'), countKind('duplicate-sourced-id'));
  assert.equal(countRule('enum-case'), countKind('wrong-enum-case'));

  // 4. Personal values are masked in stored rows (phones of contacts).
  for (const i of stored.filter((x) => x.rule === 'invalid-phone')) {
    assert.ok(i.value !== undefined && /\*/.test(i.value), `phone value masked, got ${i.value}`);
  }
});
