import type { Command } from '@commander-js/extra-typings';
import { openStore } from '../store/store.ts';
import { CliError, intOption } from './cli-error.ts';
import { table } from './format.ts';
import { dbPath, DEFAULT_DB } from './shared.ts';

/** `rostersync runs` (list) and `rostersync runs show RUN` (one run with its counts and issues). */
export function registerRuns(program: Command): void {
  const runs = program.command('runs').description('List sync runs, or show one with its issues');
  runs
    .command('list', { isDefault: true })
    .description('List recent runs (newest first)')
    .option('--db <path>', `store: a SQLite file or a postgres:// URL (default: ROSTERSYNC_DATABASE_URL, then ROSTERSYNC_DB, then ${DEFAULT_DB})`)
    .option('--connection <id>', 'only runs of this connection')
    .option('--limit <n>', 'how many', '20')
    .option('--json', 'print JSON', false)
    .action(async (opts) => {
      const store = await openStore({ url: dbPath(opts.db) });
      try {
        const list = await store.runs.list({
          ...(opts.connection !== undefined ? { connectionId: opts.connection } : {}),
          limit: intOption('--limit', opts.limit, 1, 10_000) ?? 20,
        });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(list)}\n`);
          return;
        }
        if (list.length === 0) {
          process.stdout.write('No runs yet. Start one with `rostersync sync --base-url …` or `npm run demo`.\n');
          return;
        }
        const rows = list.map((r) => {
          const fetched = Object.values(r.entities).reduce((n, c) => n + (c?.fetched ?? 0), 0);
          const changed = Object.values(r.entities).reduce((n, c) => n + (c ? c.created + c.updated + c.restored + c.deleted : 0), 0);
          const status = `${r.status}${r.dryRun ? ' (dry run)' : ''}${r.holdState && r.holdState !== 'pending' ? ` (${r.holdState})` : ''}`;
          return [r.id, r.connectionId, r.mode, status, r.sdsStatus ?? '', r.startedAt, r.finishedAt ?? '', fetched, changed, r.issues.bySeverity.error, r.issues.bySeverity.warning];
        });
        process.stdout.write(`${table(['run', 'connection', 'mode', 'status', 'sds status', 'started', 'finished', 'fetched', 'changed', 'errors', 'warnings'], rows)}\n`);
      } finally {
        await store.close();
      }
    });
  runs
    .command('show')
    .description('Show one run: per-entity counts, requests, and its first issues')
    .argument('<run>', 'run id')
    .option('--db <path>', `store: a SQLite file or a postgres:// URL (default: ROSTERSYNC_DATABASE_URL, then ROSTERSYNC_DB, then ${DEFAULT_DB})`)
    .option('--issues <n>', 'how many issues to list', '50')
    .option('--json', 'print JSON', false)
    .action(async (runArg, opts) => {
      const id = intOption('run', runArg, 1, Number.MAX_SAFE_INTEGER)!;
      const store = await openStore({ url: dbPath(opts.db) });
      try {
        const run = await store.runs.get(id);
        if (!run) throw new CliError(`run ${id} does not exist in ${dbPath(opts.db)}`, 2);
        const issues = await store.issues.list(id, { limit: intOption('--issues', opts.issues, 0, 10_000) || 1 });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ run, issues })}\n`);
          return;
        }
        const out: string[] = [
          `run ${run.id} · connection ${run.connectionId} · ${run.mode}${run.dryRun ? ' (dry run)' : ''} · ${run.status}${run.sdsStatus ? ` (${run.sdsStatus})` : ''}${run.resumes > 0 ? ` · resumed ${run.resumes}×` : ''}`,
          `started ${run.startedAt}${run.finishedAt ? ` · finished ${run.finishedAt}` : ''}`,
        ];
        if (run.error) out.push(`error: [${run.error.code}] ${run.error.message}`);
        if (run.cursor) out.push(`delta from dateLastModified > ${run.cursor}`);
        for (const h of (run.hold ?? []) as Array<{ message?: string }>) out.push(`${run.dryRun ? 'would hold' : 'held'}: ${h.message ?? ''}`);
        if (run.holdState) out.push(`hold ${run.holdState}${run.holdResolvedBy ? ` by ${run.holdResolvedBy} at ${run.holdResolvedAt ?? '?'}` : ''}${run.approvedRun ? ` (applied by run ${run.approvedRun})` : ''}`);
        if (run.approvalOf) out.push(`applies the approved hold of run ${run.approvalOf}`);
        out.push(
          '',
          table(
            ['entity', 'outcome', 'fetched', 'created', 'updated', 'restored', 'unchanged', 'deleted', 'invalid', 'pages', 'MB'],
            Object.entries(run.entities).map(([e, c]) => [
              e, c!.outcome, c!.fetched, c!.created, c!.updated, c!.restored, c!.unchanged, c!.deleted, c!.invalid, c!.pages, (c!.bytes / 1e6).toFixed(1),
            ]),
          ),
          '',
          table(['endpoint', 'requests', 'MB'], Object.entries(run.requests).map(([e, r]) => [e, r.requests, (r.bytes / 1e6).toFixed(1)])),
        );
        const byRule = Object.entries(run.issues.byRule).sort((a, b) => b[1] - a[1]);
        if (byRule.length > 0) {
          out.push('', table(['rule', 'count'], byRule), '');
          out.push(table(['severity', 'rule', 'entity', 'sourcedId', 'field', 'message'], issues.map((i) => [i.severity, i.rule, i.entity, i.sourcedId ?? '', i.field ?? '', i.message])));
          if (run.issues.stored > issues.length) out.push(`… ${run.issues.stored - issues.length} more (use --issues N or --json)`);
        } else {
          out.push('', 'No data errors or warnings found.');
        }
        process.stdout.write(`${out.join('\n')}\n`);
      } finally {
        await store.close();
      }
    });
}
