/** Plain-text tables and summaries for the CLI. */
import type { RunPlan } from '../services/hold-service.ts';
import { isPersonalField, maskValue } from '../sds/masking.ts';
import type { RunResult } from '../sync/full-sync.ts';

/** The SDS run status mapping lives with the engine's other pure decisions. */
export { sdsRunStatus } from '../sync/planner.ts';

/** Renders rows as an aligned text table; numbers are right-aligned. */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const fmt = (r: Array<string | number>): string =>
    r
      .map((c, i) => (typeof c === 'number' ? String(c).padStart(widths[i]!) : String(c).padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}

const COUNT_COLUMNS = ['fetched', 'created', 'updated', 'restored', 'unchanged', 'deleted', 'invalid', 'duplicates'] as const;

/** The end-of-run summary: one row per entity plus totals, status line, issues. */
export function runSummary(result: RunResult): string {
  const rows: Array<Array<string | number>> = [];
  const totals = Object.fromEntries(COUNT_COLUMNS.map((c) => [c, 0])) as Record<(typeof COUNT_COLUMNS)[number], number>;
  for (const [entity, counts] of Object.entries(result.entities)) {
    if (!counts) continue;
    rows.push([entity, counts.outcome, ...COUNT_COLUMNS.map((c) => counts[c])]);
    for (const c of COUNT_COLUMNS) totals[c] += counts[c];
  }
  rows.push(['total', '', ...COUNT_COLUMNS.map((c) => totals[c])]);
  const secs = result.durationMs / 1000;
  const lines = [
    table(['entity', 'outcome', ...COUNT_COLUMNS], rows),
    '',
    `run ${result.runId} ${result.mode}${result.dryRun ? ' (dry run)' : ''}: ${result.status} (${result.sdsStatus}) in ${secs.toFixed(1)} s (${Math.round(totals.fetched / Math.max(secs, 0.001))} records/s)`,
    result.issues.bySeverity.error + result.issues.bySeverity.warning === 0 ? 'No data errors or warnings found.' : 'We found some issues with your data.',
  ];
  const pages = Object.values(result.entities).reduce((n, c) => n + (c?.pages ?? 0), 0);
  const known = Object.values(result.entities).reduce((n, c) => n + (c?.knownPages ?? 0), 0);
  if (known > 0) lines.push(`${known} of ${pages} pages were the same bytes as last time and matched the store: skipped unparsed, unchanged.`);
  const refreshed = Object.values(result.entities).reduce((n, c) => n + (c?.refreshed ?? 0), 0);
  if (refreshed > 0) lines.push(`${refreshed} unchanged records were read again (a reader upgrade, or provider JSON that changed without changing them); the next sync skips them unread.`);
  const issues = result.issues;
  if (issues.bySeverity.error + issues.bySeverity.warning > 0) {
    const top = Object.entries(issues.byRule)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([rule, n]) => `${rule} ${n}`)
      .join(', ');
    lines.push(`issues: ${issues.bySeverity.error} errors, ${issues.bySeverity.warning} warnings (${top}); see \`rostersync report ${result.runId}\``);
  }
  if (result.error) lines.push(`error: [${result.error.code}] ${result.error.message}`);
  for (const r of result.hold ?? []) lines.push(`${result.dryRun ? 'would hold' : 'held'}: ${r.message}`);
  for (const [entity, counts] of Object.entries(result.entities)) {
    if (counts?.error) lines.push(`${entity}: [${counts.error.code}] ${counts.error.message}`);
  }
  return lines.join('\n');
}

/** The `--json` shape of a run (issue 3): runId, status, mode, entities with the six counts, durationMs; plus detail. */
export function runJson(result: RunResult): Record<string, unknown> {
  const entities: Record<string, unknown> = {};
  for (const [entity, c] of Object.entries(result.entities)) {
    if (!c) continue;
    entities[entity] = {
      fetched: c.fetched,
      created: c.created + c.restored,
      updated: c.updated,
      unchanged: c.unchanged,
      deleted: c.deleted,
      invalid: c.invalid,
      restored: c.restored,
      duplicates: c.duplicates,
      skipped: c.skipped ?? 0,
      outcome: c.outcome,
      pages: c.pages,
      ...(c.knownPages !== undefined ? { knownPages: c.knownPages } : {}),
      ...(c.refreshed !== undefined ? { refreshed: c.refreshed } : {}),
      ...(c.total !== undefined ? { total: c.total } : {}),
      ...(c.error ? { error: c.error } : {}),
    };
  }
  return {
    runId: result.runId,
    status: result.status,
    sdsStatus: result.sdsStatus,
    mode: result.mode,
    dryRun: result.dryRun,
    ...(result.hold ? { hold: result.hold } : {}),
    ...(result.cursor !== undefined ? { cursor: result.cursor } : {}),
    ...(result.nextCursor !== undefined ? { nextCursor: result.nextCursor } : {}),
    entities,
    durationMs: Math.round(result.durationMs),
    requests: result.requests.perEndpoint,
    issues: result.issues,
    ...(result.error ? { error: result.error } : {}),
  };
}

/** Short text for a planned field change: `field: before → after` (values cut at 40 characters). */
export function fieldsText(fields: Record<string, { before: unknown; after: unknown }> | null, mask: (field: string, v: unknown) => string = (_f, v) => show(v)): string {
  if (fields === null) return '';
  return Object.entries(fields)
    .map(([f, { before, after }]) => `${f}: ${mask(f, before)} → ${mask(f, after)}`)
    .join('; ');
}

function show(v: unknown): string {
  const t = v === null || v === undefined ? '∅' : typeof v === 'string' ? v : JSON.stringify(v);
  return t.length > 40 ? `${t.slice(0, 39)}…` : t;
}

/** Personal values (emails, phones, names) are masked in tables, as in the issue report; JSON carries them whole. */
const maskPersonal = (f: string, v: unknown): string => (typeof v === 'string' && isPersonalField(f) ? maskValue(f, v) : show(v));

/** A run's plan (held or dry run): counts per entity, then the first planned rows (personal values masked). */
export function planText(plan: RunPlan): string {
  const counts = Object.entries(plan.counts).map(([e, k]) => [e, k!.created, k!.updated, k!.restored, k!.deleted]);
  if (counts.length === 0) return 'The plan is empty: nothing would change.';
  const lines = [table(['entity', 'create', 'update', 'restore', 'delete'], counts)];
  if (plan.changes.length > 0) {
    lines.push('', table(['kind', 'entity', 'sourcedId', 'fields'], plan.changes.map((c) => [c.kind, c.entity, c.sourcedId, fieldsText(c.fields, maskPersonal)])));
  }
  if (plan.truncated) lines.push('(first rows only; counts are complete)');
  return lines.join('\n');
}
