import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CollectionName, User } from '../oneroster/types.ts';
import { COLLECTIONS } from '../oneroster/types.ts';
import { District } from './district.ts';
import type { DirtyRecord } from './dirty.ts';
import { DIRTY_KINDS } from './dirty.ts';
import { checkIntegrity } from './large-integrity.ts';

const RATE = 0.05;
const clean = District.generate({ size: 'small' });
const dirty = District.generate({ size: 'small', dirtyRate: RATE });

const key = (d: { kind?: string; rule?: string; collection: string; sourcedId: string; field?: string | undefined }): string =>
  `${d.kind ?? d.rule}|${d.collection}|${d.sourcedId}|${d.field ?? ''}`;
const isKind = (rule: string): boolean => (DIRTY_KINDS as readonly string[]).includes(rule);

/** The checker's findings must be exactly the ledger: same records, same kinds, same fields, nothing else. */
function assertLedgerMatchesChecker(d: District): void {
  const ledger = d.dirtyRecords();
  const report = checkIntegrity(d, { maxProblems: 1_000_000 });
  const unexpected = report.problems.filter((p) => !isKind(p.rule));
  assert.deepEqual(unexpected.slice(0, 5), [], 'no accidental breakage');
  assert.deepEqual(report.problems.map(key).sort(), ledger.map(key).sort());
  const stats = d.stats();
  for (const k of DIRTY_KINDS) assert.equal(stats.dirty[k], report.byRule[k] ?? 0, k);
}

describe('dirty data', () => {
  it('with dirtyRate 0 there is none', () => {
    assert.deepEqual(clean.dirtyRecords(), []);
    assert.equal(checkIntegrity(clean).problemCount, 0);
  });

  it('at 0.05 the records that break the rules are exactly the ledger', () => {
    assertLedgerMatchesChecker(dirty);
    const s = dirty.stats();
    for (const k of DIRTY_KINDS) assert.ok(s.dirty[k] > 0, `${k} occurs`);
    assert.equal(s.dirtyRecords.length, dirty.dirtyRecords().length);
    assert.equal(s.dirtyRecordsTruncated, false);
  });

  it('chooses exactly round(rate × eligible) records per kind', () => {
    // missing-required-field is applied first: eligible = every user and class.
    const eligible = clean.size('users') + clean.size('classes');
    assert.equal(dirty.stats().dirty['missing-required-field'], Math.round(RATE * eligible));
    // bad-phone: every contact has a phone and none was taken by the first kind... minus those taken.
    const ledger = dirty.dirtyRecords();
    const takenContacts = ledger.filter(
      (d) => d.kind === 'missing-required-field' && d.collection === 'users' && d.sourcedId.startsWith('con-'),
    ).length;
    assert.equal(dirty.stats().dirty['bad-phone'], Math.round(RATE * (clean.stats().contacts - takenContacts)));
  });

  it('makes each record dirty in one way only, and never moves a clean record', () => {
    const ledger = dirty.dirtyRecords();
    const ids = new Set(ledger.map((d) => `${d.collection}|${d.sourcedId}`));
    assert.equal(ids.size, ledger.length);
    for (const c of COLLECTIONS) {
      for (const r of clean.records(c)) {
        if (ids.has(`${c}|${r.sourcedId}`) && ledger.find((d) => d.sourcedId === r.sourcedId)?.kind !== 'duplicate-sourced-id') continue;
        assert.deepEqual(dirty.get(c, r.sourcedId), r, `${c}/${r.sourcedId}`);
      }
    }
  });

  it('breaks each record the way the ledger says', () => {
    const check: Record<string, (d: DirtyRecord) => void> = {
      'missing-required-field': (d) => assert.equal((dirty.get(d.collection, d.sourcedId) as unknown as Record<string, unknown>)[d.field!], undefined),
      'bad-phone': (d) => assert.doesNotMatch(String((dirty.get('users', d.sourcedId) as User)[d.field as 'phone']), /^\+1\d{10}$/),
      'unknown-flag': (d) => assert.match(String((dirty.get('users', d.sourcedId) as User).metadata?.['microsoft.userFlags']), /superStar|honorRoll|title1|busRider|athlete/),
      'dangling-reference': (d) => {
        const e = dirty.get('enrollments', d.sourcedId) as unknown as Record<string, { sourcedId: string }>;
        const ref = e[d.field!.split('.')[0]!]!;
        assert.equal(dirty.get(d.field!.startsWith('class') ? 'classes' : 'users', ref.sourcedId), undefined);
      },
      'duplicate-sourced-id': (d) => {
        const twins = [...dirty.records(d.collection as CollectionName)].filter((r) => r.sourcedId === d.sourcedId);
        assert.equal(twins.length, 2);
        assert.notDeepEqual(twins[0], twins[1]);
      },
      'wrong-enum-case': (d) => {
        const v = String((dirty.get(d.collection, d.sourcedId) as unknown as Record<string, unknown>)[d.field!]);
        const orig = String((clean.get(d.collection, d.sourcedId) as unknown as Record<string, unknown>)[d.field!]);
        assert.notEqual(v, orig);
        assert.equal(v.toLowerCase(), orig.toLowerCase());
      },
    };
    for (const d of dirty.dirtyRecords()) check[d.kind]!(d);
  });

  it('is deterministic', () => {
    const again = District.generate({ size: 'small', dirtyRate: RATE });
    assert.deepEqual(again.dirtyRecords(), dirty.dirtyRecords());
    const other = District.generate({ size: 'small', dirtyRate: RATE, seed: 5 });
    assert.notDeepEqual(other.dirtyRecords().slice(0, 50), dirty.dirtyRecords().slice(0, 50));
  });

  it('keeps the ledger exact through churn (dirty records are never churn subjects; purged ones leave it)', () => {
    const d = District.generate({ size: 'small', dirtyRate: RATE });
    const before = d.dirtyRecords().length;
    const summary = d.advance(40);
    assert.ok(summary.events.purgedStudents > 0, 'purges happened');
    assertLedgerMatchesChecker(d);
    assert.ok(d.dirtyRecords().length <= before);
  });
});
