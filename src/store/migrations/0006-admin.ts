/**
 * Migration 0006 (issue 7, "Admin server"): admin accounts, their sessions and API tokens, and the
 * audit log of admin actions.
 *
 * - `admin_users`: one row per person (or script owner) who may use the admin API. `role` is
 *   `installation_admin` (every tenant; `tenant_id` null), `tenant_admin` (one tenant) or `viewer`
 *   (read-only; one tenant, or every tenant when `tenant_id` is null). `password_hash` is scrypt with
 *   a per-user salt, in the self-describing `scrypt$N$r$p$salt$hash` form of `secret-hash.ts`, so
 *   the cost can be raised without invalidating stored hashes. Disabled users keep their row
 *   (`disabled_at`): the audit log names them.
 * - `admin_sessions`: browser sessions. The cookie carries a random token; only its sha256 is stored
 *   (`id`), so a copy of the database does not hand out live sessions. `csrf_token` is the per-session
 *   anti-CSRF token state-changing requests must echo in `x-csrf-token`. A session ends at
 *   `expires_at` (absolute) or when idle too long (`last_seen_at`).
 * - `api_tokens`: bearer tokens for scripts, acting as their user (same role and tenant). Only the
 *   sha256 of the token is stored (`token_hash`); revoked tokens keep their row.
 * - `audit_log`: who did what, when, in which tenant (`tenant_id` null: installation-wide). Details
 *   are JSON with ids and settings, never secrets or student data. `seq` orders it.
 */
import type { Kysely, Migration } from 'kysely';
import type { StoreDialect } from '../migrations.ts';

export function migration0006(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('admin_users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('username', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('tenant_id', 'text', (c) => c.references('tenants.id').onDelete('cascade'))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('password_changed_at', 'text', (c) => c.notNull())
        .addColumn('disabled_at', 'text')
        .execute();
      await db.schema.createIndex('admin_users_tenant').on('admin_users').columns(['tenant_id']).execute();

      await db.schema
        .createTable('admin_sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('admin_users.id').onDelete('cascade'))
        .addColumn('csrf_token', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('last_seen_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('admin_sessions_user').on('admin_sessions').columns(['user_id']).execute();
      await db.schema.createIndex('admin_sessions_expires').on('admin_sessions').columns(['expires_at']).execute();

      await db.schema
        .createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('user_id', 'text', (c) => c.notNull().references('admin_users.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('last_used_at', 'text')
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema.createIndex('api_tokens_user').on('api_tokens').columns(['user_id']).execute();

      let audit = db.schema.createTable('audit_log');
      audit =
        dialect === 'postgres'
          ? audit.addColumn('seq', 'bigserial', (c) => c.primaryKey())
          : audit.addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement());
      await audit
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        // No foreign key: the log outlives the tenants and users it names.
        .addColumn('tenant_id', 'text')
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target', 'text')
        .addColumn('details', 'text')
        .execute();
      await db.schema.createIndex('audit_log_tenant').on('audit_log').columns(['tenant_id', 'seq']).execute();
    },
    async down(db: Kysely<any>): Promise<void> {
      await db.schema.dropTable('audit_log').execute();
      await db.schema.dropTable('api_tokens').execute();
      await db.schema.dropTable('admin_sessions').execute();
      await db.schema.dropTable('admin_users').execute();
    },
  };
}
