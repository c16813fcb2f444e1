import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import type { StoredIssue } from '../store/issue-repository.ts';
import type { Run } from '../store/run-repository.ts';
import { buildIssueReport, describeRule, reportCsv, REPORT_COLUMNS } from './issue-report.ts';

function run(byRule: Record<string, number>, errors: number, warnings: number, stored: number): Run {
  return {
    id: 7,
    tenantId: 't',
    connectionId: 'c1',
    mode: 'full',
    status: 'succeeded',
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:01:00.000Z',
    entities: {},
    requests: {},
    issues: { bySeverity: { error: errors, warning: warnings }, byRule, stored },
    dryRun: false,
    resumes: 0,
  };
}

const issue = (seq: number, severity: 'error' | 'warning', rule: string, extra: Partial<StoredIssue> = {}): StoredIssue => ({
  runId: 7,
  seq,
  severity,
  rule,
  entity: 'users',
  sourcedId: `u${seq}`,
  message: `users u${seq}: ${rule}`,
  ...extra,
});

test('summary is by rule, most frequent first, counts from the run record (complete even when rows are capped)', () => {
  const issues = [
    issue(0, 'warning', 'enum-case'),
    issue(1, 'error', 'required-field', { field: 'givenName' }),
    issue(2, 'warning', 'invalid-phone', { field: 'phone', value: '+1******0123' }),
    issue(3, 'error', 'duplicate-sourced-id'),
  ];
  const r = buildIssueReport(run({ 'enum-case': 40, 'required-field': 5, 'invalid-phone': 5, 'duplicate-sourced-id': 1, 'sds-required-field': 2 }, 8, 45, 4), issues);
  assert.deepEqual(
    r.summary.map((s) => [s.rule, s.severity, s.count]),
    [
      ['enum-case', 'warning', 40],
      ['required-field', 'error', 5], // ties: errors first
      ['invalid-phone', 'warning', 5],
      ['sds-required-field', 'unknown', 2], // no stored row left to tell its severity
      ['duplicate-sourced-id', 'error', 1],
    ],
  );
  assert.equal(r.notListed, 53 - 4);
  assert.equal(r.rows.length, 4);
  assert.deepEqual(r.rows[1], { severity: 'error', rule: 'required-field', entity: 'users', sourcedId: 'u1', field: 'givenName', value: '', message: 'users u1: required-field' });
  assert.match(r.summary[0]!.description, /letter case/);
  assert.match(describeRule('sds-required-field'), /School Data Sync requires/);
  assert.match(describeRule('duplicate-sourced-id'), /more than once/);
  assert.equal(describeRule('no-such-rule'), '');
});

test('CSV: header + one row per issue, quotes and newlines survive, formula-looking cells are neutralised', () => {
  const issues = [
    issue(0, 'warning', 'invalid-phone', { field: 'phone', value: '+1******0123', message: 'phone "555" is not E.164\nsecond line' }),
    issue(1, 'warning', 'unknown-user-flag', { value: '=HYPERLINK("x")', message: 'a, b' }),
  ];
  const text = reportCsv(buildIssueReport(run({ 'invalid-phone': 1, 'unknown-user-flag': 1 }, 0, 2, 2), issues));
  assert.ok(text.startsWith('severity,rule,entity,sourcedId,field,value,message\r\n'));
  const rows = parse(text, { columns: true }) as Array<Record<string, string>>;
  assert.equal(rows.length, 2);
  assert.deepEqual(Object.keys(rows[0]!), [...REPORT_COLUMNS]);
  assert.equal(rows[0]!.value, "'+1******0123");
  assert.equal(rows[0]!.message, 'phone "555" is not E.164\nsecond line');
  assert.equal(rows[1]!.value, '\'=HYPERLINK("x")');
  assert.equal(rows[1]!.message, 'a, b');
});

test('an empty run gives an empty summary and a header-only CSV', () => {
  const r = buildIssueReport(run({}, 0, 0, 0), []);
  assert.deepEqual(r.summary, []);
  assert.equal(r.notListed, 0);
  assert.equal(reportCsv(r), 'severity,rule,entity,sourcedId,field,value,message\r\n');
});
