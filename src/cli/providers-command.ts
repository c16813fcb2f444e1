import { safeUrl } from '../source/connection.ts';
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { Command } from '@commander-js/extra-typings';
import { Option } from '@commander-js/extra-typings';
import { CAPABILITIES, filterProviders, findProvider, formatSetupGuide, statusLabel, type Capability, type Provider, type SdsStatus } from '../sds/provider-catalog.ts';
import { runProviderChecks, type CheckResult } from '../sds/provider-checks.ts';
import { effectiveStatus, resolveToggles, type ChoiceContext } from '../sds/toggles.ts';
import { connectionConfig } from '../services/sync-service.ts';
import { isSourceError } from '../source/errors.ts';
import { OneRosterClient } from '../source/oneroster-client.ts';
import { isStoreError } from '../store/errors.ts';
import { openStore, type Store } from '../store/store.ts';
import { DEFAULT_TENANT_ID } from '../store/tenant-repository.ts';
import { CliError } from './cli-error.ts';
import { table } from './format.ts';
import { accessFromFlags, dbPath, DEFAULT_DB, withAccessOptions } from './shared.ts';

const yes = (b: boolean | undefined): string => (b === undefined ? '?' : b ? 'yes' : 'no');

/** Where a command prints: stdout and stderr by default; tests pass buffers to run commands in-process. */
export interface CliIo {
  out: { write(text: string): unknown };
  err: { write(text: string): unknown };
}

/** The process's own stdout/stderr. */
export const PROCESS_IO: CliIo = { out: process.stdout, err: process.stderr };

const EMPTY_CHOICE: ChoiceContext = { flighted: new Set(), promoted: new Set() };

/**
 * The flighted/promoted providers of a tenant, read from the store at `dbFlag` (flag, then
 * ROSTERSYNC_DB, then ./rostersync.db). A store file that does not exist yet has flighted nothing,
 * so this never creates one. Used by `connection add` to decide whether a Test provider may be chosen.
 */
export async function loadChoiceContext(dbFlag: string | undefined, tenantId: string = DEFAULT_TENANT_ID): Promise<ChoiceContext> {
  const file = dbPath(dbFlag);
  if (file !== ':memory:' && !existsSync(file.startsWith('file:') ? file.slice('file:'.length) : file)) return EMPTY_CHOICE;
  const store = await openStore({ url: file });
  try {
    return await store.providerStates.state(tenantId);
  } finally {
    await store.close();
  }
}

/** Who did it: `--by`, else the OS user name (recorded with flights and promotions). */
function actor(by: string | undefined): string {
  if (by !== undefined) return by;
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** The provider named on the command line, or a CliError (exit 2). */
function providerArg(name: string): Provider {
  const p = findProvider(name);
  if (!p) throw new CliError(`unknown provider "${name}"; \`rostersync providers\` lists them`, 2);
  return p;
}

/** Opens the store and checks the tenant exists; `fn` runs with it and the store is always closed. */
async function withTenantStore<T>(dbFlag: string | undefined, tenantId: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore({ url: dbPath(dbFlag) });
  try {
    if (!(await store.tenants.get(tenantId))) throw new CliError(`no tenant "${tenantId}"`, 2);
    return await fn(store);
  } catch (err) {
    if (isStoreError(err, 'invalid_input', 'not_found')) throw new CliError(err.message, 2);
    throw err;
  } finally {
    await store.close();
  }
}

/**
 * Flighting and promotion apply to Test providers only (sds-notes §6): a Yes provider needs
 * neither, and a No or unlisted one is connected as "custom" instead.
 */
function requireTest(p: Provider, verb: string): void {
  if (p.custom) throw new CliError(`the custom provider can always be chosen; there is nothing to ${verb}`, 2);
  if (p.status === 'Yes') throw new CliError(`${p.name} has SDS status Yes and can already be chosen; there is nothing to ${verb}`, 2);
  if (p.status !== 'Test') {
    throw new CliError(`${p.name} has SDS status ${statusLabel(p.status)}; only Test providers can be ${verb === 'flight' ? 'flighted' : 'promoted'}. Connect it as the "custom" provider.`, 2);
  }
}

const DB_HELP = `SQLite store file (default ${DEFAULT_DB})`;
const TENANT_HELP = 'tenant id';

/**
 * `rostersync providers [list]`, `show NAME`, `flight NAME`, `unflight NAME`, `promote NAME`,
 * `flights`: the SDS OneRoster provider catalog, and this installation's flights and promotions.
 */
export function registerProviders(program: Command, io: CliIo = PROCESS_IO): void {
  const providers = program.command('providers').description('The OneRoster providers School Data Sync lists, with status and capabilities');
  providers
    .command('list', { isDefault: true })
    .description('List providers (filter by status or capability); with a store, the status counts local promotions')
    .addOption(new Option('--status <status>', 'SDS status (effective status when a store is read)').choices(['Yes', 'Test', 'No', 'not-listed'] as const))
    .addOption(new Option('--supports <capability>', 'optional data the provider must support').choices(CAPABILITIES))
    .option('--db <path>', `SQLite store to read flights and promotions from (default ${DEFAULT_DB}, when it exists)`)
    .option('--tenant <id>', TENANT_HELP, DEFAULT_TENANT_ID)
    .option('--json', 'print JSON', false)
    .action(async (opts) => {
      // Read the store when one is named or the default one exists; never create one for a listing.
      const file = dbPath(opts.db);
      let state: ChoiceContext | undefined;
      if (existsSync(file)) state = await loadChoiceContext(opts.db, opts.tenant);
      else if (opts.db !== undefined) throw new CliError(`no store at ${file}`, 2);
      const status = (p: Provider): SdsStatus | undefined => (state ? effectiveStatus(p, state.promoted) : p.status);
      const wanted = opts.status as SdsStatus | 'not-listed' | undefined;
      const list = filterProviders({
        ...(opts.supports !== undefined ? { supports: opts.supports as Capability } : {}),
        includeCustom: opts.status === undefined && opts.supports === undefined,
      }).filter((p) => p.custom || wanted === undefined || (status(p) ?? 'not-listed') === wanted);
      if (opts.json) {
        const out = state
          ? list.map((p) => ({ ...p, effectiveStatus: status(p), flighted: state.flighted.has(p.id), promoted: p.status === 'Test' && state.promoted.has(p.id) }))
          : list;
        io.out.write(`${JSON.stringify(out)}\n`);
        return;
      }
      const sdsCell = (p: Provider): string => {
        if (!state || p.status !== 'Test') return statusLabel(p.status);
        if (state.promoted.has(p.id)) return 'Yes (promoted)';
        return state.flighted.has(p.id) ? 'Test (flighted)' : 'Test';
      };
      const rows = list.map((p) => [p.id, p.name, statusLabel(p.classicStatus), sdsCell(p), yes(p.supports?.contacts), yes(p.supports?.demographics), yes(p.supports?.userFlags)]);
      io.out.write(`${table(['id', 'provider', 'SDS (Classic)', 'SDS', 'contacts', 'demographics', 'user flags'], rows)}\n${list.length} providers\n`);
    });
  providers
    .command('show')
    .description('Print one provider as a setup guide')
    .argument('<name>', 'provider id or name, e.g. "infinite-campus" or "Infinite Campus"')
    .option('--json', 'print JSON', false)
    .action((name, opts) => {
      const p = providerArg(name);
      io.out.write(opts.json ? `${JSON.stringify(p)}\n` : `${formatSetupGuide(p)}\n`);
    });

  providers
    .command('flight')
    .description('Flight this installation (tenant) for a Test provider, so connections may choose it')
    .argument('<name>', 'provider id or name')
    .option('--db <path>', DB_HELP)
    .option('--tenant <id>', TENANT_HELP, DEFAULT_TENANT_ID)
    .option('--by <name>', 'who flights it (default: the OS user)')
    .action(async (name, opts) => {
      const p = providerArg(name);
      requireTest(p, 'flight');
      await withTenantStore(opts.db, opts.tenant, async (store) => {
        const { created, flight } = await store.providerStates.flight(p.id, opts.tenant, actor(opts.by));
        io.out.write(
          created
            ? `Flighted ${p.name} (${p.id}) for tenant ${opts.tenant}, by ${flight.by} at ${flight.at}.\n`
            : `${p.name} (${p.id}) is already flighted for tenant ${opts.tenant} (by ${flight.by} at ${flight.at}).\n`,
        );
      });
    });

  providers
    .command('unflight')
    .description('Remove a flight (connections already added keep working; a promotion is kept)')
    .argument('<name>', 'provider id or name')
    .option('--db <path>', DB_HELP)
    .option('--tenant <id>', TENANT_HELP, DEFAULT_TENANT_ID)
    .action(async (name, opts) => {
      const p = providerArg(name);
      await withTenantStore(opts.db, opts.tenant, async (store) => {
        const removed = await store.providerStates.unflight(p.id, opts.tenant);
        io.out.write(removed ? `Unflighted ${p.name} (${p.id}) for tenant ${opts.tenant}.\n` : `${p.name} (${p.id}) was not flighted for tenant ${opts.tenant}.\n`);
      });
    });

  withAccessOptions(
    providers
      .command('promote')
      .description('Run the provider checks against a Test provider\'s API and, when every check passes, promote it to Yes locally')
      .argument('<name>', 'provider id or name'),
  )
    .option('--db <path>', DB_HELP)
    .option('--tenant <id>', TENANT_HELP, DEFAULT_TENANT_ID)
    .option('--by <name>', 'who promotes it (default: the OS user)')
    .option('--no-courses', 'do not check /courses')
    .option('--json', 'print JSON', false)
    .action(async (name, opts) => {
      const p = providerArg(name);
      requireTest(p, 'promote');
      const by = actor(opts.by);
      let config;
      try {
        config = connectionConfig(accessFromFlags(opts));
      } catch (err) {
        if (isSourceError(err)) throw new CliError(err.message, 2);
        throw err;
      }
      // Check the optional data this provider's profile supports, as a connection would ingest it.
      const toggles = resolveToggles(p);
      // Verify the tenant before spending minutes on checks.
      await withTenantStore(opts.db, opts.tenant, async () => undefined);
      const client = new OneRosterClient(config);
      let results: CheckResult[];
      try {
        results = await runProviderChecks(client, { toggles, courses: opts.courses !== false });
      } finally {
        await client.close();
      }
      const failed = results.filter((r) => r.status === 'fail');
      let promotion;
      if (failed.length === 0) {
        promotion = await withTenantStore(opts.db, opts.tenant, (store) =>
          store.providerStates.promote(p.id, opts.tenant, by, { baseUrl: safeUrl(config.baseUrl), checks: results.map((r) => ({ id: r.id, status: r.status })) }),
        );
      }
      if (opts.json) {
        io.out.write(`${JSON.stringify({ provider: p.id, tenant: opts.tenant, promoted: promotion !== undefined, ...(promotion ? { by: promotion.by, at: promotion.at } : {}), checks: results })}\n`);
      } else {
        const rows = results.map((r) => [r.status.toUpperCase(), r.id, r.title, `${Math.round(r.durationMs)} ms`, r.reason ?? '']);
        io.out.write(`${table(['result', 'check', 'what', 'time', 'reason'], rows)}\n`);
        if (promotion) io.out.write(`Promoted ${p.name} (${p.id}) from Test to Yes for tenant ${opts.tenant}, by ${promotion.by} at ${promotion.at}.\n`);
      }
      if (failed.length > 0) {
        throw new CliError(`not promoted: ${failed.length} provider check(s) failed: ${failed.map((f) => f.id).join(', ')}`, 1);
      }
    });

  providers
    .command('flights')
    .description('List the flighted and promoted providers of a tenant, with who and when')
    .option('--db <path>', DB_HELP)
    .option('--tenant <id>', TENANT_HELP, DEFAULT_TENANT_ID)
    .option('--json', 'print JSON', false)
    .action(async (opts) => {
      await withTenantStore(opts.db, opts.tenant, async (store) => {
        const list = await store.providerStates.list(opts.tenant);
        if (opts.json) return void io.out.write(`${JSON.stringify(list)}\n`);
        const rows = list.map((e) => [
          e.providerId,
          e.flight ? `${e.flight.by} at ${e.flight.at}` : '-',
          e.promotion ? `${e.promotion.by} at ${e.promotion.at}` : '-',
        ]);
        io.out.write(`${table(['provider', 'flighted', 'promoted'], rows)}\n${list.length} provider(s) flighted or promoted for tenant ${opts.tenant}\n`);
      });
    });
}
