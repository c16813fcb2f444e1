import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { StageOp } from '../store/schema.ts';
import { DEFAULT_POLICY, classify, collectionVerdict, orderCollections } from './planner.ts';

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
    assert.equal(collectionVerdict({ fetched: 3, liveEmpty: false }, { emptyCollection: 'keep' }), 'apply');
    assert.equal(collectionVerdict({ fetched: 0, liveEmpty: true }, { emptyCollection: 'keep' }), 'apply');
  });
  it('keeps an empty collection over live rows only under the keep policy', () => {
    assert.equal(collectionVerdict({ fetched: 0, liveEmpty: false }, DEFAULT_POLICY), 'apply');
    assert.equal(collectionVerdict({ fetched: 0, liveEmpty: false }, { emptyCollection: 'keep' }), 'keep');
  });
});
