import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sdsRunStatus } from './format.ts';

const issues = (error: number, warning: number) => ({ bySeverity: { error, warning }, byRule: {}, stored: 0 });

test('sdsRunStatus maps engine status and issue counts to the SDS run statuses', () => {
  assert.equal(sdsRunStatus({ status: 'succeeded', issues: issues(0, 0) }), 'completed');
  assert.equal(sdsRunStatus({ status: 'succeeded', issues: issues(0, 3) }), 'completedWithWarnings');
  assert.equal(sdsRunStatus({ status: 'succeeded', issues: issues(2, 3) }), 'completedWithErrors');
  assert.equal(sdsRunStatus({ status: 'partial', issues: issues(0, 0) }), 'completedWithErrors');
  assert.equal(sdsRunStatus({ status: 'failed', issues: issues(0, 0) }), 'failed');
});
