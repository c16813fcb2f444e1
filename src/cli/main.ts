/**
 * The `rostersync` command line. Thin: each command parses flags, builds the services it needs
 * (the composition root) and prints. The same services back the HTTP layer.
 */
import { Command } from '@commander-js/extra-typings';
import { registerSimulate } from './simulate-command.ts';
import { registerSync } from './sync-command.ts';
import { registerRuns } from './runs-command.ts';
import { registerDemo } from './demo-command.ts';
import { registerProviders } from './providers-command.ts';
import { registerCheck } from './check-command.ts';
import { registerConnection } from './connection-command.ts';
import { registerExport } from './export-command.ts';
import { registerReport } from './report-command.ts';
import { registerChanges } from './changes-command.ts';
import { registerWebhook } from './webhook-command.ts';
import { registerServe } from './serve-command.ts';
import { registerHolds } from './holds-command.ts';
import { registerApiClient } from './api-client-command.ts';
import { registerWorker } from './worker-command.ts';
import { CliError } from './cli-error.ts';

// `rostersync … | head` closes the pipe early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

const program = new Command()
  .name('rostersync')
  .description('Open-source School Data Sync: pull rosters from any OneRoster 1.1 API, validate, store, hand on.')
  .version('0.1.0')
  .showHelpAfterError();

registerSimulate(program);
registerSync(program);
registerRuns(program);
registerDemo(program);
registerProviders(program);
registerCheck(program);
registerConnection(program);
registerExport(program);
registerReport(program);
registerChanges(program);
registerWebhook(program);
registerServe(program);
registerHolds(program);
registerApiClient(program);
registerWorker(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CliError) {
    process.stderr.write(`rostersync: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`rostersync: ${message}\n`);
    process.exitCode = 1;
  }
}
