/**
 * Versioned schema migrations, provided in code (no filesystem globbing, so they bundle and run the
 * same from `tsx`, a build, or a test). Kysely's `Migrator` records applied names in
 * `kysely_migration` and serialises concurrent migrators with `kysely_migration_lock`.
 *
 * Rules for editing: never change an applied migration; add the next one (`migrations/NNNN-name.ts`,
 * one file each from 0003 on, listed in `buildMigrations`). Each migration freezes the
 * column lists it creates (it does not import `entity-columns.ts`, which may grow later).
 * Portability: schema builder only. The dialect switches: the auto-increment ids (`serial` /
 * `bigserial` on PostgreSQL) and `COLLATE "C"` on sourcedId columns (`migrations/column-types.ts`).
 * The SQLite DDL is byte-for-byte what these migrations always produced (a test pins it).
 */
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { migration0003 } from './migrations/0003-history.ts';
import { migration0004 } from './migrations/0004-api-clients.ts';
import { migration0005 } from './migrations/0005-webhooks.ts';
import { migration0006 } from './migrations/0006-admin.ts';
import { migration0007 } from './migrations/0007-tombstone-index.ts';
import { migration0008 } from './migrations/0008-pg-bulk-fks.ts';
import { migration0009 } from './migrations/0009-page-summaries.ts';
import { sourcedIdType } from './migrations/column-types.ts';

export type StoreDialect = 'sqlite' | 'postgres';

/**
 * Per-entity columns as created by migration 0001 (frozen copy). `ref` columns hold sourcedIds of
 * other records: `text` on SQLite, `text collate "C"` on PostgreSQL (see `sourcedIdType`).
 */
const V1_ENTITY_COLUMNS: Record<string, ReadonlyArray<readonly [string, 'text' | 'integer' | 'ref']>> = {
  academic_sessions: [['type', 'text'], ['school_year', 'text'], ['parent_id', 'ref'], ['start_date', 'text'], ['end_date', 'text']],
  orgs: [['type', 'text'], ['identifier', 'text'], ['parent_id', 'ref']],
  courses: [['org_id', 'ref'], ['school_year_id', 'ref'], ['course_code', 'text']],
  classes: [['school_id', 'ref'], ['course_id', 'ref'], ['class_type', 'text']],
  users: [['role', 'text'], ['email', 'text'], ['username', 'text'], ['enabled_user', 'integer']],
  enrollments: [['user_id', 'ref'], ['class_id', 'ref'], ['school_id', 'ref'], ['role', 'text'], ['is_primary', 'integer']],
  demographics: [],
};

/**
 * Secondary indexes of migration 0001, each led by connection_id so every query stays inside one
 * connection's rows. Only what the re-served API's nested routes need; each index costs about a
 * microsecond per row written on a 1.1M-row first sync, so add more only when a query needs them.
 */
const V1_INDEXES: ReadonlyArray<readonly [string, string]> = [
  ['enrollments', 'class_id'],
  ['enrollments', 'user_id'],
  ['classes', 'school_id'],
];

function migration0001(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('tenants')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      // "Every row belongs to a tenant … (a default tenant for single-district use)".
      await db.insertInto('tenants').values({ id: 'default', name: 'Default', created_at: new Date().toISOString() }).execute();

      await db.schema
        .createTable('connections')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('base_url', 'text', (c) => c.notNull())
        .addColumn('auth_kind', 'text', (c) => c.notNull())
        .addColumn('options', 'text', (c) => c.notNull())
        .addColumn('secret_ciphertext', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('connections_tenant_name', ['tenant_id', 'name'])
        .execute();

      let runs = db.schema.createTable('runs');
      runs =
        dialect === 'postgres'
          ? runs.addColumn('id', 'serial', (c) => c.primaryKey())
          : runs.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
      await runs
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('connection_id', 'text', (c) => c.notNull().references('connections.id').onDelete('cascade'))
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('finished_at', 'text')
        .addColumn('heartbeat_at', 'text')
        .addColumn('lease_owner', 'text')
        .addColumn('entities', 'text', (c) => c.notNull())
        .addColumn('requests', 'text', (c) => c.notNull())
        .addColumn('issues', 'text', (c) => c.notNull())
        .addColumn('error_code', 'text')
        .addColumn('error_message', 'text')
        .execute();
      await db.schema.createIndex('runs_connection_id').on('runs').columns(['connection_id', 'id']).execute();
      // "One run per connection at a time", enforced by the database itself: a second `running`
      // row for the same connection violates this partial unique index (SQLite ≥ 3.8 and PG alike).
      await db.schema
        .createIndex('runs_one_running_per_connection')
        .on('runs')
        .column('connection_id')
        .unique()
        .where(sql.ref('status'), '=', sql.lit('running'))
        .execute();

      await db.schema
        .createTable('run_issues')
        .addColumn('run_id', 'integer', (c) => c.notNull().references('runs.id').onDelete('cascade'))
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('rule', 'text', (c) => c.notNull())
        .addColumn('entity', 'text', (c) => c.notNull())
        .addColumn('sourced_id', sourcedIdType(dialect))
        .addColumn('field', 'text')
        .addColumn('value', 'text')
        .addColumn('message', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('run_issues_pk', ['run_id', 'seq'])
        .execute();

      for (const [entity, extra] of Object.entries(V1_ENTITY_COLUMNS)) {
        const table = `live_${entity}`;
        let t = db.schema
          .createTable(table)
          .addColumn('tenant_id', 'text', (c) => c.notNull())
          .addColumn('connection_id', 'text', (c) => c.notNull().references('connections.id').onDelete('cascade'))
          .addColumn('sourced_id', sourcedIdType(dialect), (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('date_last_modified', 'text')
          .addColumn('content_hash', 'text', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull())
          .addColumn('raw', 'text')
          .addColumn('raw_fp', 'text')
          .addColumn('first_seen_run', 'integer', (c) => c.notNull())
          .addColumn('updated_run', 'integer', (c) => c.notNull())
          .addColumn('row_version', 'integer', (c) => c.notNull().defaultTo(1))
          .addColumn('deleted_at', 'text')
          .addColumn('deleted_run', 'integer');
        for (const [name, type] of extra) t = t.addColumn(name, type === 'ref' ? sourcedIdType(dialect) : type);
        await t.execute();
        // The identity of a row: a sourcedId is unique within one connection only ("the same
        // sourcedId may appear in two connections without clashing"). Connection ids are global,
        // so tenant_id need not widen the key (it is on every row for scoping).
        await db.schema.createIndex(`${table}_key`).on(table).columns(['connection_id', 'sourced_id']).unique().execute();
        // Covers the sync's per-page range lookup (sourcedId, fingerprint, tombstone) without
        // reading table rows: ~0.6 µs per row against ~1.5–2 µs through the key index, for ~2 µs
        // more per row written. Sorted re-syncs of unchanged data touch nothing else.
        await db.schema
          .createIndex(`${table}_fp`)
          .on(table)
          .columns(['connection_id', 'sourced_id', 'raw_fp', 'deleted_run'])
          .execute();
      }
      for (const [entity, column] of V1_INDEXES) {
        const table = `live_${entity}`;
        await db.schema.createIndex(`${table}_${column}`).on(table).columns(['connection_id', column]).execute();
      }
    },
    async down(db: Kysely<any>): Promise<void> {
      for (const entity of Object.keys(V1_ENTITY_COLUMNS)) await db.schema.dropTable(`live_${entity}`).execute();
      await db.schema.dropTable('run_issues').execute();
      await db.schema.dropTable('runs').execute();
      await db.schema.dropTable('connections').execute();
      await db.schema.dropTable('tenants').execute();
    },
  };
}

/**
 * Migration 0002: provider flighting and local promotion (issue 5). A provider whose SDS status is
 * `Test` can be chosen only by a tenant flighted for it; after a successful provider check it can
 * be promoted "from test mode to yes" (sds-notes §6, the seed's Test-status FAQ). Both are per
 * tenant and record who and when; a promotion also keeps the check summary it was granted on.
 * Provider ids are catalog slugs (not a table here): the catalog lives in code, `sds/provider-catalog.ts`.
 */
const migration0002: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('provider_flights')
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
      .addColumn('provider_id', 'text', (c) => c.notNull())
      .addColumn('flighted_by', 'text', (c) => c.notNull())
      .addColumn('flighted_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('provider_flights_pk', ['tenant_id', 'provider_id'])
      .execute();
    await db.schema
      .createTable('provider_promotions')
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
      .addColumn('provider_id', 'text', (c) => c.notNull())
      .addColumn('promoted_by', 'text', (c) => c.notNull())
      .addColumn('promoted_at', 'text', (c) => c.notNull())
      // JSON: the provider-check summary the promotion was granted on (check ids and statuses).
      .addColumn('check_summary', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('provider_promotions_pk', ['tenant_id', 'provider_id'])
      .execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('provider_promotions').execute();
    await db.schema.dropTable('provider_flights').execute();
  },
};

/** All migrations, by name (applied in name order). */
export function buildMigrations(dialect: StoreDialect): Record<string, Migration> {
  return {
    '0001_initial': migration0001(dialect),
    '0002_provider_flights': migration0002,
    '0003_history': migration0003(dialect),
    '0004_api_clients': migration0004,
    '0005_webhooks': migration0005,
    '0006_admin': migration0006(dialect),
    '0007_tombstone_index': migration0007,
    '0008_pg_bulk_fks': migration0008(dialect),
    '0009_page_summaries': migration0009,
  };
}

/** Kysely `MigrationProvider` over the in-code list. */
export class InCodeMigrationProvider implements MigrationProvider {
  readonly #dialect: StoreDialect;

  constructor(dialect: StoreDialect) {
    this.#dialect = dialect;
  }

  async getMigrations(): Promise<Record<string, Migration>> {
    return buildMigrations(this.#dialect);
  }
}
