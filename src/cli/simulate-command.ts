import type { Command } from '@commander-js/extra-typings';
import { Option } from '@commander-js/extra-typings';
import { startSimulator } from '../simulate/server.ts';
import { CliError, intOption } from './cli-error.ts';

const SIZES = ['tiny', 'small', 'medium', 'large'] as const;
const AUTHS = ['none', 'oauth1', 'oauth2'] as const;

/** `rostersync simulate`: a district simulator that is a real OneRoster 1.1 provider. */
export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('Serve a generated district as a OneRoster 1.1 REST provider until stopped')
    .addOption(new Option('--size <size>', 'district size').choices(SIZES).default('small' as const))
    .option('--seed <n>', 'random seed (same seed, same district)', '1')
    .option('--port <n>', 'port to listen on (0 = any free port)', '0')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .addOption(new Option('--auth <kind>', 'authentication the provider requires').choices(AUTHS).default('oauth2' as const))
    .option('--client-id <id>', 'client id (default: generated)')
    .option('--client-secret <secret>', 'client secret (default: generated; or ROSTERSYNC_SIM_CLIENT_SECRET)')
    .option('--dirty <rate>', 'fraction of records made dirty, 0..1', '0')
    .option('--faults <spec>', 'fault spec, e.g. "429=0.1,5xx=0.05,clamp=1000,no-total"')
    .option('--prefix <path>', 'path before the API root', '')
    .action(async (opts) => {
      const dirty = Number(opts.dirty);
      if (!Number.isFinite(dirty) || dirty < 0 || dirty > 1) throw new CliError(`--dirty must be a number from 0 to 1, got "${opts.dirty}"`, 2);
      const secret = opts.clientSecret ?? process.env.ROSTERSYNC_SIM_CLIENT_SECRET;
      const started = Date.now();
      const sim = await startSimulator({
        size: opts.size,
        seed: intOption('--seed', opts.seed, 0, 2 ** 31 - 1) ?? 1,
        port: intOption('--port', opts.port, 0, 65535) ?? 0,
        host: opts.host,
        auth: opts.auth,
        dirtyRate: dirty,
        prefix: `${opts.prefix.replace(/\/$/, '')}/ims/oneroster/v1p1`,
        ...(opts.clientId !== undefined ? { clientId: opts.clientId } : {}),
        ...(secret !== undefined ? { clientSecret: secret } : {}),
        ...(opts.faults !== undefined ? { faults: opts.faults } : {}),
      });
      const stats = sim.district.stats();
      const lines = [
        `Simulated district "${opts.size}" (seed ${stats.seed}) ready in ${((Date.now() - started) / 1000).toFixed(1)} s`,
        `  base URL      ${sim.baseUrl}`,
        ...(sim.auth === 'oauth2' ? [`  token URL     ${sim.tokenUrl}`] : []),
        `  auth          ${sim.auth}`,
        ...(sim.auth !== 'none' ? [`  client id     ${sim.clientId}`, `  client secret ${sim.clientSecret}`] : []),
        `  records       ${Object.entries(stats.counts).map(([c, n]) => `${c} ${n.total}`).join(', ')}`,
        `  control       POST ${sim.rootUrl}/simulator/advance {"days":N} · GET ${sim.rootUrl}/simulator/stats`,
        'Press Ctrl+C to stop.',
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          void sim.close().then(resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
