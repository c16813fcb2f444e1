/**
 * Migration 0004 (issue 6, "Re-served OneRoster 1.1 API"): downstream API clients.
 *
 * `api_clients`: one row per `rostersync api-client add`. A client reads exactly one connection's
 * data (its tenant's), with the OneRoster scopes it was granted (`scopes`: JSON array of the short
 * names `roster-core`, `roster`, `demographics`). The secret is stored as a scrypt hash with a
 * per-secret salt (`secret_hash`, see `store/secret-hash.ts`); an OAuth 1.0a client also needs the
 * secret itself to check HMAC signatures, so for those it is sealed with the store's SecretBox
 * (`secret_ciphertext`, the row id as associated data, as for connection secrets). Revoked clients
 * keep their row (`revoked_at`) so `api-client list --all` shows who had access and until when.
 */
import type { Kysely, Migration } from 'kysely';

export const migration0004: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('api_clients')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
      .addColumn('connection_id', 'text', (c) => c.notNull().references('connections.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('client_id', 'text', (c) => c.notNull().unique())
      .addColumn('secret_hash', 'text', (c) => c.notNull())
      .addColumn('secret_ciphertext', 'text')
      .addColumn('scopes', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('rotated_at', 'text')
      .addColumn('revoked_at', 'text')
      .addColumn('last_used_at', 'text')
      .execute();
    await db.schema.createIndex('api_clients_connection').on('api_clients').columns(['tenant_id', 'connection_id']).execute();
  },
  async down(db: Kysely<any>): Promise<void> {
    await db.schema.dropTable('api_clients').execute();
  },
};
