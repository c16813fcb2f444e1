import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { StageOp } from '../store/schema.ts';
import { DEFAULT_POLICY, DEFAULT_THRESHOLDS, classify, collectionVerdict, holdReasons, orderCollections, thresholdsFor, type SyncPolicy } from './planner.ts';

const KEEP: SyncPolicy = { ...DEFAULT_POLICY, emptyCollection: 'keep' };

describe('orderCollections', () => {
  it('puts referenced entities first and drops repeats', () => {
    assert.deepEqual(orderCollections(['enrollments', 'users', 'orgs', 'users', 'demographics', 'classes', 'courses', 'academicSessions']), [
      'orgs', 'academicSessions', 'courses', 'classes', 'users', 'demographics', 'enrollments',
    ]);
  });
  it('rejects unknown names', () => {
    assert.throws(() => orderCollections(['users', 'students']), RangeError);
  });
});

describe('classify', () => {
  const H = 'h1';
  const cases: Array<[string, Parameters<typeof classify>[0], Parameters<typeof classify>[1], StageOp]> = [
    ['new active record', { hash: H, status: 'active' }, undefined, StageOp.create],
    ['same hash', { hash: H, status: 'active' }, { hash: H, deleted: false }, StageOp.unchanged],
    ['different hash', { hash: H, status: 'active' }, { hash: 'h0', deleted: false }, StageOp.update],
    ['back after deletion, same data', { hash: H, status: 'active' }, { hash: H, deleted: true }, StageOp.restore],
    ['back after deletion, new data', { hash: H, status: 'active' }, { hash: 'h0', deleted: true }, StageOp.restore],
    ['tobedeleted for an active row', { hash: H, status: 'tobedeleted' }, { hash: 'h0', deleted: false }, StageOp.delete],
    ['tobedeleted for a tombstone', { hash: H, status: 'tobedeleted' }, { hash: 'h0', deleted: true }, StageOp.unchanged],
    ['tobedeleted for an unknown id', { hash: H, status: 'tobedeleted' }, undefined, StageOp.unchanged],
  ];
  for (const [name, observed, known, op] of cases) it(name, () => assert.equal(classify(observed, known), op));
});

describe('collectionVerdict', () => {
  it('applies non-empty collections and empty ones on an empty store', () => {
    assert.equal(collectionVerdict({ fetched: 3, liveEmpty: false }, KEEP), 'apply');
    assert.equal(collectionVerdict({ fetched: 0, liveEmpty: true }, KEEP), 'apply');
  });
  it('keeps an empty collection over live rows only under the keep policy', () => {
    assert.equal(collectionVerdict({ fetched: 0, liveEmpty: false }, DEFAULT_POLICY), 'apply');
    assert.equal(collectionVerdict({ fetched: 0, liveEmpty: false }, KEEP), 'keep');
  });
});

describe('holdReasons (safeguard thresholds)', () => {
  const base = { live: 1000, deletes: 0, updates: 0, emptyFullRead: false, emptyApproved: false };
  const rules = (p: Partial<typeof base>, live = 1000) => holdReasons('users', { ...base, live, ...p }, DEFAULT_THRESHOLDS).map((r) => r.rule);
  it('holds deletions only above both 50 records and 10%', () => {
    assert.deepEqual(rules({ deletes: 100 }), []); // 10.0% is not more than 10%
    assert.deepEqual(rules({ deletes: 101 }), ['deletions']);
    assert.deepEqual(rules({ deletes: 50 }, 100), []); // 50% but not more than 50 records
    assert.deepEqual(rules({ deletes: 51 }, 100), ['deletions']);
  });
  it('holds updates above 30% (and above 50 records)', () => {
    assert.deepEqual(rules({ updates: 300 }), []);
    assert.deepEqual(rules({ updates: 301 }), ['updates']);
    assert.deepEqual(rules({ updates: 40 }, 60), []);
    assert.deepEqual(rules({ updates: 301, deletes: 200 }), ['deletions', 'updates']);
  });
  it('an empty full read over live rows holds whatever the counts, unless approved', () => {
    assert.deepEqual(rules({ emptyFullRead: true }, 3), ['empty-collection']);
    assert.deepEqual(rules({ emptyFullRead: true, emptyApproved: true, deletes: 3 }, 3), []);
    assert.deepEqual(rules({ emptyFullRead: true }, 0), []);
  });
  it('a first sync (nothing live) never holds', () => {
    assert.deepEqual(rules({ deletes: 0, updates: 0 }, 0), []);
  });
  it('per-entity overrides and holds off', () => {
    const p: SyncPolicy = { ...DEFAULT_POLICY, perEntity: { enrollments: { deleteCount: 5 } } };
    assert.equal(thresholdsFor(p, 'enrollments')?.deleteCount, 5);
    assert.equal(thresholdsFor(p, 'users')?.deleteCount, 50);
    assert.equal(thresholdsFor({ ...DEFAULT_POLICY, thresholds: false }, 'users'), undefined);
  });
});
