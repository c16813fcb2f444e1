/**
 * The "sync a connection" service: the one composition of source (HTTP client) + sync (runner) +
 * store that both the CLI and, later, the HTTP admin API call.
 */
import type { PrepPool } from '../sync/prep-pool.ts';
import type { CollectionName } from '../oneroster/types.ts';
import { OneRosterClient } from '../source/oneroster-client.ts';
import { parseConnection, type ConnectionConfig } from '../source/connection.ts';
import type { Connection } from '../store/connection-repository.ts';
import { DEFAULT_TENANT_ID } from '../store/tenant-repository.ts';
import type { Store } from '../store/store.ts';
import { hostname } from 'node:os';
import { runSync, type Approval, type RunResult, type SyncLogger, type SyncProgress } from '../sync/full-sync.ts';
import { DEFAULT_THRESHOLDS, type SyncPolicy, type Thresholds } from '../sync/planner.ts';
import { StoreError } from '../store/errors.ts';
import { loadApproval, pendingHold } from './hold-service.ts';
import { deliverPendingWebhooks } from './webhook-service.ts';
import { purgeExpired } from '../store/retention.ts';
import { retentionDaysOf } from '../sync/schedule.ts';
import type { SdsStats } from '../sds/rules.ts';
import type { Toggles } from '../sds/toggles.ts';
import { createSdsCodec } from './sds-codec.ts';
import { errorMessage } from '../error-info.ts';

/** A run whose heartbeat is older than this is taken for dead (it must exceed the longest apply). */
export const DEFAULT_LEASE_TIMEOUT_MS = 10 * 60_000;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Fails a connection's running run whose process is gone, so a crash or kill does not block the
 * connection forever: at once when the lease owner is a dead process on this host, otherwise when
 * its heartbeat is older than `leaseTimeoutMs`. Nothing of such a run was applied (apply is one
 * transaction that also records the run's end). Returns the ids it failed.
 */
export async function expireDeadRuns(store: Store, connectionId: string, leaseTimeoutMs = DEFAULT_LEASE_TIMEOUT_MS): Promise<number[]> {
  const running = await store.runs.findRunning(connectionId);
  if (!running) return [];
  const [host, pidText] = (running.leaseOwner ?? '').split(':');
  const deadHere = host === hostname() && pidText !== undefined && /^\d+$/.test(pidText) && Number(pidText) !== process.pid && !processAlive(Number(pidText));
  const cutoff = deadHere ? new Date(Date.now() + 1000) : new Date(Date.now() - leaseTimeoutMs);
  return store.runs.expireStale(cutoff, { connectionId });
}

/** Everything needed to reach a provider, secrets included (never stored by this path). */
export interface ProviderAccess {
  baseUrl: string;
  auth:
    | { kind: 'none' }
    | { kind: 'oauth2'; tokenUrl: string; clientId: string; clientSecret: string; scope?: string }
    | { kind: 'oauth1'; clientId: string; clientSecret: string; signatureMethod?: 'HMAC-SHA256' | 'HMAC-SHA1' };
  pageSize?: number;
  maxConcurrency?: number;
  requestsPerSecond?: number;
}

/** The required endpoints SDS pulls, plus the optional ones when enabled (sds-notes §1.1–1.2). */
export function collectionsFor(optional: { courses?: boolean; demographics?: boolean }): CollectionName[] {
  const list: CollectionName[] = ['academicSessions', 'orgs', 'users', 'classes', 'enrollments'];
  if (optional.courses) list.push('courses');
  if (optional.demographics) list.push('demographics');
  return list;
}

/** Validates access settings into a client configuration (throws SourceError `invalid_config` listing every bad field). */
export function connectionConfig(access: ProviderAccess): ConnectionConfig {
  return parseConnection({
    baseUrl: access.baseUrl,
    auth: access.auth,
    ...(access.pageSize !== undefined ? { pageSize: access.pageSize } : {}),
    ...(access.maxConcurrency !== undefined ? { maxConcurrency: access.maxConcurrency } : {}),
    ...(access.requestsPerSecond !== undefined ? { requestsPerSecond: access.requestsPerSecond } : {}),
  });
}

/**
 * Finds the connection of the default tenant with this base URL, or registers it. Only non-secret
 * settings are kept (client id, token URL, scope, page size); the secret stays with the caller.
 */
export async function ensureConnection(
  store: Store,
  config: ConnectionConfig,
  options: { tenantId?: string; name?: string } = {},
): Promise<Connection> {
  const tenantId = options.tenantId ?? DEFAULT_TENANT_ID;
  const opts: Record<string, unknown> = { pageSize: config.pageSize, maxConcurrency: config.maxConcurrency };
  if (config.auth.kind !== 'none') opts.clientId = config.auth.clientId;
  if (config.auth.kind === 'oauth2') {
    opts.tokenUrl = config.auth.tokenUrl;
    if (config.auth.scope !== undefined) opts.scope = config.auth.scope;
  }
  if (config.auth.kind === 'oauth1') opts.signatureMethod = config.auth.signatureMethod;
  // A named connection keeps its identity when its URL moves (the demo's simulator gets a new port
  // each time); an unnamed one is identified by its base URL.
  const existing = (await store.connections.list({ tenantId })).find((c) =>
    options.name !== undefined ? c.name === options.name : c.baseUrl === config.baseUrl,
  );
  const settings = { authKind: config.auth.kind, options: opts };
  if (existing) {
    // Only the access settings come from the caller; what was stored beside them (schedules,
    // safeguards, toggles) is kept.
    const same =
      existing.baseUrl === config.baseUrl &&
      existing.authKind === config.auth.kind &&
      Object.entries(opts).every(([k, v]) => JSON.stringify(existing.options[k]) === JSON.stringify(v));
    if (same) return existing;
    const kept = { ...existing.options };
    for (const k of ['clientId', 'tokenUrl', 'scope', 'signatureMethod']) delete kept[k]; // auth settings come whole from the caller
    return store.connections.update(existing.id, { authKind: config.auth.kind, options: { ...kept, ...opts }, baseUrl: config.baseUrl });
  }
  return store.connections.create({ tenantId, name: options.name ?? new URL(config.baseUrl).host, baseUrl: config.baseUrl, ...settings });
}

export interface SyncConnectionOptions {
  store: Store;
  access: ProviderAccess;
  /** Identify the connection by this name instead of by its base URL. */
  connectionName?: string;
  /** Sync this stored connection (its settings are not changed). */
  connectionId?: string;
  /** Pull /demographics when `demographics` is true; default: `toggles.demographics` when toggles are given. */
  optional?: { courses?: boolean; demographics?: boolean };
  /**
   * Apply the School Data Sync rules (src/sds/) with these optional-data toggles. Absent: plain
   * OneRoster 1.1 reading only (`DEFAULT_CODEC`), as before issue 5.
   */
  toggles?: Toggles;
  /** `full` (default) or `delta` (`dateLastModified>` the connection's cursor; issue 4). */
  mode?: 'full' | 'delta';
  /** Page preparation threads (`RunSyncOptions.prepPool`); default the process's shared pool. */
  prepPool?: PrepPool | null;
  /** Plan only: nothing is applied; the plan is kept as the run's `changes` (applied = 0). */
  dryRun?: boolean;
  /** Continue a killed run from its staged pages (default true); false: fail it and start over. */
  resume?: boolean;
  /**
   * After an applied run: POST its change events to the webhook subscribers and purge tombstones
   * and history past the connection's retention. Default true.
   */
  afterApply?: boolean;
  /**
   * Approve this pending hold (a run id) and re-run the sync to apply it, capped at what the hold
   * planned. The run uses the held run's mode. `approvedBy` is recorded.
   */
  approveRun?: number;
  approvedBy?: string;
  /** Overrides the connection's stored safeguards (`options.safeguards`). */
  policy?: Partial<SyncPolicy>;
  onProgress?: (p: SyncProgress) => void;
  logger?: SyncLogger;
  signal?: AbortSignal;
  /** Graceful shutdown: stop after the current page and leave the run resumable (see runSync). */
  release?: AbortSignal;
  /** `runs.lease_owner` (default `<host>:<pid>`); a caller that must find its run while it runs passes a unique `<host>:<pid>:<tag>`. */
  leaseOwner?: string;
}

/** What `syncConnection` returns. */
export interface SyncConnectionResult {
  connection: Connection;
  result: RunResult;
  /** With `toggles`: what the SDS rules filtered without an issue (e.g. contacts skipped by the toggle). */
  sds?: SdsStats;
}

/**
 * Registers (or finds) the connection and runs a full sync of it; with `toggles`, through the SDS
 * codec (`createSdsCodec`), one per run.
 */
export async function syncConnection(options: SyncConnectionOptions): Promise<SyncConnectionResult> {
  const config = connectionConfig(options.access);
  const connection =
    options.connectionId !== undefined
      ? await getConnection(options.store, options.connectionId)
      : await ensureConnection(options.store, config, options.connectionName !== undefined ? { name: options.connectionName } : {});
  await expireDeadRuns(options.store, connection.id);
  let approval: Approval | undefined;
  let mode = options.mode ?? 'full';
  if (options.approveRun !== undefined) {
    const held = await pendingHold(options.store, options.approveRun);
    if (held.connectionId !== connection.id) throw new StoreError('invalid_input', `run ${held.id} belongs to connection ${held.connectionId}, not ${connection.id}`);
    mode = held.mode === 'delta' ? 'delta' : 'full';
    approval = await loadApproval(options.store, held);
  }
  const policy = { ...storedPolicy(connection), ...options.policy };
  const client = new OneRosterClient(config);
  const codec = options.toggles !== undefined ? createSdsCodec(options.toggles) : undefined;
  const optional = { ...options.optional };
  if (optional.demographics === undefined && options.toggles !== undefined) optional.demographics = options.toggles.demographics;
  try {
    const result = await runSync({
      store: options.store,
      reader: client,
      connectionId: connection.id,
      mode,
      entities: collectionsFor(optional),
      policy,
      ...(options.dryRun ? { dryRun: true } : {}),
      ...(options.resume === false ? { resume: false } : {}),
      ...(approval ? { approval } : {}),
      ...(codec ? { codec } : {}),
      ...(options.prepPool !== undefined ? { prepPool: options.prepPool } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.release ? { release: options.release } : {}),
      ...(options.leaseOwner !== undefined ? { leaseOwner: options.leaseOwner } : {}),
    });
    // The decision is recorded once the re-run got through: applied, or held again for changes
    // beyond the approval (that new hold supersedes this one). A failed re-run leaves it pending.
    if (approval && result.status !== 'failed' && !result.dryRun) {
      await options.store.runs.resolveHold(approval.heldRunId, { state: 'approved', by: options.approvedBy ?? 'unknown' });
      await options.store.runs.setApprovedRun(approval.heldRunId, result.runId);
    }
    if (options.afterApply !== false && !result.dryRun && (result.status === 'succeeded' || result.status === 'partial')) {
      await afterApplied(options.store, connection, result.mode === 'full', options.logger, options.signal);
    }
    return codec ? { connection, result, sds: codec.stats } : { connection, result };
  } finally {
    await client.close();
  }
}

/**
 * What follows an applied run, outside its transaction; failures are logged, never fail the run:
 * webhook delivery (issue 6: "after each applied run, events are POSTed") and, after full syncs,
 * retention (issue 4: tombstones kept for the connection's retention, default 30 days).
 */
async function afterApplied(store: Store, connection: Connection, purge: boolean, logger: SyncLogger | undefined, signal: AbortSignal | undefined): Promise<void> {
  // Retention scans the live tables for old tombstones: after full syncs only (weekly by default;
  // `serve` also purges daily), so the frequent deltas stay cheap.
  if (purge) {
    try {
      await purgeExpired(store, { connectionId: connection.id, retentionDays: retentionDaysOf(connection) });
    } catch (err) {
      logger?.warn('retention purge failed', { connectionId: connection.id, error: errorMessage(err) });
    }
  }
  try {
    const reports = await deliverPendingWebhooks(store, { connectionId: connection.id, ...(signal ? { signal } : {}), ...(logger ? { logger } : {}) });
    for (const r of reports) {
      if (r.outcome === 'gave-up' || r.outcome === 'disabled') logger?.warn('webhook delivery incomplete', { connectionId: connection.id, subscriber: r.subscriberId, outcome: r.outcome });
    }
  } catch (err) {
    logger?.warn('webhook delivery stopped', { connectionId: connection.id, error: errorMessage(err) });
  }
}

/**
 * The safeguards stored with a connection (`options.safeguards`: `thresholds` (partial, or false
 * to turn holds off), `perEntity`, `emptyCollection`), over the defaults.
 */
export function storedPolicy(connection: Connection): Partial<SyncPolicy> {
  const sg = connection.options.safeguards as
    | { thresholds?: Partial<Thresholds> | false; perEntity?: SyncPolicy['perEntity']; emptyCollection?: SyncPolicy['emptyCollection'] }
    | undefined;
  if (sg === undefined || sg === null || typeof sg !== 'object') return {};
  const out: Partial<SyncPolicy> = {};
  if (sg.thresholds === false) out.thresholds = false;
  else if (sg.thresholds !== undefined) out.thresholds = { ...DEFAULT_THRESHOLDS, ...sg.thresholds };
  if (sg.perEntity !== undefined) out.perEntity = sg.perEntity;
  if (sg.emptyCollection !== undefined) out.emptyCollection = sg.emptyCollection;
  return out;
}

async function getConnection(store: Store, id: string): Promise<Connection> {
  const c = await store.connections.get(id);
  if (!c) throw new Error(`connection ${id} does not exist`);
  return c;
}
