import type { Command } from '@commander-js/extra-typings';
import { Option } from '@commander-js/extra-typings';
import { findProvider, connectionHints } from '../sds/provider-catalog.ts';
import { canChoose, resolveToggles, ToggleError } from '../sds/toggles.ts';
import { connectionConfig } from '../services/sync-service.ts';
import { openStore } from '../store/store.ts';
import { DEFAULT_TENANT_ID } from '../store/tenant-repository.ts';
import { isSourceError } from '../source/errors.ts';
import { CliError } from './cli-error.ts';
import { table } from './format.ts';
import { loadChoiceContext, PROCESS_IO, type CliIo } from './providers-command.ts';
import { accessFromFlags, dbPath, DEFAULT_DB, findConnection, openStoreWithKey, withAccessOptions } from './shared.ts';

/** `rostersync connection add|list|show|remove`: stored connections (secrets sealed at rest, never printed). */
export function registerConnection(program: Command, io: CliIo = PROCESS_IO): void {
  const conn = program.command('connection').description('Store OneRoster connections (secrets encrypted at rest)');

  withAccessOptions(conn.command('add').description('Add a connection').argument('<name>', 'a name for this connection'))
    .option('--db <path>', `SQLite store file (default ${DEFAULT_DB})`)
    .option('--provider <name>', 'provider from `rostersync providers` (default custom)', 'custom')
    .addOption(new Option('--contacts <on|off>', 'contacts toggle (default: on when the provider supports it)').choices(['on', 'off'] as const))
    .addOption(new Option('--demographics <on|off>', 'demographics toggle').choices(['on', 'off'] as const))
    .addOption(new Option('--user-flags <on|off>', 'user flags toggle').choices(['on', 'off'] as const))
    .option('--no-courses', 'do not pull /courses')
    .action(async (name, opts) => {
      const provider = findProvider(opts.provider);
      if (!provider) throw new CliError(`unknown provider "${opts.provider}"; \`rostersync providers\` lists them`, 2);
      // A Test provider needs a flight (or local promotion) of the connection's tenant; connections
      // are added to the default tenant (sds-notes §6; `rostersync providers flight NAME`).
      const choice = canChoose(provider, provider.status === 'Test' ? await loadChoiceContext(opts.db, DEFAULT_TENANT_ID) : { flighted: new Set(), promoted: new Set() });
      if (!choice.ok) throw new CliError(choice.reason, 2);
      const access = accessFromFlags(opts);
      let config;
      try {
        config = connectionConfig(access);
      } catch (err) {
        if (isSourceError(err)) throw new CliError(err.message, 2);
        throw err;
      }
      const hints = connectionHints(provider, { baseUrl: config.baseUrl, ...(config.auth.kind === 'oauth2' ? { tokenUrl: config.auth.tokenUrl } : {}) });
      if (hints.errors.length > 0) throw new CliError(hints.errors.join(' '), 2);
      for (const w of hints.warnings) io.err.write(`warning: ${w}\n`);
      const onOff = (v: 'on' | 'off' | undefined): boolean | undefined => (v === undefined ? undefined : v === 'on');
      let toggles;
      try {
        const req: Record<string, boolean> = {};
        for (const [k, v] of [['contacts', onOff(opts.contacts)], ['demographics', onOff(opts.demographics)], ['userFlags', onOff(opts.userFlags)]] as const) {
          if (v !== undefined) req[k] = v;
        }
        toggles = resolveToggles(provider, req);
      } catch (err) {
        if (err instanceof ToggleError) throw new CliError(err.message, 2);
        throw err;
      }
      const store = await openStoreWithKey(opts.db, config.auth.kind !== 'none');
      try {
        const options: Record<string, unknown> = {
          provider: provider.id,
          toggles,
          courses: opts.courses !== false,
          pageSize: config.pageSize,
          maxConcurrency: config.maxConcurrency,
          ...(config.requestsPerSecond !== undefined ? { requestsPerSecond: config.requestsPerSecond } : {}),
        };
        let secret: string | undefined;
        if (config.auth.kind !== 'none') {
          options.clientId = config.auth.clientId;
          secret = config.auth.clientSecret;
        }
        if (config.auth.kind === 'oauth2') {
          options.tokenUrl = config.auth.tokenUrl;
          if (config.auth.scope !== undefined) options.scope = config.auth.scope;
        }
        if (config.auth.kind === 'oauth1') options.signatureMethod = config.auth.signatureMethod;
        const c = await store.connections.create({ name, baseUrl: config.baseUrl, authKind: config.auth.kind, options, ...(secret !== undefined ? { secret } : {}) });
        io.out.write(`Added connection ${c.id} "${c.name}" (${provider.name}; contacts ${toggles.contacts ? 'on' : 'off'}, demographics ${toggles.demographics ? 'on' : 'off'}, user flags ${toggles.userFlags ? 'on' : 'off'}).\nSync it with: rostersync sync --connection ${c.id}\n`);
      } finally {
        await store.close();
      }
    });

  conn
    .command('list')
    .description('List connections (never their secrets)')
    .option('--db <path>', `SQLite store file (default ${DEFAULT_DB})`)
    .option('--json', 'print JSON', false)
    .action(async (opts) => {
      const store = await openStore({ url: dbPath(opts.db) });
      try {
        const list = await store.connections.list();
        if (opts.json) return void io.out.write(`${JSON.stringify(list)}\n`);
        const rows = list.map((c) => [c.id, c.name, String(c.options.provider ?? 'custom'), c.authKind, c.baseUrl, c.hasSecret ? 'stored' : '-']);
        io.out.write(`${table(['id', 'name', 'provider', 'auth', 'base URL', 'secret'], rows)}\n`);
      } finally {
        await store.close();
      }
    });

  conn
    .command('show')
    .description('Show one connection (the secret is never shown)')
    .argument('<connection>', 'id or name')
    .option('--db <path>', `SQLite store file (default ${DEFAULT_DB})`)
    .option('--json', 'print JSON', false)
    .action(async (idOrName, opts) => {
      const store = await openStore({ url: dbPath(opts.db) });
      try {
        const c = await findConnection(store, idOrName);
        const live = await store.records.countLive(c.id);
        if (opts.json) return void io.out.write(`${JSON.stringify({ ...c, records: live })}\n`);
        const lines = [
          `${c.id} "${c.name}" · tenant ${c.tenantId}`,
          `base URL  ${c.baseUrl}`,
          `auth      ${c.authKind}${c.hasSecret ? ' (secret stored, encrypted)' : ''}`,
          `options   ${JSON.stringify(c.options)}`,
          `records   ${Object.entries(live).map(([k, n]) => `${k} ${n.active}`).join(', ')}`,
        ];
        io.out.write(`${lines.join('\n')}\n`);
      } finally {
        await store.close();
      }
    });

  conn
    .command('remove')
    .description('Remove a connection and everything synced from it')
    .argument('<connection>', 'id or name')
    .option('--db <path>', `SQLite store file (default ${DEFAULT_DB})`)
    .action(async (idOrName, opts) => {
      const store = await openStore({ url: dbPath(opts.db) });
      try {
        const c = await findConnection(store, idOrName);
        await store.connections.delete(c.id);
        io.out.write(`Removed connection ${c.id} "${c.name}".\n`);
      } finally {
        await store.close();
      }
    });
}
