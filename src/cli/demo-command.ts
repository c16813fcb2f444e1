import type { Command } from '@commander-js/extra-typings';
import { resolve } from 'node:path';
import { startSimulator, type RunningSimulator } from '../simulate/server.ts';
import { syncConnection } from '../services/sync-service.ts';
import { openStore } from '../store/store.ts';
import { CliError } from './cli-error.ts';
import { runSummary } from './format.ts';
import { createProgress } from './progress.ts';
import { dbPath, DEFAULT_DB } from './shared.ts';

/**
 * The demo's simulator port. The same port each time keeps the records' hrefs (and so the page
 * bodies) the same from one `npm run demo` to the next, so the second run recognises its pages
 * ("known pages") instead of re-reading them because the hrefs name a new port.
 */
const DEMO_PORT = 39401;

async function startDemoSimulator(seed: number, port: number): Promise<RunningSimulator> {
  try {
    return await startSimulator({ size: 'small', seed, auth: 'oauth2', port });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw err;
    process.stderr.write(`Port ${port} is taken; the simulator uses another one.\n`);
    return startSimulator({ size: 'small', seed, auth: 'oauth2' });
  }
}

/**
 * `rostersync demo` (`npm run demo`): the main job end to end on the embedded default. Starts the
 * district simulator (`small`, OAuth 2) in-process, runs a full sync into ./rostersync.db, prints
 * the summary and where the data is.
 */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('Start a simulated district (small, OAuth 2) and run a full sync of it into the store')
    .option('--db <path>', `store: a SQLite file or a postgres:// URL (default: ROSTERSYNC_DATABASE_URL, then ROSTERSYNC_DB, then ${DEFAULT_DB})`)
    .option('--seed <n>', 'district seed', '1')
    .option('--port <n>', `simulator port (default ${DEMO_PORT}; any free port when that one is taken)`)
    .action(async (opts) => {
      const file = dbPath(opts.db);
      process.stderr.write('Starting the simulated district (small, OAuth 2 client credentials)…\n');
      const sim = await startDemoSimulator(Number(opts.seed) || 1, opts.port === undefined ? DEMO_PORT : Number(opts.port));
      const store = await openStore({ url: file });
      const progress = createProgress();
      try {
        process.stderr.write(`Provider: ${sim.baseUrl}\nSyncing into ${resolve(file)}…\n`);
        const { result, connection } = await syncConnection({
          store,
          access: {
            baseUrl: sim.baseUrl,
            auth: { kind: 'oauth2', tokenUrl: sim.tokenUrl, clientId: sim.clientId, clientSecret: sim.clientSecret },
          },
          connectionName: 'demo-district',
          optional: { courses: true, demographics: true },
          // The simulator supports every optional data piece: SDS rules on, all toggles on.
          toggles: { contacts: true, demographics: true, userFlags: true },
          onProgress: (p) => progress.update(p),
        });
        progress.stop();
        const live = await store.records.countLive(connection.id);
        process.stdout.write(`${runSummary(result)}\n\n`);
        process.stdout.write(
          [
            `The store is ${resolve(file)} (SQLite). Connection "${connection.id}" now holds:`,
            ...Object.entries(live).map(([c, n]) => `  ${c.padEnd(17)} ${String(n.active).padStart(7)} active, ${n.deleted} deleted`),
            '',
            'Next: `npx rostersync runs` lists runs; `npx rostersync runs show ' + result.runId + '` shows this one with its data issues.',
            'Run `npm run demo` again: the second sync of unchanged data writes nothing (0 created, 0 updated).',
          ].join('\n') + '\n',
        );
        if (result.status === 'failed') throw new CliError('the demo sync failed', 1);
      } finally {
        progress.stop();
        await store.close();
        await sim.close();
      }
    });
}
