import type { Command } from '@commander-js/extra-typings';
import { exportOneRosterCsv } from '../outputs/oneroster-csv.ts';
import { exportSdsCsv } from '../outputs/sds-csv.ts';
import { StoreRosterReader } from '../services/store-roster-reader.ts';
import { openStore, type Store } from '../store/store.ts';
import type { Connection } from '../store/connection-repository.ts';
import { CliError, intOption } from './cli-error.ts';
import { table } from './format.ts';
import { dbPath, DEFAULT_DB, findConnection } from './shared.ts';

/** Opens the store, picks the connection, runs `fn`, always closes the store. */
async function withConnection(
  opts: { db?: string; connection?: string },
  fn: (store: Store, connection: Connection) => Promise<void>,
): Promise<void> {
  const store = await openStore({ url: dbPath(opts.db) });
  try {
    await fn(store, await pickConnection(store, opts.connection));
  } finally {
    await store.close();
  }
}

async function pickConnection(store: Store, idOrName: string | undefined): Promise<Connection> {
  if (idOrName !== undefined) return findConnection(store, idOrName);
  const all = await store.connections.list();
  if (all.length === 1) return all[0]!;
  if (all.length === 0) throw new CliError('the store has no connections yet; sync one first', 2);
  throw new CliError(`the store has ${all.length} connections; name one with --connection`, 2);
}

/** `rostersync export sds-csv|oneroster-csv`: hand the synced roster on as files. */
export function registerExport(program: Command): void {
  const exp = program.command('export').description('Export the synced roster as SDS v2.1 CSV or OneRoster 1.1 CSV');
  exp
    .command('sds-csv')
    .description('Write SDS v2.1 CSV files (optional files only when their data is enabled)')
    .requiredOption('--out <dir>', 'output directory')
    .option('--connection <id>', 'connection id or name (default: the only one)')
    .option('--db <path>', `store: a SQLite file or a postgres:// URL (default: ROSTERSYNC_DATABASE_URL, then ROSTERSYNC_DB, then ${DEFAULT_DB})`)
    .action((opts) =>
      withConnection(opts, async (store, c) => {
        const t = (c.options.toggles ?? {}) as { contacts?: boolean; demographics?: boolean; userFlags?: boolean };
        const live = await store.records.countLive(c.id);
        const toggles = {
          contacts: t.contacts ?? true,
          demographics: t.demographics ?? live.demographics.active > 0,
          userFlags: t.userFlags ?? true,
        };
        const summary = await exportSdsCsv(new StoreRosterReader(store, c.id), { outDir: opts.out, toggles, courses: live.courses.active > 0 });
        process.stdout.write(`${table(['file', 'rows'], Object.entries(summary.files).map(([f, n]) => [f, Number(n)]))}\nWrote ${opts.out}\n`);
      }),
    );
  exp
    .command('oneroster-csv')
    .description('Write a OneRoster 1.1 CSV zip (bulk, or delta with --since RUN)')
    .requiredOption('--out <file>', 'zip file to write')
    .option('--since <run>', 'delta from the change history: rows changed by runs after this one, deletions as tobedeleted')
    .option('--connection <id>', 'connection id or name (default: the only one)')
    .option('--db <path>', `store: a SQLite file or a postgres:// URL (default: ROSTERSYNC_DATABASE_URL, then ROSTERSYNC_DB, then ${DEFAULT_DB})`)
    .action((opts) =>
      withConnection(opts, async (store, c) => {
        const since = intOption('--since', opts.since, 0, Number.MAX_SAFE_INTEGER);
        if (since !== undefined) {
          // A delta is built from the change history: the run must exist, and retention must not
          // have removed history after it (the delta would silently miss changes).
          if (since > 0 && !(await store.runs.get(since))) throw new CliError(`run ${since} does not exist; \`rostersync runs --connection ${c.id}\` lists them`, 2);
          if (!(await store.changes.coversRunsAfter(c.id, since))) {
            const w = await store.changes.purgedThrough({ connectionIds: [c.id] });
            throw new CliError(`the change history of connection ${c.id} was purged by retention through run ${w?.throughRun}; a delta since run ${since} would miss changes: export bulk (without --since) instead`, 2);
          }
        }
        const summary = await exportOneRosterCsv(new StoreRosterReader(store, c.id), { outFile: opts.out, ...(since !== undefined ? { sinceRun: since } : {}) });
        process.stdout.write(`${JSON.stringify(summary)}\nWrote ${opts.out}\n`);
      }),
    );
}
