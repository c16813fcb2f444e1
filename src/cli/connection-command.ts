import type { Command } from '@commander-js/extra-typings';
import { Option } from '@commander-js/extra-typings';
import { findProvider, connectionHints } from '../sds/provider-catalog.ts';
import { canChoose, resolveToggles, ToggleError } from '../sds/toggles.ts';
import { connectionConfig } from '../services/sync-service.ts';
import { isStoredConnectionError, updateSchedule } from '../services/stored-connection.ts';
import { registerSafeguards } from './safeguards-command.ts';
import type { Connection } from '../store/connection-repository.ts';
import {
  DEFAULT_DELTA_CRON,
  DEFAULT_FULL_CRON,
  DEFAULT_RETENTION_DAYS,
  DEFAULT_TIMEZONE,
  isScheduleError,
  MAX_RETENTION_DAYS,
  retentionDaysOf,
  scheduleOf,
  withSchedule,
  type ScheduleChange,
} from '../sync/schedule.ts';
import { decideDue, loadPastRuns, type PastRun } from '../sync/scheduler.ts';
import { openStore } from '../store/store.ts';
import { DEFAULT_TENANT_ID } from '../store/tenant-repository.ts';
import { isSourceError } from '../source/errors.ts';
import { CliError, intOption } from './cli-error.ts';
import { table } from './format.ts';
import { loadChoiceContext, PROCESS_IO, type CliIo } from './providers-command.ts';
import { accessFromFlags, dbPath, DEFAULT_DB, findConnection, openStoreWithKey, withAccessOptions } from './shared.ts';

/** `rostersync connection add|list|show|remove`: stored connections (secrets sealed at rest, never printed). */
export function registerConnection(program: Command, io: CliIo = PROCESS_IO): void {
  const conn = program.command('connection').description('Store OneRoster connections (secrets encrypted at rest)');

  withAccessOptions(conn.command('add').description('Add a connection').argument('<name>', 'a name for this connection'))
    .option('--db <path>', `store: a SQLite file or a postgres:// URL (default: ROSTERSYNC_DATABASE_URL, then ROSTERSYNC_DB, then ${DEFAULT_DB})`)
    .option('--provider <name>', 'provider from `rostersync providers` (default custom)', 'custom')
    .addOption(new Option('--contacts <on|off>', 'contacts toggle (default: on when the provider supports it)').choices(['on', 'off'] as const))
    .addOption(new Option('--demographics <on|off>', 'demographics toggle').choices(['on', 'off'] as const))
    .addOption(new Option('--user-flags <on|off>', 'user flags toggle').choices(['on', 'off'] as const))
    .option('--no-courses', 'do not pull /courses')
    .option('--delta-cron <expr>', `delta sync schedule, cron "min hour day month weekday" (default "${DEFAULT_DELTA_CRON}": every 12 hours)`)
    .option('--full-cron <expr>', `full sync schedule, cron (default "${DEFAULT_FULL_CRON}": Sundays 03:00)`)
    .option('--timezone <tz>', `IANA time zone the schedules are read in (default ${DEFAULT_TIMEZONE})`)
    .option('--retention-days <n>', `days tombstones and change history are kept (default ${DEFAULT_RETENTION_DAYS})`)
    .option('--no-schedule', 'store the connection with its schedules off (`connection schedule NAME --enable` turns them on)')
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
      // Validated before anything is stored; the complete schedule is stored, defaults included.
      const scheduled = scheduleSettings(
        { provider: provider.id },
        {
          enabled: opts.schedule,
          retentionDays: intOption('--retention-days', opts.retentionDays, 1, MAX_RETENTION_DAYS) ?? DEFAULT_RETENTION_DAYS,
          ...(opts.deltaCron !== undefined ? { delta: opts.deltaCron } : {}),
          ...(opts.fullCron !== undefined ? { full: opts.fullCron } : {}),
          ...(opts.timezone !== undefined ? { timezone: opts.timezone } : {}),
        },
      );
      const store = await openStoreWithKey(opts.db, config.auth.kind !== 'none');
      try {
        const options: Record<string, unknown> = {
          schedule: scheduled.schedule,
          tombstoneRetentionDays: scheduled.tombstoneRetentionDays,
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
        io.out.write(`${scheduleLines(c, await loadPastRuns(store, c.id)).join('\n')}\n`);
      } finally {
        await store.close();
      }
    });

  conn
    .command('list')
    .description('List connections (never their secrets)')
    .option('--db <path>', `store: a SQLite file or a postgres:// URL (default: ROSTERSYNC_DATABASE_URL, then ROSTERSYNC_DB, then ${DEFAULT_DB})`)
    .option('--json', 'print JSON', false)
    .action(async (opts) => {
      const store = await openStore({ url: dbPath(opts.db) });
      try {
        const list = await store.connections.list();
        if (opts.json) return void io.out.write(`${JSON.stringify(list)}\n`);
        const rows = list.map((c) => [c.id, c.name, String(c.options.provider ?? 'custom'), c.authKind, c.baseUrl, c.hasSecret ? 'stored' : '-', scheduleOf(c).enabled ? 'on' : 'off']);
        io.out.write(`${table(['id', 'name', 'provider', 'auth', 'base URL', 'secret', 'schedule'], rows)}\n`);
      } finally {
        await store.close();
      }
    });

  conn
    .command('show')
    .description('Show one connection (the secret is never shown)')
    .argument('<connection>', 'id or name')
    .option('--db <path>', `store: a SQLite file or a postgres:// URL (default: ROSTERSYNC_DATABASE_URL, then ROSTERSYNC_DB, then ${DEFAULT_DB})`)
    .option('--json', 'print JSON', false)
    .action(async (idOrName, opts) => {
      const store = await openStore({ url: dbPath(opts.db) });
      try {
        const c = await findConnection(store, idOrName);
        const live = await store.records.countLive(c.id);
        const past = await loadPastRuns(store, c.id);
        if (opts.json) return void io.out.write(`${JSON.stringify({ ...c, records: live, schedule: scheduleJson(c, past) })}\n`);
        const lines = [
          `${c.id} "${c.name}" · tenant ${c.tenantId}`,
          `base URL  ${c.baseUrl}`,
          `auth      ${c.authKind}${c.hasSecret ? ' (secret stored, encrypted)' : ''}`,
          `options   ${JSON.stringify(c.options)}`,
          `records   ${Object.entries(live).map(([k, n]) => `${k} ${n.active}`).join(', ')}`,
          ...scheduleLines(c, past),
        ];
        io.out.write(`${lines.join('\n')}\n`);
      } finally {
        await store.close();
      }
    });

  conn
    .command('schedule')
    .description('Show or change when a connection syncs by itself under `rostersync serve`, and its tombstone retention')
    .argument('<connection>', 'id or name')
    .option('--delta-cron <expr>', 'delta sync schedule, cron "min hour day month weekday" (e.g. "0 */12 * * *")')
    .option('--full-cron <expr>', 'full sync schedule, cron (e.g. "0 3 * * 0")')
    .option('--timezone <tz>', 'IANA time zone the schedules are read in (e.g. UTC, America/Chicago)')
    .option('--retention-days <n>', 'days tombstones and change history are kept')
    .option('--enable', 'turn the schedules on')
    .option('--disable', 'turn the schedules off (manual `rostersync sync` still works)')
    .option('--db <path>', `SQLite store file (default ${DEFAULT_DB})`)
    .option('--json', 'print JSON', false)
    .action(async (idOrName, opts) => {
      if (opts.enable && opts.disable) throw new CliError('--enable and --disable exclude each other', 2);
      const retentionDays = intOption('--retention-days', opts.retentionDays, 1, MAX_RETENTION_DAYS);
      const change: ScheduleChange = {
        ...(opts.enable ? { enabled: true } : opts.disable ? { enabled: false } : {}),
        ...(opts.deltaCron !== undefined ? { delta: opts.deltaCron } : {}),
        ...(opts.fullCron !== undefined ? { full: opts.fullCron } : {}),
        ...(opts.timezone !== undefined ? { timezone: opts.timezone } : {}),
        ...(retentionDays !== undefined ? { retentionDays } : {}),
      };
      const store = await openStore({ url: dbPath(opts.db) });
      try {
        let c = await findConnection(store, idOrName);
        const changed = Object.keys(change).length > 0;
        if (changed) c = await scheduleCall(() => updateSchedule(store, c, change));
        const past = await loadPastRuns(store, c.id);
        if (opts.json) return void io.out.write(`${JSON.stringify({ id: c.id, ...scheduleJson(c, past) })}\n`);
        io.out.write(`${changed ? `Updated connection ${c.id} "${c.name}".\n` : `${c.id} "${c.name}"\n`}${scheduleLines(c, past).join('\n')}\n`);
      } finally {
        await store.close();
      }
    });

  registerSafeguards(conn);

  conn
    .command('remove')
    .description('Remove a connection and everything synced from it')
    .argument('<connection>', 'id or name')
    .option('--db <path>', `store: a SQLite file or a postgres:// URL (default: ROSTERSYNC_DATABASE_URL, then ROSTERSYNC_DB, then ${DEFAULT_DB})`)
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

/** Runs a schedule service call, turning its typed errors into one-line CLI errors (exit 2). */
async function scheduleCall<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isScheduleError(err) || isStoredConnectionError(err)) throw new CliError(err.message, 2);
    throw err;
  }
}

/** The schedule and retention `connection add` stores (validated; exit 2 when unusable). */
function scheduleSettings(options: Record<string, unknown>, change: ScheduleChange): { schedule: unknown; tombstoneRetentionDays: unknown } {
  let next: Record<string, unknown>;
  try {
    next = withSchedule({ options }, change);
  } catch (err) {
    if (isScheduleError(err)) throw new CliError(err.message, 2);
    throw err;
  }
  return { schedule: next.schedule, tombstoneRetentionDays: next.tombstoneRetentionDays };
}

/** A connection's schedule, retention, next fires and what is due now (for `--json`). */
function scheduleJson(c: Connection, past: Map<string, PastRun[]>, now = new Date()): Record<string, unknown> {
  const schedule = scheduleOf(c);
  const out: Record<string, unknown> = { ...schedule, retentionDays: retentionDaysOf(c) };
  try {
    const d = decideDue({ schedule, runs: past.get(c.id) ?? [], now });
    out.nextFull = d.nextFull?.toISOString() ?? null;
    out.nextDelta = d.nextDelta?.toISOString() ?? null;
    out.due = d.due ?? null;
    out.reason = d.reason;
  } catch (err) {
    out.error = err instanceof Error ? err.message : String(err);
  }
  return out;
}

const DUE_TEXT: Record<string, string> = {
  'first-full': 'a first full sync, as soon as `rostersync serve` runs',
  'first-full-retry': 'a full sync (retrying the first one that failed)',
  'full-slot': 'a full sync (its slot has passed)',
  'full-retry': 'a full sync (retrying the scheduled one that failed)',
  'delta-slot': 'a delta sync (its slot has passed)',
};
const WAIT_TEXT: Record<string, string> = {
  running: 'a run is in progress',
  held: 'a held run waits for `rostersync approve` or `discard`; schedules wait for it',
  'first-full-wait': 'the first full sync failed; retried at the next slot',
};

/** Human lines for `connection show|schedule|add`. */
function scheduleLines(c: Connection, past: Map<string, PastRun[]>, now = new Date()): string[] {
  const s = scheduleOf(c);
  const lines = [
    `schedule  ${s.enabled ? 'on' : 'off'} · delta "${s.delta}" · full "${s.full}" · ${s.timezone}`,
    `retention ${retentionDaysOf(c)} days (tombstones and change history)`,
  ];
  if (!s.enabled) return lines;
  try {
    const d = decideDue({ schedule: s, runs: past.get(c.id) ?? [], now });
    const iso = (t: Date | undefined): string => (t ? t.toISOString().replace('.000Z', 'Z') : 'never');
    lines.push(`next      full ${iso(d.nextFull)} · delta ${iso(d.nextDelta)}`);
    if (d.due) lines.push(`due now   ${DUE_TEXT[d.reason] ?? d.due}`);
    else if (WAIT_TEXT[d.reason]) lines.push(`waiting   ${WAIT_TEXT[d.reason]}`);
  } catch (err) {
    lines.push(`error     ${err instanceof Error ? err.message : String(err)} (fix it with \`rostersync connection schedule\`)`);
  }
  if (c.authKind !== 'none' && !c.hasSecret) lines.push('warning   no stored secret: scheduled syncs are skipped');
  return lines;
}
