import type { Command } from '@commander-js/extra-typings';
import { OneRosterClient } from '../source/oneroster-client.ts';
import { runProviderChecks } from '../sds/provider-checks.ts';
import { connectionConfig } from '../services/sync-service.ts';
import { accessFromFlags, withAccessOptions } from './shared.ts';
import { CliError } from './cli-error.ts';
import { table } from './format.ts';

/** `rostersync check`: the checks School Data Sync makes of a OneRoster provider, as a pass/fail table. */
export function registerCheck(program: Command): void {
  withAccessOptions(program.command('check').description('Run the checks SDS makes of a OneRoster 1.1 provider against any API'))
    .option('--contacts', 'also check contacts (guardians linked through agents)', false)
    .option('--demographics', 'also check /demographics', false)
    .option('--user-flags', 'also check metadata."microsoft.userFlags"', false)
    .option('--no-courses', 'do not check /courses')
    .option('--json', 'print JSON', false)
    .action(async (opts) => {
      const client = new OneRosterClient(connectionConfig(accessFromFlags(opts)));
      try {
        const results = await runProviderChecks(client, {
          toggles: { contacts: opts.contacts === true, demographics: opts.demographics === true, userFlags: opts.userFlags === true },
          courses: opts.courses !== false,
        });
        const failed = results.filter((r) => r.status === 'fail');
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ passed: failed.length === 0, checks: results })}\n`);
        } else {
          const rows = results.map((r) => [r.status.toUpperCase(), r.id, r.title, `${Math.round(r.durationMs)} ms`, r.reason ?? '']);
          process.stdout.write(`${table(['result', 'check', 'what', 'time', 'reason'], rows)}\n`);
          process.stdout.write(`${results.length - failed.length}/${results.length} checks passed or skipped, ${failed.length} failed\n`);
        }
        if (failed.length > 0) throw new CliError(`${failed.length} provider check(s) failed: ${failed.map((f) => f.id).join(', ')}`, 1);
      } finally {
        await client.close();
      }
    });
}
