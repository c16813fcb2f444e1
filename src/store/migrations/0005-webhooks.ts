/**
 * Migration 0005 (issue 6): webhook subscribers, and the change-history retention watermark.
 *
 * - `webhook_subscribers`: one row per `rostersync webhook add`. Scope: a tenant, and one of its
 *   connections or (`connection_id` null) all of them. `entities` is a JSON array of collections,
 *   null for all. The signing secret is sealed with the store's SecretBox (AES-256-GCM, the row id
 *   as associated data, like connection secrets) and never stored in clear. Delivery state: the seq
 *   of the last acknowledged event (`cursor_seq`), consecutive failed attempts (reset by a success),
 *   the last failure's reason (status or network error only), when it was disabled and why.
 * - `change_purges`: per connection, the highest `changes.seq` and run a retention purge removed.
 *   A cursor below it has lost history (the events API answers 410); `export --since RUN` with RUN
 *   below the run watermark would miss changes and is refused.
 */
import type { Kysely, Migration } from 'kysely';

export const migration0005: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('webhook_subscribers')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
      .addColumn('connection_id', 'text', (c) => c.references('connections.id').onDelete('cascade'))
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('entities', 'text')
      .addColumn('secret_ciphertext', 'text', (c) => c.notNull())
      .addColumn('cursor_seq', 'bigint')
      .addColumn('consecutive_failures', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('last_error', 'text')
      .addColumn('last_failure_at', 'text')
      .addColumn('disabled_at', 'text')
      .addColumn('disabled_reason', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('last_delivery_at', 'text')
      .execute();
    await db.schema.createIndex('webhook_subscribers_tenant').on('webhook_subscribers').columns(['tenant_id', 'connection_id']).execute();

    await db.schema
      .createTable('change_purges')
      .addColumn('connection_id', 'text', (c) => c.primaryKey().references('connections.id').onDelete('cascade'))
      .addColumn('purged_through_seq', 'bigint', (c) => c.notNull())
      .addColumn('purged_through_run', 'integer', (c) => c.notNull())
      .addColumn('purged_at', 'text', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('change_purges').execute();
    await db.schema.dropTable('webhook_subscribers').execute();
  },
};
