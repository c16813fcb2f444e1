import type { Command } from '@commander-js/extra-typings';
import { Option } from '@commander-js/extra-typings';
import { isSourceError } from '../source/errors.ts';
import { syncConnection, type ProviderAccess } from '../services/sync-service.ts';
import { openStore } from '../store/store.ts';
import { CliError, intOption } from './cli-error.ts';
import { runJson, runSummary } from './format.ts';
import { createProgress, silentProgress } from './progress.ts';

export const DEFAULT_DB = './rostersync.db';

/** The `--db` value: flag, then ROSTERSYNC_DB, then ./rostersync.db. */
export function dbPath(flag: string | undefined): string {
  return flag ?? process.env.ROSTERSYNC_DB ?? DEFAULT_DB;
}

interface AccessFlags {
  baseUrl: string;
  auth: 'none' | 'oauth1' | 'oauth2';
  clientId?: string;
  clientSecret?: string;
  tokenUrl?: string;
  scope?: string;
  signatureMethod: 'HMAC-SHA256' | 'HMAC-SHA1';
  pageSize?: string;
  concurrency?: string;
  rps?: string;
}

/** Builds provider access from flags and the environment; secrets may come from ROSTERSYNC_CLIENT_SECRET. */
export function accessFromFlags(opts: AccessFlags): ProviderAccess {
  const clientId = opts.clientId ?? process.env.ROSTERSYNC_CLIENT_ID;
  const clientSecret = opts.clientSecret ?? process.env.ROSTERSYNC_CLIENT_SECRET;
  const need = (value: string | undefined, flag: string, env?: string): string => {
    if (value === undefined || value === '') {
      throw new CliError(`--auth ${opts.auth} needs ${flag}${env ? ` (or ${env})` : ''}`, 2);
    }
    return value;
  };
  let auth: ProviderAccess['auth'];
  if (opts.auth === 'oauth2') {
    auth = {
      kind: 'oauth2',
      tokenUrl: need(opts.tokenUrl, '--token-url'),
      clientId: need(clientId, '--client-id', 'ROSTERSYNC_CLIENT_ID'),
      clientSecret: need(clientSecret, '--client-secret', 'ROSTERSYNC_CLIENT_SECRET'),
      ...(opts.scope !== undefined ? { scope: opts.scope } : {}),
    };
  } else if (opts.auth === 'oauth1') {
    auth = {
      kind: 'oauth1',
      clientId: need(clientId, '--client-id', 'ROSTERSYNC_CLIENT_ID'),
      clientSecret: need(clientSecret, '--client-secret', 'ROSTERSYNC_CLIENT_SECRET'),
      signatureMethod: opts.signatureMethod,
    };
  } else {
    auth = { kind: 'none' };
  }
  const pageSize = intOption('--page-size', opts.pageSize, 1, 10_000);
  const concurrency = intOption('--concurrency', opts.concurrency, 1, 5);
  const rps = opts.rps === undefined ? undefined : Number(opts.rps);
  if (rps !== undefined && !(rps > 0)) throw new CliError(`--rps must be a positive number, got "${opts.rps}"`, 2);
  return {
    baseUrl: opts.baseUrl,
    auth,
    ...(pageSize !== undefined ? { pageSize } : {}),
    ...(concurrency !== undefined ? { maxConcurrency: concurrency } : {}),
    ...(rps !== undefined ? { requestsPerSecond: rps } : {}),
  };
}

/** Adds the provider-access flags shared by `sync` and (later) `check`. */
// eslint-disable-next-line @typescript-eslint/explicit-function-return-type
export function withAccessOptions(cmd: Command<[], {}, {}>) {
  return cmd
    .requiredOption('--base-url <url>', 'OneRoster API root, ending in /ims/oneroster/v1p1')
    .addOption(new Option('--auth <kind>', 'how to authenticate').choices(['none', 'oauth1', 'oauth2'] as const).default('oauth2' as const))
    .option('--client-id <id>', 'OAuth client id / consumer key (or ROSTERSYNC_CLIENT_ID)')
    .option('--client-secret <secret>', 'OAuth secret; prefer ROSTERSYNC_CLIENT_SECRET to keep it out of shell history')
    .option('--token-url <url>', 'OAuth 2 token endpoint')
    .option('--scope <scopes>', 'OAuth 2 scopes, space-separated')
    .addOption(
      new Option('--signature-method <m>', 'OAuth 1.0a signature method').choices(['HMAC-SHA256', 'HMAC-SHA1'] as const).default('HMAC-SHA256' as const),
    )
    .option('--page-size <n>', 'records per page (limit), 1..10000', '5000')
    .option('--concurrency <n>', 'requests in flight at once, 1..5', '1')
    .option('--rps <n>', 'at most this many requests per second');
}

/** `rostersync sync`: a full sync of one provider into the store. */
export function registerSync(program: Command): void {
  withAccessOptions(program.command('sync').description('Pull a OneRoster 1.1 provider into the store (full sync)'))
    .option('--db <path>', `SQLite store file (or ROSTERSYNC_DB; default ${DEFAULT_DB})`)
    .addOption(new Option('--mode <mode>', 'sync mode').choices(['full'] as const).default('full' as const))
    .option('--courses', 'also pull /courses', false)
    .option('--demographics', 'also pull /demographics', false)
    .option('--json', 'print one JSON object instead of progress and a table', false)
    .action(async (opts) => {
      const access = accessFromFlags(opts);
      const store = await openStore({ url: dbPath(opts.db) });
      const progress = opts.json ? silentProgress : createProgress();
      const abort = new AbortController();
      const onSignal = (): void => abort.abort();
      process.once('SIGINT', onSignal);
      try {
        const { result } = await syncConnection({
          store,
          access,
          optional: { courses: opts.courses === true, demographics: opts.demographics === true },
          onProgress: (p) => progress.update(p),
          signal: abort.signal,
        });
        progress.stop();
        process.stdout.write(opts.json ? `${JSON.stringify(runJson(result))}\n` : `${runSummary(result)}\n`);
        if (result.status === 'failed') {
          throw new CliError(`sync failed: ${result.error ? `[${result.error.code}] ${result.error.message}` : 'see the run record'}`, 1);
        }
        if (result.status === 'partial') {
          throw new CliError('sync partly failed: some collections kept their last-known-good rows (see above)', 3);
        }
      } catch (err) {
        progress.stop();
        if (isSourceError(err)) throw new CliError(`[${err.code}] ${err.message}`, 1);
        throw err;
      } finally {
        process.off('SIGINT', onSignal);
        await store.close();
      }
    });
}
