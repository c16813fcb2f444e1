/**
 * `rostersync api-client add|list|revoke|rotate`: downstream clients of the re-served OneRoster API
 * (`rostersync serve`, issue 6).
 *
 * `add` and `rotate` print the client secret once: the store keeps only a scrypt hash of it (and,
 * for `--oauth1` clients, the secret sealed with the store's secret key, since HMAC signatures need
 * it). Nothing prints it again; a lost secret is replaced with `rotate`.
 */
import type { Command } from '@commander-js/extra-typings';
import { API_SCOPES, type ApiClient } from '../store/api-client-repository.ts';
import { isStoreError } from '../store/errors.ts';
import type { Store } from '../store/store.ts';
import { CliError } from './cli-error.ts';
import { table } from './format.ts';
import { PROCESS_IO, type CliIo } from './providers-command.ts';
import { DEFAULT_DB, findConnection, openStoreWithKey } from './shared.ts';

const DB_HELP = `store: a SQLite file or a postgres:// URL (default: ROSTERSYNC_DATABASE_URL, then ROSTERSYNC_DB, then ${DEFAULT_DB})`;

/** Finds a client by row id, client id, or (active clients only) unique name. */
async function findClient(store: Store, ref: string): Promise<ApiClient> {
  const direct = await store.apiClients.get(ref);
  if (direct) return direct;
  const named = (await store.apiClients.list()).filter((c) => c.name === ref);
  if (named.length === 1) return named[0]!;
  if (named.length > 1) throw new CliError(`several API clients are named "${ref}"; use the client id`, 2);
  throw new CliError(`no API client "${ref}"; \`rostersync api-client list\` shows them`, 2);
}

/** Store errors a user can act on become one-line CLI errors. */
async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isStoreError(err, 'invalid_input', 'not_found', 'secret_key_missing')) throw new CliError(err.message, 2);
    throw err;
  }
}

function secretLines(c: ApiClient, secret: string): string[] {
  return [
    `  client id:     ${c.clientId}`,
    `  client secret: ${secret}`,
    '  (the secret is shown once: hand it to the app now; `rostersync api-client rotate` replaces a lost one)',
    '',
    'The app reads with `rostersync serve` running: OAuth 2 token URL <server>/oauth/token (client credentials),',
    `OneRoster base URL <server>/ims/oneroster/v1p1${c.oauth1 ? ' (OAuth 1.0a signatures accepted too, HMAC-SHA256 or HMAC-SHA1)' : ''}.`,
  ];
}

function summary(c: ApiClient): string {
  return `${c.id} "${c.name}" for connection ${c.connectionId} (scopes ${c.scopes.join(', ')}; OAuth 2${c.oauth1 ? ' and OAuth 1.0a' : ''})`;
}

/** `rostersync api-client …`. */
export function registerApiClient(program: Command, io: CliIo = PROCESS_IO): void {
  const cmd = program.command('api-client').description('Clients of the re-served OneRoster API (secrets shown once, stored hashed)');

  cmd
    .command('add')
    .description('Add a client reading one connection; prints its client id and secret once')
    .argument('<name>', 'a name for the app or vendor')
    .requiredOption('--connection <id>', 'connection id or name whose data the client reads')
    .option('--scopes <list>', `comma-separated, among ${API_SCOPES.join(', ')}`, 'roster-core,roster')
    .option('--oauth1', 'also accept OAuth 1.0a signatures (keeps the secret sealed with the store key)', false)
    .option('--db <path>', DB_HELP)
    .option('--json', 'print JSON (includes the secret, once)', false)
    .action(async (name, opts) => {
      const store = await openStoreWithKey(opts.db, opts.oauth1);
      try {
        const conn = await findConnection(store, opts.connection);
        const { client, clientSecret } = await guarded(() =>
          store.apiClients.create({ connectionId: conn.id, name, scopes: opts.scopes.split(','), oauth1: opts.oauth1 }),
        );
        if (opts.json) return void io.out.write(`${JSON.stringify({ ...client, clientSecret })}\n`);
        io.out.write([`Added API client ${summary(client)}.`, ...secretLines(client, clientSecret)].join('\n') + '\n');
      } finally {
        await store.close();
      }
    });

  cmd
    .command('list')
    .description('List clients (never their secrets)')
    .option('--connection <id>', 'only clients of this connection (id or name)')
    .option('--all', 'include revoked clients', false)
    .option('--db <path>', DB_HELP)
    .option('--json', 'print JSON', false)
    .action(async (opts) => {
      const store = await openStoreWithKey(opts.db, false);
      try {
        const conn = opts.connection === undefined ? undefined : await findConnection(store, opts.connection);
        const list = await store.apiClients.list({ includeRevoked: opts.all, ...(conn ? { connectionId: conn.id } : {}) });
        if (opts.json) return void io.out.write(`${JSON.stringify(list)}\n`);
        const rows = list.map((c) => [
          c.id,
          c.name,
          c.clientId,
          c.connectionId,
          c.scopes.join(','),
          c.oauth1 ? 'oauth2+oauth1' : 'oauth2',
          c.revokedAt !== undefined ? `revoked ${c.revokedAt}` : 'active',
          c.lastUsedAt ?? '-',
        ]);
        io.out.write(`${table(['id', 'name', 'client id', 'connection', 'scopes', 'auth', 'state', 'last used'], rows)}\n`);
      } finally {
        await store.close();
      }
    });

  cmd
    .command('revoke')
    .description('Revoke a client: its tokens and signatures are refused from now on')
    .argument('<client>', 'client id, id, or name')
    .option('--db <path>', DB_HELP)
    .action(async (ref, opts) => {
      const store = await openStoreWithKey(opts.db, false);
      try {
        const c = await findClient(store, ref);
        const revoked = await guarded(() => store.apiClients.revoke(c.id));
        io.out.write(`Revoked API client ${summary(revoked)} at ${revoked.revokedAt ?? '?'}.\n`);
      } finally {
        await store.close();
      }
    });

  cmd
    .command('rotate')
    .description('Replace a client\'s secret; prints the new one once (the old one stops working)')
    .argument('<client>', 'client id, id, or name')
    .option('--db <path>', DB_HELP)
    .option('--json', 'print JSON (includes the secret, once)', false)
    .action(async (ref, opts) => {
      // An OAuth 1.0a client's new secret is sealed with the existing key (never created here).
      const store = await openStoreWithKey(opts.db, false);
      try {
        const c = await findClient(store, ref);
        const { client, clientSecret } = await guarded(() => store.apiClients.rotate(c.id));
        if (opts.json) return void io.out.write(`${JSON.stringify({ ...client, clientSecret })}\n`);
        io.out.write([`Rotated the secret of API client ${summary(client)}; the old secret no longer works.`, ...secretLines(client, clientSecret)].join('\n') + '\n');
      } finally {
        await store.close();
      }
    });
}
