/**
 * A run's error report (issue 5 "Error reports"), pure: a summary by rule, most frequent first
 * (fixing those first clears the cascades), then one row per stored issue. Shared by
 * `rostersync report` and (later) the admin API. Values in stored issues are already masked by the
 * rules that found them (src/sds/masking.ts); messages name ids and rules, never people.
 */
import { stringify } from 'csv-stringify/sync';
import type { Severity } from '../oneroster/issues.ts';
import { RULES as READER_RULES } from '../oneroster/reader.ts';
import { SDS_RULES } from '../sds/rules.ts';
import type { StoredIssue } from '../store/issue-repository.ts';
import type { Run } from '../store/run-repository.ts';

/** One line of the summary. */
export interface RuleSummary {
  rule: string;
  /** From the stored rows; `unknown` when every row of the rule was cut by the storage cap. */
  severity: Severity | 'unknown';
  /** Complete count from the run record (not capped). */
  count: number;
  description: string;
}

/** One row of the report, in the columns handed to the SIS vendor. */
export interface ReportRow {
  severity: Severity;
  rule: string;
  entity: string;
  sourcedId: string;
  field: string;
  /** Masked offending value ('' when none). */
  value: string;
  message: string;
}

export interface IssueReport {
  run: Pick<Run, 'id' | 'connectionId' | 'status' | 'startedAt'> & { finishedAt?: string };
  totals: { errors: number; warnings: number; stored: number };
  summary: RuleSummary[];
  rows: ReportRow[];
  /** Issues counted but not stored (the run's `maxStoredIssues` cap) or not listed. */
  notListed: number;
}

/** Rules the sync engine itself emits (src/sync/full-sync.ts), outside the reader and SDS catalogues. */
const ENGINE_RULES: Readonly<Record<string, string>> = {
  'duplicate-sourced-id': 'A sourcedId appears more than once in a collection; the first record was kept and the others dropped.',
};

/** The catalogue description of a rule code, or '' for a code no catalogue knows. */
export function describeRule(rule: string): string {
  if (Object.hasOwn(SDS_RULES, rule)) return SDS_RULES[rule as keyof typeof SDS_RULES].description;
  if (Object.hasOwn(READER_RULES, rule)) return READER_RULES[rule as keyof typeof READER_RULES];
  return ENGINE_RULES[rule] ?? '';
}

/**
 * Builds the report of a run from its record (complete counts) and its stored issues (rows, maybe
 * capped). Summary order: count descending, then errors before warnings, then rule code.
 */
export function buildIssueReport(run: Run, issues: readonly StoredIssue[]): IssueReport {
  const severity = new Map<string, Severity>();
  const storedCounts = new Map<string, number>();
  for (const i of issues) {
    if (!severity.has(i.rule) || i.severity === 'error') severity.set(i.rule, i.severity);
    storedCounts.set(i.rule, (storedCounts.get(i.rule) ?? 0) + 1);
  }
  const counts = new Map<string, number>(Object.entries(run.issues.byRule));
  // A rule with rows but no count in the run record (a run still going) is counted from its rows.
  for (const [rule, n] of storedCounts) if (!counts.has(rule)) counts.set(rule, n);
  const rank = (s: RuleSummary['severity']): number => (s === 'error' ? 0 : s === 'warning' ? 1 : 2);
  const summary: RuleSummary[] = [...counts].map(([rule, count]) => ({ rule, severity: severity.get(rule) ?? 'unknown', count, description: describeRule(rule) }));
  summary.sort((a, b) => b.count - a.count || rank(a.severity) - rank(b.severity) || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0));
  const rows: ReportRow[] = issues.map((i) => ({
    severity: i.severity,
    rule: i.rule,
    entity: i.entity,
    sourcedId: i.sourcedId ?? '',
    field: i.field ?? '',
    value: i.value ?? '',
    message: i.message,
  }));
  const total = run.issues.bySeverity.error + run.issues.bySeverity.warning;
  const report: IssueReport = {
    run: { id: run.id, connectionId: run.connectionId, status: run.status, startedAt: run.startedAt },
    totals: { errors: run.issues.bySeverity.error, warnings: run.issues.bySeverity.warning, stored: run.issues.stored },
    summary,
    rows,
    notListed: Math.max(0, total - rows.length),
  };
  if (run.finishedAt !== undefined) report.run.finishedAt = run.finishedAt;
  return report;
}

export const REPORT_COLUMNS = ['severity', 'rule', 'entity', 'sourcedId', 'field', 'value', 'message'] as const;

/**
 * Spreadsheet formula guard (OWASP "CSV injection"): the file goes to a vendor who opens it in a
 * spreadsheet, and masked phones start with `+`. A cell starting with = + - @ TAB or CR is prefixed
 * with `'`, which spreadsheets show as text and do not evaluate.
 */
function cell(v: string): string {
  const c = v.charCodeAt(0);
  return c === 61 || c === 43 || c === 45 || c === 64 || c === 9 || c === 13 ? `'${v}` : v;
}

/**
 * The rows as CSV (RFC 4180: CRLF records, header row), one issue per line in REPORT_COLUMNS order.
 * Only the rows: the summary is recomputed by any spreadsheet pivot and would break the one-table shape.
 */
export function reportCsv(report: IssueReport): string {
  return stringify(
    report.rows.map((r) => REPORT_COLUMNS.map((k) => cell(r[k]))),
    { header: true, columns: [...REPORT_COLUMNS], record_delimiter: 'windows', quoted_match: /[\r\n]/ },
  );
}
