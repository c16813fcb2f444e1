/**
 * `rostersync webhook add|list|remove|deliver|enable`: webhook subscribers (issue 6).
 *
 * `add` prints the signing secret once (it is stored sealed with the store's secret key, like
 * connection secrets, and never shown again). `list` shows URLs without their query string (which
 * may carry a receiver token); `--json` gives them whole.
 */
import type { Command } from '@commander-js/extra-typings';
import { COLLECTIONS } from '../oneroster/types.ts';
import { SIGNATURE_HEADER } from '../outputs/webhook-signing.ts';
import { deliverPendingWebhooks, enableWebhook } from '../services/webhook-service.ts';
import { loadSecretKey } from '../services/secret-key.ts';
import type { WebhookSubscriber } from '../store/webhook-repository.ts';
import { openStore } from '../store/store.ts';
import { CliError } from './cli-error.ts';
import { table } from './format.ts';
import { dbPath, DEFAULT_DB, findConnection, openStoreWithKey } from './shared.ts';

const DB_HELP = `store: a SQLite file or a postgres:// URL (default: ROSTERSYNC_DATABASE_URL, then ROSTERSYNC_DB, then ${DEFAULT_DB})`;

/** A URL for display: without its query string and fragment. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    const hidden = u.search !== '' || u.hash !== '';
    return `${u.origin}${u.pathname}${hidden ? '?…' : ''}`;
  } catch {
    return '(invalid URL)';
  }
}

function state(s: WebhookSubscriber): string {
  return s.disabledAt === undefined ? 'enabled' : `disabled ${s.disabledAt}: ${s.disabledReason ?? ''}`;
}

function parseEntities(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const list = text.split(',').map((e) => e.trim()).filter((e) => e !== '');
  const unknown = list.filter((e) => !(COLLECTIONS as readonly string[]).includes(e));
  if (list.length === 0 || unknown.length > 0) throw new CliError(`--entities must list collections among ${COLLECTIONS.join(', ')}`, 2);
  return list;
}

/** `rostersync webhook …`. */
export function registerWebhook(program: Command): void {
  const wh = program.command('webhook').description('POST change events to receivers after each applied run (signed, retried, at-least-once)');

  wh.command('add')
    .description('Add a receiver; prints its signing secret once')
    .argument('<url>', 'receiver URL (http or https)')
    .option('--connection <id>', 'only events of this connection (default: every connection of the tenant)')
    .option('--entities <list>', `only these collections, comma-separated (${COLLECTIONS.join(', ')})`)
    .option('--tenant <id>', 'tenant (default: default, or the connection\'s)')
    .option('--db <path>', DB_HELP)
    .action(async (url, opts) => {
      const entities = parseEntities(opts.entities);
      const store = await openStoreWithKey(opts.db, true);
      try {
        const conn = opts.connection === undefined ? undefined : await findConnection(store, opts.connection);
        const tenantId = opts.tenant ?? conn?.tenantId;
        const { subscriber, secret } = await store.webhooks.create({
          url,
          ...(tenantId !== undefined ? { tenantId } : {}),
          ...(conn ? { connectionId: conn.id } : {}),
          ...(entities ? { entities } : {}),
        });
        process.stdout.write(
          [
            `Added webhook ${subscriber.id} → ${displayUrl(subscriber.url)}`,
            `  events of: ${subscriber.connectionId ?? `every connection of tenant ${subscriber.tenantId}`}; collections: ${subscriber.entities?.join(', ') ?? 'all'}`,
            '  from: changes applied from now on',
            '',
            `Signing secret (shown once, keep it with the receiver): ${secret}`,
            '',
            `Each POST carries ${SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>;`,
            'verify it over the raw body and reject timestamps more than 5 minutes off.',
          ].join('\n') + '\n',
        );
      } finally {
        await store.close();
      }
    });

  wh.command('list')
    .description('List receivers with their delivery state')
    .option('--json', 'print JSON (full URLs)', false)
    .option('--db <path>', DB_HELP)
    .action(async (opts) => {
      const store = await openStore({ url: dbPath(opts.db) });
      try {
        const list = await store.webhooks.list();
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(list)}\n`);
          return;
        }
        if (list.length === 0) {
          process.stdout.write('No webhooks. Add one with `rostersync webhook add URL`.\n');
          return;
        }
        process.stdout.write(
          `${table(
            ['id', 'connection', 'entities', 'url', 'cursor', 'failures', 'last delivery', 'state'],
            list.map((s) => [s.id, s.connectionId ?? '*', s.entities?.join(',') ?? '*', displayUrl(s.url), s.cursorSeq ?? 0, s.consecutiveFailures, s.lastDeliveryAt ?? '', state(s)]),
          )}\n`,
        );
      } finally {
        await store.close();
      }
    });

  wh.command('remove')
    .description('Remove a receiver')
    .argument('<id>', 'webhook id')
    .option('--db <path>', DB_HELP)
    .action(async (id, opts) => {
      const store = await openStore({ url: dbPath(opts.db) });
      try {
        if (!(await store.webhooks.remove(id))) throw new CliError(`no webhook ${id}; \`rostersync webhook list\` shows them`, 2);
        process.stdout.write(`Removed webhook ${id}\n`);
      } finally {
        await store.close();
      }
    });

  wh.command('enable')
    .description('Re-enable a disabled receiver (after fixing it, or after a full re-read when its cursor expired)')
    .argument('<id>', 'webhook id')
    .option('--db <path>', DB_HELP)
    .action(async (id, opts) => {
      const store = await openStore({ url: dbPath(opts.db) });
      try {
        if (!(await store.webhooks.get(id))) throw new CliError(`no webhook ${id}; \`rostersync webhook list\` shows them`, 2);
        const { movedCursorTo } = await enableWebhook(store, id);
        process.stdout.write(
          `Enabled webhook ${id}${movedCursorTo !== undefined ? `; its cursor had expired, delivery resumes from the oldest retained change (after seq ${movedCursorTo})` : ''}\n`,
        );
      } finally {
        await store.close();
      }
    });

  wh.command('deliver')
    .description('Deliver pending events now (runs also deliver after each applied sync)')
    .option('--connection <id>', 'only receivers of this connection\'s events')
    .option('--id <webhook>', 'only this receiver')
    .option('--json', 'print the delivery reports as JSON', false)
    .option('--db <path>', DB_HELP)
    .action(async (opts) => {
      const db = dbPath(opts.db);
      if (!loadSecretKey(db, { create: false })) {
        throw new CliError('no secret key (ROSTERSYNC_SECRET_KEY or the key file beside the database): webhook signing secrets cannot be opened', 1);
      }
      const store = await openStoreWithKey(opts.db, false);
      try {
        const conn = opts.connection === undefined ? undefined : await findConnection(store, opts.connection);
        const reports = await deliverPendingWebhooks(store, { ...(conn ? { connectionId: conn.id } : {}), ...(opts.id !== undefined ? { subscriberId: opts.id } : {}) });
        if (opts.json) process.stdout.write(`${JSON.stringify(reports)}\n`);
        else if (reports.length === 0) process.stdout.write('No enabled webhooks to deliver to.\n');
        else {
          process.stdout.write(
            `${table(
              ['id', 'outcome', 'delivered', 'batches', 'attempts', 'failures', 'reason'],
              reports.map((r) => [r.subscriberId, r.outcome, r.delivered, r.batches, r.attempts, r.failures, r.disabledReason ?? (r.outcome === 'gave-up' ? (r.lastError ?? '') : '')]),
            )}\n`,
          );
        }
        if (reports.some((r) => r.outcome === 'gave-up' || r.outcome === 'disabled')) process.exitCode = 1;
      } finally {
        await store.close();
      }
    });
}
