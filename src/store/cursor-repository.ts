/**
 * Delta cursors (migration 0003): per connection and collection, the `dateLastModified` the next
 * delta sync asks from. Written only inside a run's apply transaction, so a cursor never moves
 * past changes that were not applied (issue 4: "advance it only after the whole run applied").
 */
import type { Kysely } from 'kysely';
import type { CollectionName } from '../oneroster/types.ts';
import type { Database } from './schema.ts';

export class CursorRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** The cursors of a connection, by collection. */
  async get(connectionId: string): Promise<Map<CollectionName, string>> {
    const rows = await this.#db.selectFrom('sync_cursors').select(['collection', 'cursor']).where('connection_id', '=', connectionId).execute();
    return new Map(rows.map((r) => [r.collection as CollectionName, r.cursor]));
  }

  /** Sets cursors; pass the apply transaction as `db`. */
  async set(connectionId: string, runId: number, cursors: ReadonlyMap<CollectionName, string>, db: Kysely<Database> = this.#db, now = new Date()): Promise<void> {
    for (const [collection, cursor] of cursors) {
      await db
        .insertInto('sync_cursors')
        .values({ connection_id: connectionId, collection, cursor, run_id: runId, updated_at: now.toISOString() })
        .onConflict((oc) => oc.columns(['connection_id', 'collection']).doUpdateSet({ cursor, run_id: runId, updated_at: now.toISOString() }))
        .execute();
    }
  }
}
