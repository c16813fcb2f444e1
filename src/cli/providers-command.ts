import type { Command } from '@commander-js/extra-typings';
import { Option } from '@commander-js/extra-typings';
import { CAPABILITIES, filterProviders, findProvider, formatSetupGuide, statusLabel, type Capability, type SdsStatus } from '../sds/provider-catalog.ts';
import { CliError } from './cli-error.ts';
import { table } from './format.ts';

const yes = (b: boolean | undefined): string => (b === undefined ? '?' : b ? 'yes' : 'no');

/** `rostersync providers [list]` and `rostersync providers show NAME`: the SDS OneRoster provider catalog. */
export function registerProviders(program: Command): void {
  const providers = program.command('providers').description('The OneRoster providers School Data Sync lists, with status and capabilities');
  providers
    .command('list', { isDefault: true })
    .description('List providers (filter by status or capability)')
    .addOption(new Option('--status <status>', 'SDS status').choices(['Yes', 'Test', 'No', 'not-listed'] as const))
    .addOption(new Option('--supports <capability>', 'optional data the provider must support').choices(CAPABILITIES))
    .option('--json', 'print JSON', false)
    .action((opts) => {
      const list = filterProviders({
        ...(opts.status !== undefined ? { status: opts.status as SdsStatus | 'not-listed' } : {}),
        ...(opts.supports !== undefined ? { supports: opts.supports as Capability } : {}),
        includeCustom: opts.status === undefined && opts.supports === undefined,
      });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(list)}\n`);
        return;
      }
      const rows = list.map((p) => [p.id, p.name, statusLabel(p.classicStatus), statusLabel(p.status), yes(p.supports?.contacts), yes(p.supports?.demographics), yes(p.supports?.userFlags)]);
      process.stdout.write(`${table(['id', 'provider', 'SDS (Classic)', 'SDS', 'contacts', 'demographics', 'user flags'], rows)}\n${list.length} providers\n`);
    });
  providers
    .command('show')
    .description('Print one provider as a setup guide')
    .argument('<name>', 'provider id or name, e.g. "infinite-campus" or "Infinite Campus"')
    .option('--json', 'print JSON', false)
    .action((name, opts) => {
      const p = findProvider(name);
      if (!p) throw new CliError(`unknown provider "${name}"; \`rostersync providers\` lists them`, 2);
      process.stdout.write(opts.json ? `${JSON.stringify(p)}\n` : `${formatSetupGuide(p)}\n`);
    });
}
