import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CollectionName, Enrollment, User } from '../oneroster/types.ts';
import { COLLECTIONS } from '../oneroster/types.ts';
import type { ChurnSummary } from './churn.ts';
import { District } from './district.ts';
import { checkIntegrity } from './large-integrity.ts';

const fingerprint = (d: District): string => JSON.stringify(COLLECTIONS.map((c) => [...d.records(c)]));

describe('churn', () => {
  const d = District.generate({ size: 'small' });
  const before = new Map(COLLECTIONS.map((c) => [c, new Set([...d.records(c)].map((r) => r.sourcedId))]));
  const from = d.now().toISOString();
  const summary: ChurnSummary = d.advance(30);

  it('advances the clock and the version', () => {
    assert.equal(d.now().toISOString(), '2026-10-01T12:00:00.000Z');
    assert.equal(summary.from, from);
    assert.equal(summary.to, d.now().toISOString());
    assert.equal(d.version, 2);
    assert.equal(d.stats().churn.days, 30);
  });

  it('produces every kind of change at realistic, size-proportional rates', () => {
    const e = summary.events;
    for (const k of ['newStudents', 'withdrawals', 'nameChanges', 'classChanges', 'enrollmentMoves', 'enrollmentHardDeletes', 'purgedStudents'] as const) {
      assert.ok(e[k] > 0, `${k} = ${e[k]}`);
    }
    // ~0.2% of 2,500 students a day over 30 days: a few hundred student-level events, not thousands.
    const studentEvents = e.newStudents + e.withdrawals + e.nameChanges + e.contactChanges + e.enrollmentMoves;
    assert.ok(studentEvents > 60 && studentEvents < 400, `student events ${studentEvents}`);
    assert.ok(summary.byCollection.users.created > 0 && summary.byCollection.enrollments.deleted > 0);
  });

  it('keeps referential integrity (agents both ways, teachers, demographics, statuses)', () => {
    const report = checkIntegrity(d);
    assert.deepEqual(report.problems.slice(0, 5), []);
    assert.equal(report.ok, true);
  });

  it('bumps dateLastModified into (from, to] on exactly the changed records, so a delta finds them', () => {
    const changed = new Map<string, string>();
    for (const ch of summary.changes) {
      assert.ok(ch.at > summary.from && ch.at <= summary.to, ch.at);
      changed.set(`${ch.collection}|${ch.sourcedId}`, ch.change);
    }
    assert.equal(summary.changesTruncated, false);
    const delta = new Set<string>();
    for (const c of COLLECTIONS) {
      for (const r of d.records(c)) {
        if (r.dateLastModified > summary.from) {
          assert.ok(r.dateLastModified <= summary.to);
          delta.add(`${c}|${r.sourcedId}`);
        }
      }
    }
    const stillThere = [...changed].filter(([k, kind]) => kind !== 'deleted' && d.get(k.split('|')[0] as CollectionName, k.split('|')[1]!));
    assert.deepEqual([...delta].sort(), stillThere.map(([k]) => k).sort());
  });

  it('hard-deleted records are gone, created ones are new', () => {
    for (const ch of summary.changes) {
      if (ch.change === 'deleted') {
        assert.equal(d.get(ch.collection, ch.sourcedId), undefined);
        assert.ok(before.get(ch.collection)!.has(ch.sourcedId) || summary.changes.some((x) => x.sourcedId === ch.sourcedId && x.change === 'created'));
      }
      if (ch.change === 'created') assert.ok(!before.get(ch.collection)!.has(ch.sourcedId), ch.sourcedId);
    }
  });

  it('withdrawals cascade to demographics and enrollments; purges remove them and the agent links', () => {
    const withdrawn = summary.changes.filter((c) => c.collection === 'users' && c.change === 'tobedeleted' && c.sourcedId.startsWith('stu-'));
    assert.ok(withdrawn.length > 0);
    for (const w of withdrawn) {
      const u = d.get('users', w.sourcedId) as User | undefined;
      if (!u) {
        assert.equal(d.get('demographics', w.sourcedId), undefined, 'purged together');
        continue;
      }
      assert.equal(u.status, 'tobedeleted');
      assert.equal(d.get('demographics', w.sourcedId)?.status, 'tobedeleted');
      for (const r of d.records('enrollments')) {
        const e = r as Enrollment;
        if (e.user.sourcedId === w.sourcedId) assert.equal(e.status, 'tobedeleted');
      }
    }
    const purged = summary.changes.filter((c) => c.collection === 'users' && c.change === 'deleted' && c.sourcedId.startsWith('stu-'));
    assert.ok(purged.length > 0);
    for (const p of purged) {
      for (const r of d.records('users')) assert.ok(!(r as User).agents?.some((a) => a.sourcedId === p.sourcedId));
    }
  });

  it('new students come with demographics, enrollments and contacts', () => {
    const created = summary.changes.filter((c) => c.collection === 'users' && c.change === 'created' && c.sourcedId.startsWith('stu-'));
    assert.ok(created.length > 0);
    const enrolled = new Set([...d.records('enrollments')].map((e) => (e as Enrollment).user.sourcedId));
    for (const c of created) {
      const u = d.get('users', c.sourcedId) as User | undefined;
      if (!u) continue; // withdrawn and purged within the window
      assert.ok(d.get('demographics', u.sourcedId));
      assert.ok(u.agents && u.agents.length > 0);
      if (u.status === 'active') assert.ok(enrolled.has(u.sourcedId), `${u.sourcedId} has classes`);
    }
  });

  it('accumulates totals in stats()', () => {
    const s1 = d.stats().churn;
    const next = d.advance(2);
    const s2 = d.stats().churn;
    assert.equal(s2.days, s1.days + 2);
    assert.equal(s2.events.newStudents, s1.events.newStudents + next.events.newStudents);
    assert.equal(s2.byCollection.enrollments.created, s1.byCollection.enrollments.created + next.byCollection.enrollments.created);
  });
});

describe('churn determinism and arguments', () => {
  it('advance(3) equals advance(1) three times, and repeats for the same seed', () => {
    const a = District.generate({ size: 'small', seed: 7 });
    const b = District.generate({ size: 'small', seed: 7 });
    a.advance(3);
    b.advance(1);
    b.advance(1);
    b.advance(1);
    assert.equal(fingerprint(a), fingerprint(b));
    assert.equal(a.now().getTime(), b.now().getTime());
    const c = District.generate({ size: 'small', seed: 8 });
    const before = fingerprint(c);
    c.advance(3);
    assert.notEqual(fingerprint(c), before);
  });

  it('advance(0) changes nothing; bad day counts throw', () => {
    const t = District.generate({ size: 'tiny' });
    const before = fingerprint(t);
    const s = t.advance(0);
    assert.equal(fingerprint(t), before);
    assert.equal(t.version, 1);
    assert.equal(s.changes.length, 0);
    assert.throws(() => t.advance(-1), RangeError);
    assert.throws(() => t.advance(1.5), RangeError);
  });

  it('tiny churns too and stays consistent', () => {
    const t = District.generate({ size: 'tiny' });
    const s = t.advance(30);
    assert.ok(s.changes.length > 0);
    assert.ok(t.version > 1);
    assert.equal(checkIntegrity(t).ok, true);
  });
});
