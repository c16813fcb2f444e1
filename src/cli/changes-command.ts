/**
 * `rostersync changes`: the applied change history (issue 4, "Change history").
 *
 * Personal values: the table masks personal fields the way the data-issue report does
 * (`sds/masking.ts`: emails `j***@d***.org`, phones `+1******0123`, names first letter, demographics
 * hidden), because a terminal table is easily pasted into a ticket or shared screen. `--json` gives
 * the full values: it is the admin's own data, meant for scripts, and the same shape the events API
 * serves to authorised clients.
 */
import type { Command } from '@commander-js/extra-typings';
import type { FieldChange } from '../outputs/change-events.ts';
import { COLLECTIONS } from '../oneroster/types.ts';
import { maskValue } from '../sds/masking.ts';
import { toChangeEvent } from '../services/change-feed.ts';
import type { ChangeQuery, ChangeRecord } from '../store/change-repository.ts';
import { openStore } from '../store/store.ts';
import { CliError, intOption } from './cli-error.ts';
import { table } from './format.ts';
import { dbPath, DEFAULT_DB, findConnection } from './shared.ts';

/** Longest value shown per side of a change. */
const VALUE_WIDTH = 32;
/** Longest "changed fields" cell. */
const CELL_WIDTH = 160;

function cut(s: string, width: number): string {
  return s.length > width ? `${s.slice(0, width - 1)}…` : s;
}

/** A value as one short line: GUIDRefs by sourcedId, lists comma-joined, absent as `∅`. */
export function valueText(v: unknown): string {
  if (v === undefined || v === null) return '∅';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.map(valueText).join(',');
  if (typeof v === 'object' && typeof (v as { sourcedId?: unknown }).sourcedId === 'string') return (v as { sourcedId: string }).sourcedId;
  return JSON.stringify(v);
}

/**
 * `field: before → after; …` for the table. Personal fields are masked (`maskValue`), values cut
 * to VALUE_WIDTH, the whole cell to CELL_WIDTH. `created` rows (no fields) read `(new record)`.
 */
export function formatFieldChanges(fields: Record<string, FieldChange> | null): string {
  if (fields === null) return '(new record)';
  const parts = Object.entries(fields).map(([field, c]) => {
    const side = (v: unknown): string => {
      if (v === undefined || v === null) return '∅';
      return cut(maskValue(field, valueText(v)), VALUE_WIDTH);
    };
    return `${field}: ${side(c.before)} → ${side(c.after)}`;
  });
  return cut(parts.join('; '), CELL_WIDTH);
}

/** Table rows for change records. */
export function changeRows(changes: readonly ChangeRecord[]): Array<Array<string | number>> {
  return changes.map((c) => [c.seq, c.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'), c.runId, c.entity, c.sourcedId, c.kind, formatFieldChanges(c.fields)]);
}

/**
 * Parses `--since`: an ISO-8601 date or date-time, or a duration back from now (`90m`, `12h`, `7d`).
 * Returns ISO-8601 UTC (the history's `at` format).
 */
export function parseSince(value: string, now: Date = new Date()): string {
  const rel = /^(\d{1,6})([mhd])$/.exec(value.trim());
  if (rel) {
    const ms = Number(rel[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 'm' | 'h' | 'd'];
    return new Date(now.getTime() - ms).toISOString();
  }
  const t = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(t)) throw new CliError(`--since must be an ISO date or time (2026-03-01, 2026-03-01T08:00:00Z) or a duration like 12h or 7d, got "${value}"`, 2);
  return new Date(t).toISOString();
}

/** `rostersync changes`: list applied changes. */
export function registerChanges(program: Command): void {
  program
    .command('changes')
    .description('Show the change history: what each applied run created, updated, deleted or restored, field by field')
    .option('--connection <id>', 'connection id or name')
    .option('--run <run>', 'only changes of this run')
    .option('--entity <collection>', `only this collection (${COLLECTIONS.join(', ')})`)
    .option('--sourced-id <id>', 'only changes of this record')
    .option('--since <time>', 'changes applied at or after this time (ISO date/time, or 12h, 7d back from now); reads forward')
    .option('--after <seq>', 'changes after this sequence number (the first column); reads forward')
    .option('--limit <n>', 'how many (1..10000)', '50')
    .option('--json', 'one JSON event per line, full values (the events API shape)', false)
    .option('--db <path>', `store: a SQLite file or a postgres:// URL (default: ROSTERSYNC_DATABASE_URL, then ROSTERSYNC_DB, then ${DEFAULT_DB})`)
    .addHelpText(
      'after',
      '\nWithout --since or --after, the most recent changes are shown (oldest of them first).\n' +
        'The table masks personal values (emails, phones, names, demographics) as the issue report does; --json shows them in full.',
    )
    .action(async (opts) => {
      const limit = intOption('--limit', opts.limit, 1, 10_000) ?? 50;
      const runId = intOption('--run', opts.run, 1, Number.MAX_SAFE_INTEGER);
      const afterSeq = intOption('--after', opts.after, 0, Number.MAX_SAFE_INTEGER);
      if (opts.entity !== undefined && !(COLLECTIONS as readonly string[]).includes(opts.entity)) {
        throw new CliError(`--entity must be one of ${COLLECTIONS.join(', ')}, got "${opts.entity}"`, 2);
      }
      const since = opts.since === undefined ? undefined : parseSince(opts.since);
      const store = await openStore({ url: dbPath(opts.db) });
      try {
        const q: ChangeQuery = { limit };
        if (opts.connection !== undefined) q.connectionId = (await findConnection(store, opts.connection)).id;
        if (runId !== undefined) q.runId = runId;
        if (opts.entity !== undefined) q.entity = opts.entity;
        if (opts.sourcedId !== undefined) q.sourcedId = opts.sourcedId;
        if (since !== undefined) q.since = since;
        if (afterSeq !== undefined) q.afterSeq = afterSeq;
        const forward = since !== undefined || afterSeq !== undefined;
        // The latest N are read newest first, then shown oldest first like a log's tail.
        const rows = forward ? await store.changes.list(q) : (await store.changes.list({ ...q, order: 'desc' })).reverse();
        if (opts.json) {
          process.stdout.write(rows.map((r) => `${JSON.stringify(toChangeEvent(r))}\n`).join(''));
          return;
        }
        if (rows.length === 0) {
          process.stdout.write('No changes recorded for this selection.\n');
          return;
        }
        const out = [table(['seq', 'time', 'run', 'entity', 'sourcedId', 'kind', 'changes'], changeRows(rows))];
        if (rows.length === limit) {
          out.push(
            forward
              ? `… more may follow: --after ${rows[rows.length - 1]!.seq}`
              : `showing the latest ${limit}; earlier ones with --since TIME or --after SEQ`,
          );
        }
        process.stdout.write(`${out.join('\n')}\n`);
      } finally {
        await store.close();
      }
    });
}
