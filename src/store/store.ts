/**
 * The store: one Kysely database, SQLite (better-sqlite3) or PostgreSQL (pg), migrated on open,
 * with small repositories on top; the same repositories, migrations and apply SQL run on both.
 * Composition roots (`cli/`, `http/`) call `openStore` and pass the `Store` to services.
 */
import Database from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type MigrationResultSet } from 'kysely';
import pg from 'pg';
import { AdminRepository } from './admin-repository.ts';
import { ApiClientRepository } from './api-client-repository.ts';
import { AuditRepository } from './audit-repository.ts';
import { ChangeRepository } from './change-repository.ts';
import { ConnectionRepository } from './connection-repository.ts';
import { CursorRepository } from './cursor-repository.ts';
import { PageSummaryRepository } from './page-summary-repository.ts';
import { StoreError } from './errors.ts';
import { IssueRepository } from './issue-repository.ts';
import { InCodeMigrationProvider, type StoreDialect } from './migrations.ts';
import { askServerKeepalive, STORE_KEEPALIVE } from './pg-keepalive.ts';
import { PgStagerFactory } from './pg-stager.ts';
import { ProviderStateRepository } from './provider-state-repository.ts';
import { RecordRepository } from './record-repository.ts';
import { RunRepository } from './run-repository.ts';
import type { Database as Schema } from './schema.ts';
import { SecretBox } from './secret-box.ts';
import { SqliteBulkStagerFactory } from './sqlite-bulk-stager.ts';
import { INDEX_REBUILD_MIN_WRITES, type BulkApply } from './apply.ts';
import { rollbackJournalApply } from './sqlite-bulk-journal.ts';
import { PortableStagerFactory, StagingArea, type StageLocation, type StagerFactory } from './staging.ts';
import { TenantRepository } from './tenant-repository.ts';
import { WebhookRepository } from './webhook-repository.ts';

export interface StoreOptions {
  /**
   * A SQLite file path, `file:<path>`, or `:memory:`; or a PostgreSQL URL
   * (`postgres://user:password@host:port/database`, also `postgresql://`, with pg's query
   * parameters such as `sslmode`).
   */
  url: string;
  /** 32-byte key (bytes, hex or base64) sealing connection secrets. Without it secrets cannot be stored. */
  secretKey?: Buffer | string;
  /**
   * Staging writer: `native` (the dialect's fast path, default: `sqlite-bulk-stager.ts`,
   * `pg-stager.ts`) or `portable` (Kysely only).
   */
  bulk?: 'native' | 'portable';
  /**
   * SQLite: page size in bytes for a NEW database file (ignored for existing ones). Default 16384
   * (`SQLITE_PAGE_SIZE`).
   */
  pageSize?: number;
  /**
   * Writes per collection from which an apply rebuilds secondary indexes. Default 50,000. On
   * PostgreSQL only when the live table is empty (DROP INDEX locks the table until commit).
   */
  indexRebuildMinWrites?: number;
  /**
   * SQLite file: an apply of at least `indexRebuildMinWrites` rows runs with a rollback journal
   * when no other connection has the file open (sqlite-bulk-journal.ts). Default true; false keeps
   * the WAL for every apply.
   */
  bulkJournal?: boolean;
  /** Run pending migrations on open. Default true. */
  migrate?: boolean;
  /**
   * SQLite page cache in MiB. Default 32: sorted reads and range lookups stream through it, and a
   * 1.1M-row first sync measured no faster with 64 MiB but ~40 MiB more peak RSS.
   */
  cacheMiB?: number;
  /** PostgreSQL: connections in the pool. Default 10. */
  poolSize?: number;
  /**
   * PostgreSQL: a fresh collection's staged rows go into the live table while the read goes on, in
   * the transaction the apply commits (early-inserts.ts). A sync doing so holds one pooled
   * connection for its whole read. `true`: up to half the pool's connections are held so (other runs
   * insert nothing early meanwhile); a number: at most that many runs at a time (0: off; at most
   * half the pool); `false`: off. Default: `ROSTERSYNC_EARLY_INSERTS` (`earlySlotCount`), else true.
   */
  earlyInserts?: boolean | number;
}

export interface Store {
  readonly dialect: StoreDialect;
  /** The Kysely instance, for services that need a query the repositories do not offer. */
  readonly db: Kysely<Schema>;
  readonly tenants: TenantRepository;
  readonly connections: ConnectionRepository;
  readonly runs: RunRepository;
  readonly issues: IssueRepository;
  readonly records: RecordRepository;
  /** Provider flights and local promotions per tenant (migration 0002). */
  readonly providerStates: ProviderStateRepository;
  /** Change history reads and retention (migration 0003 + 0005). */
  readonly changes: ChangeRepository;
  /** Webhook subscribers with sealed signing secrets (migration 0005). */
  readonly webhooks: WebhookRepository;
  /** Downstream clients of the re-served OneRoster API (migration 0004). */
  readonly apiClients: ApiClientRepository;
  /** Admin accounts, sessions and API tokens (migration 0006). */
  readonly admin: AdminRepository;
  /** The audit log of admin actions (migration 0006). */
  readonly audit: AuditRepository;
  readonly staging: StagingArea;
  /** Delta cursors per connection and collection (migration 0003). */
  readonly cursors: CursorRepository;
  /** What each page of a collection's last full read held (migration 0009). */
  readonly pageSummaries: PageSummaryRepository;
  /** Applies pending migrations (idempotent). */
  migrate(): Promise<MigrationResultSet>;
  /** Closes the database (idempotent). */
  close(): Promise<void>;
}

/** True when `url` names a PostgreSQL database rather than a SQLite file. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:/i.test(url);
}

/**
 * The store URL as it may appear in messages and logs: a PostgreSQL URL without its password (and
 * without query parameters, which may carry `password=` or key paths); a SQLite path unchanged.
 */
export function storeLabel(url: string): string {
  if (!isPostgresUrl(url)) return url;
  try {
    const u = new URL(url);
    const user = u.username ? `${u.username}@` : '';
    return `${u.protocol}//${user}${u.host}${u.pathname}`;
  } catch {
    return 'a PostgreSQL URL';
  }
}

function sqlitePath(url: string): string {
  if (url === ':memory:') return url;
  if (url.startsWith('file:')) return url.slice('file:'.length);
  return url;
}

/** What differs per dialect once the Kysely instance exists. */
interface Opened {
  dialect: StoreDialect;
  db: Kysely<Schema>;
  stagers: (db: Kysely<Schema>) => StagerFactory;
  rebuildMinWrites: number | undefined;
  /** Where the (persistent) staging tables live; see `StagingArea`. */
  stage: StageLocation;
  /** How large applies run (SQLite file: a rollback journal, see `StoreOptions.bulkJournal`). */
  bulkApply?: BulkApply;
  /** Runs at a time whose fresh collections are inserted while the read goes on (PostgreSQL, see `StoreOptions.earlyInserts`). */
  earlyInserts?: number;
}

/**
 * Page size of a new SQLite store. 16 KiB rather than SQLite's 4 KiB: a `large` first sync writes
 * ~1.5M rows of ~800 bytes plus their history, and its apply took 20.4 s instead of 29.7 s with
 * 16 KiB pages (fewer B-tree pages to split, write and checkpoint; session 3). It costs ~50-80 MiB
 * of peak RSS at `large`, which the sync can afford since its duplicate check shrank.
 */
export const SQLITE_PAGE_SIZE = 16384;

function openSqlite(options: StoreOptions): Opened {
  const raw = new Database(sqlitePath(options.url));
  try {
    // Only takes effect before the first table exists, i.e. on a new file.
    raw.pragma(`page_size = ${Math.floor(options.pageSize ?? SQLITE_PAGE_SIZE)}`);
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = NORMAL');
    raw.pragma('foreign_keys = ON');
    raw.pragma('busy_timeout = 5000');
    raw.pragma('temp_store = FILE');
    raw.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
    raw.pragma(`cache_size = ${-1024 * Math.max(2, Math.floor(options.cacheMiB ?? 32))}`);
    // Staging lives in its own file beside the store (`<db>-stage`): it survives a crash, so a
    // killed run can resume from its staged pages, but it is scratch data, so it skips the WAL and
    // fsyncs (a rollback journal still keeps it consistent when the process is killed).
    const path = sqlitePath(options.url);
    raw.prepare('attach database ? as stage').run(path === ':memory:' ? ':memory:' : `${path}-stage`);
    raw.pragma('stage.journal_mode = TRUNCATE');
    raw.pragma('stage.synchronous = OFF');
  } catch (err) {
    raw.close();
    throw err;
  }
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: raw }) });
  return {
    dialect: 'sqlite',
    db,
    stagers: (kdb) => (options.bulk === 'portable' ? new PortableStagerFactory(kdb) : new SqliteBulkStagerFactory(raw, kdb)),
    rebuildMinWrites: options.indexRebuildMinWrites ?? INDEX_REBUILD_MIN_WRITES,
    stage: { schema: 'stage', dialect: 'sqlite' },
    ...(options.bulkJournal !== false && sqlitePath(options.url) !== ':memory:' ? { bulkApply: rollbackJournalApply(db) } : {}),
  };
}

// pg type OIDs (pg_type.oid) whose default text parsing differs from what better-sqlite3 returns.
const PG_INT8 = 20;
const PG_NUMERIC = 1700;

/**
 * pg returns `bigint` (count(*), sum() of integers, `bigserial`) and `numeric` as strings, to
 * keep precision; better-sqlite3 returns numbers. The store's values are counts and sequence
 * numbers far below 2^53, so they are parsed as numbers, and repositories see the same types on
 * both dialects. Per pool, not through the global `pg.types`: other pg users in the process (a job
 * queue) keep pg's defaults.
 */
const PG_TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): unknown {
    if (format !== 'binary' && (oid === PG_INT8 || oid === PG_NUMERIC)) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format ?? 'text');
  },
} as unknown as pg.CustomTypesConfig;

function openPostgres(options: StoreOptions): Opened {
  const poolSize = Math.max(1, Math.floor(options.poolSize ?? 10));
  // Checked before the pool exists: a bad value fails the open and leaves nothing to close.
  const earlyInserts = earlySlotCount(options.earlyInserts ?? process.env['ROSTERSYNC_EARLY_INSERTS'], poolSize);
  const pool = new pg.Pool({
    connectionString: options.url,
    max: poolSize,
    // An unreachable host fails the open instead of hanging; also bounds waiting for a free client.
    connectionTimeoutMillis: 30_000,
    types: PG_TYPES,
    // This side's probes: a vanished server fails the pending query instead of hanging it for hours.
    keepAlive: true,
    keepAliveInitialDelayMillis: STORE_KEEPALIVE.idleS * 1000,
    // The server's probes: a vanished worker machine's locks are released within a minute
    // (pg-keepalive.ts). Awaited by the pool before it hands the new client out.
    onConnect: (client) => askServerKeepalive(client, STORE_KEEPALIVE),
  });
  survivePoolErrors(pool);
  return {
    dialect: 'postgres',
    db: new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) }),
    stagers: (kdb) => (options.bulk === 'portable' ? new PortableStagerFactory(kdb) : new PgStagerFactory(pool)),
    // Only into an empty table (see StagingArea): a first sync's index builds after the insert.
    rebuildMinWrites: options.indexRebuildMinWrites ?? INDEX_REBUILD_MIN_WRITES,
    // UNLOGGED: no WAL for scratch rows, yet they survive a killed client (not a server crash).
    stage: { unlogged: true, dialect: 'postgres' },
    earlyInserts,
  };
}

/**
 * Runs of one store whose early inserts may be open at once (`StoreOptions.earlyInserts`), from the
 * option or the `ROSTERSYNC_EARLY_INSERTS` value: unset or `true`: half the pool; `false`, `0` or
 * `off`: none; a whole number: that many, at most half the pool (the other half stays for page
 * writes and the API), which limits a worker running several syncs at once. On a database server
 * with few cores shared by many workers, none may do better (docs/benchmarks.md, workers).
 */
export function earlySlotCount(value: boolean | number | string | undefined, poolSize: number): number {
  const half = Math.floor(poolSize / 2);
  if (value === undefined || value === true || value === '') return half;
  if (value === false || value === 'off') return 0;
  const text = typeof value === 'string' ? value.trim() : '';
  const n = typeof value === 'number' ? value : /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n < 0 || n > half) {
    throw new StoreError(
      'invalid_input',
      `early inserts (ROSTERSYNC_EARLY_INSERTS) must be off, 0, or a number of runs from 1 to ${half} (half the pool of ${poolSize} connections), not ${String(value)}`,
    );
  }
  return n;
}

/**
 * Keeps a pg pool's lost connections from ending the process. pg emits 'error' on a client whose
 * session ends (server restart, an admin's pg_terminate_backend, a failover, an apply's
 * idle_in_transaction_session_timeout), and an 'error' event without a listener ends Node. The
 * pool's own listener covers idle clients, which it drops; each client's listener covers a checked-
 * out one, whose transaction's next query fails instead, where the caller handles it. The next
 * query gets a new client and reports the failure if the server is really gone.
 */
export function survivePoolErrors(pool: pg.Pool): void {
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
}

/** `host:port/database` of a PostgreSQL URL: names the server in messages without its credentials. */
function pgTarget(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname || '/'}`;
  } catch {
    return 'the configured PostgreSQL server';
  }
}

/** Network errors and the SQLSTATEs of "cannot connect / log in / no such database". */
function isConnectFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code)) return true;
    // 08: connection exception, 28: invalid authorization, 3D000: database does not exist, 57P03: starting up.
    if (code.startsWith('08') || code.startsWith('28') || code === '3D000' || code === '57P03') return true;
  }
  return err instanceof Error && /timeout exceeded when trying to connect|Connection terminated/i.test(err.message);
}

/**
 * Opens (and by default migrates) a store. A `postgres://` or `postgresql://` URL opens PostgreSQL
 * through a `pg.Pool`; anything else is a SQLite file (or `:memory:`).
 *
 * SQLite settings: WAL (readers never block the single writer), `synchronous=NORMAL` (durable at
 * checkpoints; a power cut can lose the last commits but never corrupts), `foreign_keys=ON`,
 * `busy_timeout=5000` (a second process waits for the writer instead of failing at once),
 * `temp_store=FILE` (staging tables spill to disk, keeping RSS flat on a 1.1M-row collection),
 * `journal_size_limit` 64 MiB (a first sync's apply grows the WAL to ~1 GB; this truncates it back
 * after the checkpoint instead of keeping the file at its high-water mark).
 *
 * PostgreSQL: the server's defaults (READ COMMITTED; migrations run in one transaction, serialised
 * across processes by Kysely's migration lock). sourcedId columns are `COLLATE "C"` (byte order,
 * as on SQLite) whatever the database's default collation.
 *
 * @throws StoreError `database_unavailable` when the PostgreSQL server cannot be reached, refuses
 *   the login, or has no such database (the message names host, port and database, never the password).
 */
export async function openStore(options: StoreOptions): Promise<Store> {
  const postgres = isPostgresUrl(options.url);
  const { dialect, db, stagers, rebuildMinWrites, stage, bulkApply, earlyInserts } = postgres ? openPostgres(options) : openSqlite(options);
  const box = options.secretKey === undefined ? undefined : new SecretBox(options.secretKey);
  // Unordered: 0005 landed before 0004, so stores migrated in between must still take 0004.
  const migrator = new Migrator({ db, provider: new InCodeMigrationProvider(dialect), allowUnorderedMigrations: true });
  const migrate = async (): Promise<MigrationResultSet> => {
    const result = await migrator.migrateToLatest();
    if (result.error) throw result.error;
    return result;
  };
  try {
    if (options.migrate ?? true) await migrate();
    else if (postgres) await sql`select 1`.execute(db); // fail at open, not at the first query
  } catch (err) {
    await db.destroy().catch(() => {});
    if (postgres && isConnectFailure(err)) {
      const reason = (err as { code?: unknown }).code ?? (err instanceof Error ? err.message : 'unknown error');
      throw new StoreError('database_unavailable', `cannot open the PostgreSQL store at ${pgTarget(options.url)} (${String(reason)}); check that the server runs, the database exists and the user may log in`, { cause: err });
    }
    throw err;
  }
  const staging = new StagingArea(db, stagers, {
    ...(rebuildMinWrites === undefined ? {} : { rebuildMinWrites }),
    ...(bulkApply ? { bulkApply } : {}),
    ...(earlyInserts ? { earlyInserts } : {}),
    ...stage,
  });
  let closing: Promise<void> | undefined;
  return {
    dialect,
    db,
    tenants: new TenantRepository(db),
    connections: new ConnectionRepository(db, box),
    runs: new RunRepository(db),
    issues: new IssueRepository(db),
    records: new RecordRepository(db),
    providerStates: new ProviderStateRepository(db),
    changes: new ChangeRepository(db),
    webhooks: new WebhookRepository(db, box),
    apiClients: new ApiClientRepository(db, box),
    admin: new AdminRepository(db),
    audit: new AuditRepository(db),
    staging,
    cursors: new CursorRepository(db),
    pageSummaries: new PageSummaryRepository(db),
    migrate,
    close: () => (closing ??= db.destroy()),
  };
}
