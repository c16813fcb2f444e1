/**
 * Page summaries (migration 0009, sync/page-summary.ts): per connection and collection, what each
 * page of the last full read held. Only a shortcut: the engine checks a summary against the live
 * rows before it trusts it, so a stale or missing summary costs time, never correctness.
 */
import type { Kysely } from 'kysely';
import type { CollectionName } from '../oneroster/types.ts';
import type { PageSummary } from '../source/page-reader.ts';
import type { Database } from './schema.ts';

/** Rows per multi-row insert (8 columns each, well under SQLite's 32k bound parameters). */
const BATCH = 500;

export class PageSummaryRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** A collection's summaries, by body hash. */
  async load(connectionId: string, collection: CollectionName): Promise<Map<string, PageSummary>> {
    const rows = await this.#db
      .selectFrom('page_summaries')
      .select(['body_hash', 'item_count', 'first_id', 'last_id', 'agg'])
      .where('connection_id', '=', connectionId)
      .where('collection', '=', collection)
      .execute();
    return new Map(rows.map((r) => [r.body_hash, { hash: r.body_hash, count: Number(r.item_count), firstId: r.first_id, lastId: r.last_id, agg: r.agg }]));
  }

  /**
   * Stores a read's summaries in one transaction. `replace`: the read covered the whole collection,
   * so the summaries of earlier reads go; otherwise (a resumed read) they are kept beside the new ones.
   */
  async save(connectionId: string, collection: CollectionName, runId: number, summaries: readonly PageSummary[], replace: boolean): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      if (replace) await trx.deleteFrom('page_summaries').where('connection_id', '=', connectionId).where('collection', '=', collection).execute();
      for (let i = 0; i < summaries.length; i += BATCH) {
        const values = summaries.slice(i, i + BATCH).map((s) => ({
          connection_id: connectionId,
          collection,
          body_hash: s.hash,
          item_count: s.count,
          first_id: s.firstId,
          last_id: s.lastId,
          agg: s.agg,
          run_id: runId,
        }));
        await trx
          .insertInto('page_summaries')
          .values(values)
          .onConflict((oc) => oc.columns(['connection_id', 'collection', 'body_hash']).doUpdateSet((eb) => ({ run_id: eb.ref('excluded.run_id') })))
          .execute();
      }
    });
  }
}
