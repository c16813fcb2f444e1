import type { Command } from '@commander-js/extra-typings';
import pino from 'pino';
import { DEFAULT_WORKER_LEASE_MS, isQueueError, MIN_WORKER_LEASE_MS, SyncQueue } from '../services/queue.ts';
import { ensureStagingTables, startSyncWorker } from '../services/sync-worker.ts';
import { isPostgresUrl, storeLabel, type Store } from '../store/store.ts';
import type { SyncLogger } from '../sync/full-sync.ts';
import { CliError, intOption } from './cli-error.ts';
import { dbPath, findConnection, openStoreWithKey } from './shared.ts';

/**
 * Parses a duration flag: `500ms`, `90s`, `2m`, `1h`, or a bare number of seconds.
 * @throws CliError (exit 2) naming the flag when malformed or outside `[minMs, maxMs]`.
 */
export function durationOption(flag: string, value: string, minMs: number, maxMs: number): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new CliError(`${flag} must be a duration such as 60s, 2m or 1h, got "${value}"`, 2);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const ms = Math.round(Number(m[1]) * unit);
  if (ms < minMs || ms > maxMs) throw new CliError(`${flag} must be between ${minMs / 1000}s and ${maxMs / 1000}s, got ${value}`, 2);
  return ms;
}

/** JSON lines on stderr (level from ROSTERSYNC_LOG_LEVEL), as `serve` logs: ids and counts only. */
export function jsonLogger(): SyncLogger {
  const logger = pino({ level: process.env.ROSTERSYNC_LOG_LEVEL ?? 'info' }, pino.destination({ dest: 2, sync: true }));
  return {
    info: (msg, meta) => logger.info(meta ?? {}, msg),
    warn: (msg, meta) => logger.warn(meta ?? {}, msg),
  };
}

/** The refusal for a SQLite store (shared with `serve --no-worker` and `sync --queue`). */
export function postgresRequired(what: string): CliError {
  return new CliError(
    `${what} needs a PostgreSQL store: the job queue lives in PostgreSQL. Pass --db postgres://… or set ROSTERSYNC_DATABASE_URL (on a SQLite store, \`rostersync serve\` runs the schedules itself)`,
    2,
  );
}

/**
 * `rostersync worker`: takes sync jobs from the PostgreSQL queue and runs them (any number of
 * workers on any number of machines; see README "Scaled setup"). SIGTERM/SIGINT: running syncs stop
 * after the page in hand and go back to the queue (the next worker resumes them), then the process
 * exits 0; a second signal exits at once (the run stays resumable; its job is retried after the lease).
 */
export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('Take sync jobs from the PostgreSQL queue and run them (the scaled setup)')
    .option('--db <url>', 'the store: a postgres:// URL (or ROSTERSYNC_DATABASE_URL)')
    .option('--concurrency <n>', 'syncs at once in this process, 1..16', '1')
    .option('--lease-timeout <duration>', `a job whose worker died is taken again after this (at least ${MIN_WORKER_LEASE_MS / 1000}s)`, `${DEFAULT_WORKER_LEASE_MS / 1000}s`)
    .option('--poll-interval <duration>', 'how often an idle worker asks for a job', '2s')
    .action(async (opts) => {
      const concurrency = intOption('--concurrency', opts.concurrency, 1, 16)!;
      const leaseTimeoutMs = durationOption('--lease-timeout', opts.leaseTimeout, MIN_WORKER_LEASE_MS, 3_600_000);
      const pollingIntervalMs = durationOption('--poll-interval', opts.pollInterval, 500, 60_000);
      const url = dbPath(opts.db);
      if (!isPostgresUrl(url)) throw postgresRequired('rostersync worker');
      const logger = jsonLogger();
      const store = await openStoreWithKey(opts.db, false);
      let queue: SyncQueue;
      try {
        await ensureStagingTables(store);
        queue = await SyncQueue.open({ url, leaseTimeoutMs, pollingIntervalMs, logger });
      } catch (err) {
        await store.close();
        if (isQueueError(err)) throw new CliError(`[${err.code}] ${err.message}`, 1);
        throw err;
      }
      await warnIfSecretsUnreadable(store);
      const worker = startSyncWorker({ store, queue, concurrency, logger });
      process.stdout.write(
        `Rostersync worker taking sync jobs from ${storeLabel(url)} (${concurrency} at once, lease ${leaseTimeoutMs / 1000}s). Stop with Ctrl-C or SIGTERM.\n`,
      );
      const signal = await untilSignal();
      logger.info('stopping: releasing running syncs', { signal, active: worker.active() });
      await worker.stop();
      await queue.close();
      await store.close();
      logger.info('stopped', {});
      process.stdout.write('Stopped.\n');
    });
}

/**
 * Resolves at the first SIGTERM/SIGINT; a second one exits at once (code 130): the store stays
 * consistent (apply is one transaction) and an interrupted run is resumed by the next worker.
 */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (s: NodeJS.Signals): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      const force = (): void => process.exit(130);
      process.once('SIGTERM', force);
      process.once('SIGINT', force);
      resolve(s);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** A store opened without the key cannot unseal secrets: say so at start, not at the first job. */
async function warnIfSecretsUnreadable(store: Store): Promise<void> {
  const probe = (await store.connections.list()).find((c) => c.hasSecret);
  if (!probe) return;
  await store.connections.getSecret(probe.id).catch((err: unknown) => {
    const c = (err as { code?: unknown } | null)?.code;
    process.stderr.write(`warning: stored secrets cannot be read (${typeof c === 'string' ? c : 'error'}); set ROSTERSYNC_SECRET_KEY to the key the connections were added with\n`);
  });
}

/**
 * `rostersync sync --connection X --queue`: queues the sync for the workers instead of running it.
 * A connection that already has a queued or running job keeps it (reported, exit 0).
 */
export async function queueSyncCommand(opts: { db?: string | undefined; connection?: string | undefined; mode: 'full' | 'delta'; json: boolean; dryRun?: boolean | undefined }): Promise<void> {
  if (opts.connection === undefined) throw new CliError('--queue needs --connection (a stored connection: workers read its settings and secret from the store)', 2);
  if (opts.dryRun === true) throw new CliError('--queue and --dry-run do not go together: a dry run prints its plan here', 2);
  const url = dbPath(opts.db);
  if (!isPostgresUrl(url)) throw postgresRequired('--queue');
  const store = await openStoreWithKey(opts.db, false);
  let queue: SyncQueue | undefined;
  try {
    const connection = await findConnection(store, opts.connection);
    queue = await SyncQueue.open({ url });
    const r = await queue.enqueueSync({ connectionId: connection.id, mode: opts.mode, reason: 'manual' });
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ connectionId: connection.id, mode: opts.mode, ...r })}\n`);
    } else if (r.jobId !== undefined) {
      process.stdout.write(`Queued a ${opts.mode} sync of connection ${connection.id} (job ${r.jobId}); a worker will run it. Follow it with \`rostersync runs --connection ${connection.id}\`.\n`);
    } else if (r.existing) {
      process.stdout.write(`Connection ${connection.id} already has a ${r.existing.mode} sync job ${r.existing.state === 'active' ? 'running' : 'queued'} (job ${r.existing.id}); not queued again.\n`);
    }
  } catch (err) {
    if (isQueueError(err)) throw new CliError(`[${err.code}] ${err.message}`, 1);
    throw err;
  } finally {
    await queue?.close();
    await store.close();
  }
}
