import type { Command } from '@commander-js/extra-typings';
import { exportOneRosterZip, exportSdsFiles } from '../services/export-service.ts';
import { isStoreError } from '../store/errors.ts';
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
        const summary = await exportSdsFiles(store, c, opts.out);
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
        let summary;
        try {
          summary = await exportOneRosterZip(store, c, opts.out, since);
        } catch (err) {
          if (isStoreError(err, 'not_found', 'invalid_input')) throw new CliError(`${err.message}${err.code === 'not_found' ? `; \`rostersync runs --connection ${c.id}\` lists them` : ''}`, 2);
          throw err;
        }
        process.stdout.write(`${JSON.stringify(summary)}\nWrote ${opts.out}\n`);
      }),
    );
}
