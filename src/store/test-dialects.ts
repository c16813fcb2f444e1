/**
 * Test harness: registers the same store tests once per dialect (DESIGN.md: "every store test runs
 * on every dialect", as Kysely's own test setup does).
 *
 * ```ts
 * forEachDialect('runs', ({ it, open }) => {
 *   it('allows one running run per connection', async () => {
 *     const s = await open();
 *     …
 *   });
 * });
 * ```
 *
 * registers `runs [sqlite]` and `runs [postgres]`. Use the `it` the callback receives: when
 * PostgreSQL is unreachable every PostgreSQL test is registered as SKIPPED with the reason (a
 * skipped `describe` would hide its tests from the skipped count), never run or passed.
 *
 * PostgreSQL: `ROSTERSYNC_TEST_PG_URL` (unset or empty: `postgres://postgres@127.0.0.1:5432/postgres`) is
 * the administrative connection; `off` skips PostgreSQL deliberately. Databases are named after
 * the test file's prefix (`rst_<utc time>_<pid>_<random>_<n>`), so test files running in parallel
 * never share one, and each suite drops its databases (`WITH (FORCE)`) at its end. A test's first
 * `open()` reuses the suite's database after `DROP SCHEMA public CASCADE` (a fresh, empty schema:
 * ~0.05 s against ~0.2 s for a new database, then the migrations, ~0.15 s); further `open()`s in
 * the same test get new databases, so every `open()` is an independent store. `freshUrl()` creates
 * a new database, for tests that open several stores on one database. (A schema per test would need
 * the store to take a schema option: Kysely's migrator looks for its bookkeeping tables in every
 * schema of the database.) Databases are created with an ICU `en-US`
 * default collation when the server has ICU, as production databases usually have a linguistic
 * collation: tests then prove that sourcedId order does not depend on it. Databases of this
 * harness older than six hours (a killed test process) are dropped on the next run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it as nodeIt, type TestContext } from 'node:test';
import pg from 'pg';
import type { StoreDialect } from './migrations.ts';
import { openStore, type Store, type StoreOptions } from './store.ts';

/** The administrative PostgreSQL URL tests create their databases through. */
export const PG_TEST_URL = process.env.ROSTERSYNC_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

const PREFIX = 'rst_';
const STALE_MS = 6 * 3600_000;

function hostOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}`;
  } catch {
    return '(unparsable URL)';
  }
}

/** Why PostgreSQL tests are skipped in this process, or undefined when they run. */
async function probePostgres(): Promise<string | undefined> {
  if (PG_TEST_URL === 'off') return 'PostgreSQL tests disabled (ROSTERSYNC_TEST_PG_URL=off)';
  const client = new pg.Client({ connectionString: PG_TEST_URL, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    const r = await client.query<{ ok: boolean }>('select rolcreatedb or rolsuper as ok from pg_roles where rolname = current_user');
    if (r.rows[0]?.ok !== true) return `PostgreSQL at ${hostOf(PG_TEST_URL)}: the user may not CREATE DATABASE`;
    return undefined;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return `PostgreSQL unreachable at ${hostOf(PG_TEST_URL)} (ROSTERSYNC_TEST_PG_URL): ${typeof code === 'string' ? code : (err as Error).message}`;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Skip reason for the PostgreSQL variants in this process (undefined: PostgreSQL is reachable). */
export const pgSkipReason: string | undefined = await probePostgres();

type TestFn = (t: TestContext) => void | Promise<void>;
type StoreOpenOptions = Omit<StoreOptions, 'url'>;

export interface DialectHarness {
  readonly dialect: StoreDialect;
  /** node:test `it`, skipped with the reason when this dialect is unavailable. */
  it(name: string, fn: TestFn): void;
  /** A test not expected to pass yet (reported as TODO with `reason`; still run when available). */
  todo(name: string, reason: string, fn: TestFn): void;
  /** A migrated store on a fresh, empty database (SQLite: `:memory:`). Closed after the test if still open. */
  open(options?: StoreOpenOptions): Promise<Store>;
  /** The URL of a fresh, empty database (SQLite: a new file), for tests that reopen a store. */
  freshUrl(): Promise<string>;
  /** Opens `url` (from `freshUrl`), tracked like `open`. */
  openAt(url: string, options?: StoreOpenOptions): Promise<Store>;
}

let fileStamp: string | undefined;
let dbCounter = 0;

/** `rst_<yyyymmddhhmmss>_<pid>_<rand>`: one prefix per test file (process). */
function filePrefix(): string {
  fileStamp ??= `${PREFIX}${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}_${process.pid}_${Math.random().toString(36).slice(2, 7)}`;
  return fileStamp;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** PostgreSQL side: creates and drops the databases of one suite. */
class PgDatabases {
  readonly #created: string[] = [];
  #admin: pg.Pool | undefined;
  #suite: { url: string; client: pg.Client } | undefined;
  /** The suite database was handed out in the current test (cleared after each test). */
  #suiteInUse = false;

  /** After each test (its stores are closed): the next `reset()` may reuse the suite database. */
  release(): void {
    this.#suiteInUse = false;
  }
  #icu = true;

  #pool(): pg.Pool {
    if (!this.#admin) {
      this.#admin = new pg.Pool({ connectionString: PG_TEST_URL, max: 1 });
      this.#admin.on('error', () => {});
    }
    return this.#admin;
  }

  /** Drops this harness's databases left by killed test processes (older than STALE_MS). */
  async sweep(): Promise<void> {
    const r = await this.#pool().query<{ datname: string }>(`select datname from pg_database where datname like 'rst\\_%'`);
    const now = Date.now();
    for (const { datname } of r.rows) {
      const m = /^rst_(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})_/.exec(datname);
      if (!m) continue;
      const at = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
      if (now - at > STALE_MS) await this.#pool().query(`drop database if exists "${datname}" with (force)`).catch(() => {});
    }
  }

  async create(): Promise<string> {
    const name = `${filePrefix()}_${++dbCounter}`;
    if (this.#icu) {
      try {
        await this.#pool().query(`create database "${name}" template template0 locale_provider icu icu_locale 'en-US' locale 'C.UTF-8'`);
      } catch {
        this.#icu = false; // no ICU (or older server): the server's default collation
      }
    }
    if (!this.#icu) await this.#pool().query(`create database "${name}"`);
    this.#created.push(name);
    return withDatabase(PG_TEST_URL, name);
  }

  /**
   * The suite's database with an empty `public` schema (`DROP SCHEMA public CASCADE`): ~0.05 s
   * against ~0.2 s for a new database on this machine. Falls back to a new database when the reset
   * fails (e.g. a store a test leaked holds a lock past `lock_timeout`).
   */
  async reset(): Promise<string> {
    // A second open() in the same test must not drop the first store's schema: a new database.
    if (this.#suiteInUse) return this.create();
    this.#suiteInUse = true;
    if (this.#suite) {
      try {
        await this.#suite.client.query(`set lock_timeout = '5s'; drop schema public cascade; create schema public`);
        return this.#suite.url;
      } catch {
        await this.#suite.client.end().catch(() => {});
        this.#suite = undefined;
      }
    }
    const url = await this.create();
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => {});
    await client.connect();
    this.#suite = { url, client };
    return url;
  }

  async dropAll(): Promise<void> {
    await this.#suite?.client.end().catch(() => {});
    this.#suite = undefined;
    if (!this.#admin) return;
    for (const name of this.#created.splice(0)) await this.#admin.query(`drop database if exists "${name}" with (force)`);
    await this.#admin.end();
    this.#admin = undefined;
  }
}

/**
 * Registers `title [sqlite]` and `title [postgres]` suites, calling `fn` for each with a harness.
 * `options.dialects` limits the dialects (default both).
 */
export function forEachDialect(title: string, fn: (d: DialectHarness) => void, options: { dialects?: readonly StoreDialect[] } = {}): void {
  for (const dialect of options.dialects ?? (['sqlite', 'postgres'] as const)) {
    describe(`${title} [${dialect}]`, () => {
      const skip = dialect === 'postgres' ? pgSkipReason : undefined;
      const open: Store[] = [];
      let tmp: string | undefined;
      const pgs = new PgDatabases();

      if (dialect === 'postgres' && skip === undefined) before(() => pgs.sweep());
      afterEach(async () => {
        for (const s of open.splice(0)) await s.close();
        pgs.release();
      });
      after(async () => {
        for (const s of open.splice(0)) await s.close();
        if (tmp) rmSync(tmp, { recursive: true, force: true });
        await pgs.dropAll();
      });

      const freshUrl = async (): Promise<string> => {
        if (dialect === 'postgres') return pgs.create();
        tmp ??= mkdtempSync(join(tmpdir(), 'rostersync-dialect-'));
        return join(tmp, `store-${++dbCounter}.db`);
      };
      const openAt = async (url: string, opts: StoreOpenOptions = {}): Promise<Store> => {
        const s = await openStore({ ...opts, url });
        open.push(s);
        return s;
      };
      const harness: DialectHarness = {
        dialect,
        it: (name, body) => nodeIt(name, skip === undefined ? {} : { skip }, body),
        todo: (name, reason, body) => nodeIt(name, skip === undefined ? { todo: reason } : { skip }, body),
        open: async (opts = {}) => openAt(dialect === 'postgres' ? await pgs.reset() : ':memory:', opts),
        freshUrl,
        openAt,
      };
      fn(harness);
    });
  }
}
