import type { Command } from '@commander-js/extra-typings';
import { Option } from '@commander-js/extra-typings';
import { buildIssueReport, reportCsv, type IssueReport } from '../services/issue-report.ts';
import type { StoredIssue } from '../store/issue-repository.ts';
import type { Run } from '../store/run-repository.ts';
import { openStore, type Store } from '../store/store.ts';
import { CliError, intOption } from './cli-error.ts';
import { table } from './format.ts';
import { dbPath, DEFAULT_DB, findConnection } from './shared.ts';

/** Page size of `store.issues.list` (its maximum). */
const PAGE = 10_000;

/**
 * `rostersync report [RUN]`: a run's error report (issue 5) — summary by rule, most frequent first,
 * then every stored issue (severity, rule, entity, sourcedId, field, masked value, message).
 * Default run: the latest (of `--connection` when given). `--format csv` writes only the rows, for
 * the SIS vendor.
 */
export function registerReport(program: Command): void {
  program
    .command('report')
    .description('Error report of a sync run: issues by rule (most frequent first), then every issue')
    .argument('[run]', 'run id (default: the latest run)')
    .option('--db <path>', `store: a SQLite file or a postgres:// URL (default: ROSTERSYNC_DATABASE_URL, then ROSTERSYNC_DB, then ${DEFAULT_DB})`)
    .option('--connection <id>', 'the latest run of this connection (id or name)')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'csv', 'json'] as const).default('table' as const))
    .action(async (runArg, opts) => {
      const store = await openStore({ url: dbPath(opts.db) });
      try {
        const run = await pickRun(store, runArg, opts.connection, dbPath(opts.db));
        const report = buildIssueReport(run, await allIssues(store, run.id));
        const out = opts.format === 'csv' ? reportCsv(report) : opts.format === 'json' ? `${JSON.stringify(report)}\n` : `${reportTable(report)}\n`;
        process.stdout.write(out);
      } finally {
        await store.close();
      }
    });
}

async function pickRun(store: Store, runArg: string | undefined, connection: string | undefined, db: string): Promise<Run> {
  const connectionId = connection === undefined ? undefined : (await findConnection(store, connection)).id;
  if (runArg !== undefined) {
    const run = await store.runs.get(intOption('run', runArg, 1, Number.MAX_SAFE_INTEGER)!);
    if (!run) throw new CliError(`run ${runArg} does not exist in ${db}`, 2);
    if (connectionId !== undefined && run.connectionId !== connectionId) throw new CliError(`run ${runArg} belongs to connection ${run.connectionId}, not ${connectionId}`, 2);
    return run;
  }
  const [latest] = await store.runs.list({ ...(connectionId !== undefined ? { connectionId } : {}), limit: 1 });
  if (!latest) throw new CliError(`no runs yet in ${db}${connectionId !== undefined ? ` for connection ${connectionId}` : ''}; start one with \`rostersync sync\``, 2);
  return latest;
}

/** Every stored issue of a run, in the order found (paged: `list` returns at most 10,000). */
async function allIssues(store: Store, runId: number): Promise<StoredIssue[]> {
  const all: StoredIssue[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await store.issues.list(runId, { limit: PAGE, offset });
    for (const i of page) all.push(i);
    if (page.length < PAGE) return all;
  }
}

function reportTable(r: IssueReport): string {
  const out = [
    `run ${r.run.id} · connection ${r.run.connectionId} · ${r.run.status} · started ${r.run.startedAt}${r.run.finishedAt ? ` · finished ${r.run.finishedAt}` : ''}`,
    `${r.totals.errors} errors (records dropped), ${r.totals.warnings} warnings (values fixed or dropped)`,
  ];
  if (r.summary.length === 0) {
    out.push('', 'No data errors or warnings found.');
    return out.join('\n');
  }
  out.push('', table(['count', 'severity', 'rule', 'what it means'], r.summary.map((s) => [s.count, s.severity, s.rule, s.description])));
  out.push('', table(['severity', 'rule', 'entity', 'sourcedId', 'field', 'value', 'message'], r.rows.map((i) => [i.severity, i.rule, i.entity, i.sourcedId, i.field, i.value, i.message])));
  if (r.notListed > 0) out.push(`… ${r.notListed} more issues were counted but not stored (the run's issue cap)`);
  return out.join('\n');
}
