import type { Command } from '@commander-js/extra-typings';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { buildApp } from '../http/app.ts';
import { servePlugins } from '../http/plugins.ts';
import { createScheduler } from '../services/scheduler-service.ts';
import { createLeaderScheduler } from '../services/queue-scheduler.ts';
import { DEFAULT_WORKER_LEASE_MS, isQueueError, MIN_WORKER_LEASE_MS, SyncQueue } from '../services/queue.ts';
import { ensureStagingTables, startSyncWorker } from '../services/sync-worker.ts';
import { isPostgresUrl } from '../store/store.ts';
import type { SyncLogger } from '../sync/full-sync.ts';
import { scheduleOf } from '../sync/schedule.ts';
import { CliError, intOption } from './cli-error.ts';
import { DEFAULT_DB, dbPath, openStoreWithKey } from './shared.ts';
import { durationOption, postgresRequired, untilSignal } from './worker-command.ts';

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * `rostersync serve`: the HTTP server (`/healthz` and the mounted APIs, see `http/plugins.ts`) and
 * the scheduler that runs every stored connection's schedules. SIGTERM/SIGINT stop both
 * gracefully: running syncs are aborted (they apply nothing) and awaited, then the store closes.
 * Logs are JSON lines on stderr (pino; level from ROSTERSYNC_LOG_LEVEL, default info), with ids
 * and counts only.
 *
 * On PostgreSQL (the scaled setup, README "Scaled setup"): the scheduler runs only on the elected
 * leader and queues due syncs; this process also works the queue (like `rostersync worker`) unless
 * `--no-worker`. SIGTERM then releases running syncs (stop after the page in hand, back to the queue).
 */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Run the HTTP server and the sync schedules of all stored connections')
    .option('--port <n>', 'port to listen on (0: any free port)', '8080')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--db <path>', `store: a SQLite file or a postgres:// URL (or ROSTERSYNC_DATABASE_URL / ROSTERSYNC_DB; default ${DEFAULT_DB})`)
    .option('--no-scheduler', 'serve HTTP only; run no schedules')
    .option('--concurrency <n>', 'syncs at once (SQLite: scheduled syncs; PostgreSQL: this node\'s worker), 1..16', '2')
    .option('--no-worker', 'PostgreSQL: an API-only node; take no sync jobs (workers run them)')
    .option('--lease-timeout <duration>', 'PostgreSQL: the worker lease (see `rostersync worker`)', `${DEFAULT_WORKER_LEASE_MS / 1000}s`)
    .action(async (opts) => {
      const port = intOption('--port', opts.port, 0, 65535)!;
      const concurrency = intOption('--concurrency', opts.concurrency, 1, 16)!;
      const leaseTimeoutMs = durationOption('--lease-timeout', opts.leaseTimeout, MIN_WORKER_LEASE_MS, 3_600_000);
      const storeUrl = dbPath(opts.db);
      const scaled = isPostgresUrl(storeUrl);
      if (!scaled && !opts.worker) throw postgresRequired('--no-worker');
      const logger = pino(
        {
          level: process.env.ROSTERSYNC_LOG_LEVEL ?? 'info',
          // Method and path only: query strings hold filter values (emails), headers credentials.
          serializers: { req: (r: { method?: string; url?: string }) => ({ method: r.method, url: (r.url ?? '').split('?')[0] }) },
        },
        pino.destination({ dest: 2, sync: true }),
      );
      const logPort: SyncLogger = {
        info: (msg, meta) => logger.info(meta ?? {}, msg),
        warn: (msg, meta) => logger.warn(meta ?? {}, msg),
      };
      // The admin API stores connection and webhook secrets: create the key file on first use beside
      // a SQLite store (a PostgreSQL deployment passes ROSTERSYNC_SECRET_KEY).
      const store = await openStoreWithKey(opts.db, !scaled);
      let queue: SyncQueue | undefined;
      if (scaled) {
        try {
          if (opts.worker) await ensureStagingTables(store);
          queue = await SyncQueue.open({ url: storeUrl, leaseTimeoutMs, logger: logPort });
        } catch (err) {
          await store.close();
          if (isQueueError(err)) throw new CliError(`[${err.code}] ${err.message}`, 1);
          throw err;
        }
      }
      const scheduler = !opts.scheduler
        ? undefined
        : queue
          ? createLeaderScheduler(store, queue, { url: storeUrl, logger: logPort })
          : createScheduler(store, { concurrency, logger: logPort });
      let app;
      try {
        app = await buildApp({ store, logger, plugins: servePlugins({ store, logger, ...(queue && !opts.worker ? { syncQueue: queue } : {}) }), ...(scheduler ? { scheduler } : {}) });
        await app.listen({ port, host: opts.host });
      } catch (err) {
        await app?.close().catch(() => undefined);
        await queue?.close();
        await store.close();
        const code = (err as { code?: unknown } | null)?.code;
        if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
          throw new CliError(`cannot listen on ${opts.host}:${port} (${code}); choose another --port or --host`, 1);
        }
        throw err;
      }
      const addr = app.server.address() as AddressInfo;
      const url = `http://${urlHost(opts.host)}:${addr.port}`;

      const connections = await store.connections.list();
      const scheduled = connections.filter((c) => scheduleOf(c).enabled);
      let schedulerLine = scheduler
        ? queue
          ? `scheduler on (runs on the elected leader, queues due syncs): ${scheduled.length} of ${connections.length} connection(s) scheduled`
          : `scheduler on: ${scheduled.length} of ${connections.length} connection(s) scheduled, at most ${concurrency} sync(s) at once`
        : 'scheduler off (--no-scheduler)';
      if (queue) schedulerLine += opts.worker ? `; worker on: ${concurrency} sync(s) at once` : '; worker off (--no-worker)';
      process.stdout.write(`Rostersync serving on ${url} (health: ${url}/healthz); ${schedulerLine}. Stop with Ctrl-C or SIGTERM.\n`);
      if (scheduler && scheduled.some((c) => c.hasSecret)) {
        // A store opened without the key cannot unseal secrets: say so now, not at the first slot.
        const probe = scheduled.find((c) => c.hasSecret)!;
        await store.connections.getSecret(probe.id).catch((err: unknown) => {
          const c = (err as { code?: unknown } | null)?.code;
          process.stderr.write(`warning: stored secrets cannot be read (${typeof c === 'string' ? c : 'error'}); set ROSTERSYNC_SECRET_KEY or the key file the connections were added with\n`);
        });
      }
      scheduler?.start();
      const worker = queue && opts.worker ? startSyncWorker({ store, queue, concurrency, logger: logPort }) : undefined;

      // A second signal while stopping ends at once (the store stays consistent: apply is one transaction).
      const signal = await untilSignal();
      logger.info({ signal }, 'stopping');
      await Promise.all([scheduler?.stop(), worker?.stop(), app.close()]);
      await queue?.close();
      await store.close();
      logger.info({}, 'stopped');
      process.stdout.write('Stopped.\n');
    });
}
