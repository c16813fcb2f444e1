/**
 * Migration 0009: `page_summaries`, per connection and collection, what each page of the last full
 * read held (sync/page-summary.ts): the body's hash, its item count, first and last sourcedId, and a
 * digest of its sourcedIds and raw fingerprints. A re-sync that receives the same bytes again checks
 * the digest against the live rows and skips the page without parsing it.
 */
import type { Kysely, Migration } from 'kysely';

export const migration0009: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('page_summaries')
      .addColumn('connection_id', 'text', (c) => c.notNull().references('connections.id').onDelete('cascade'))
      .addColumn('collection', 'text', (c) => c.notNull())
      .addColumn('body_hash', 'text', (c) => c.notNull())
      .addColumn('item_count', 'integer', (c) => c.notNull())
      .addColumn('first_id', 'text', (c) => c.notNull())
      .addColumn('last_id', 'text', (c) => c.notNull())
      .addColumn('agg', 'text', (c) => c.notNull())
      .addColumn('run_id', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('page_summaries_pk', ['connection_id', 'collection', 'body_hash'])
      .execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('page_summaries').execute();
  },
};
