/** Pieces shared by the CLI commands: store location, provider-access flags, stored connections. */
import type { Command } from '@commander-js/extra-typings';
import { Option } from '@commander-js/extra-typings';
import type { ProviderAccess } from '../services/sync-service.ts';
import { loadSecretKey } from '../services/secret-key.ts';
import { isStoredConnectionError, storedAccess, type StoredAccess } from '../services/stored-connection.ts';
import type { Connection } from '../store/connection-repository.ts';
import { openStore, type Store } from '../store/store.ts';
import { CliError, intOption } from './cli-error.ts';

export const DEFAULT_DB = './rostersync.db';

/**
 * The store to open: `--db`, then `ROSTERSYNC_DATABASE_URL`, then `ROSTERSYNC_DB`, then
 * ./rostersync.db. Each is a SQLite file path or a `postgres://` / `postgresql://` URL (openStore
 * picks the dialect). Empty variables count as unset.
 */
export function dbPath(flag: string | undefined): string {
  const env = (name: string): string | undefined => (process.env[name] === '' ? undefined : process.env[name]);
  return flag ?? env('ROSTERSYNC_DATABASE_URL') ?? env('ROSTERSYNC_DB') ?? DEFAULT_DB;
}

interface AccessFlags {
  baseUrl?: string;
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
  if (opts.baseUrl === undefined) throw new CliError('--base-url is required (the OneRoster API root, ending in /ims/oneroster/v1p1)', 2);
  const baseUrl = opts.baseUrl;
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
    baseUrl,
    auth,
    ...(pageSize !== undefined ? { pageSize } : {}),
    ...(concurrency !== undefined ? { maxConcurrency: concurrency } : {}),
    ...(rps !== undefined ? { requestsPerSecond: rps } : {}),
  };
}

/** Adds the provider-access flags shared by `sync` and (later) `check`. */
// eslint-disable-next-line @typescript-eslint/explicit-function-return-type
export function withAccessOptions<Args extends unknown[]>(cmd: Command<Args, {}, {}>) {
  return cmd
    .option('--base-url <url>', 'OneRoster API root, ending in /ims/oneroster/v1p1')
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

/** Opens the store with the secret key (created on first use when `create`). */
export async function openStoreWithKey(dbFlag: string | undefined, create: boolean): Promise<Store> {
  const db = dbPath(dbFlag);
  const key = loadSecretKey(db, { create });
  return openStore({ url: db, ...(key ? { secretKey: key.key } : {}) });
}

/** Finds a connection by id or by name. */
export async function findConnection(store: Store, idOrName: string): Promise<Connection> {
  const byId = await store.connections.get(idOrName).catch(() => undefined);
  if (byId) return byId;
  const byName = (await store.connections.list()).filter((c) => c.name === idOrName);
  if (byName.length === 1) return byName[0]!;
  if (byName.length > 1) throw new CliError(`several connections are named "${idOrName}"; use its id`, 2);
  throw new CliError(`no connection "${idOrName}"; \`rostersync connection list\` shows them`, 2);
}

/**
 * Provider access of a stored connection (see `storedAccess`), found by id or name; a missing
 * secret becomes a one-line CLI error.
 */
export async function storedTarget(store: Store, idOrName: string): Promise<StoredAccess> {
  const c = await findConnection(store, idOrName);
  try {
    return await storedAccess(store, c);
  } catch (err) {
    if (isStoredConnectionError(err)) throw new CliError(err.message, 2);
    throw err;
  }
}
