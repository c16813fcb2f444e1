/**
 * The store side of the output writers' `RosterReader` port: keyset paging on sourcedId over one
 * connection's live tables, one batch per query, so an export holds one batch per collection.
 * `modifiedAt` is when our store last changed the row (the start of the run that wrote it), which
 * keeps the dateLastModified we hand on monotonic across runs.
 *
 * Delta (`changedSinceRun: N`, `export oneroster-csv --since N`) reads the change history: a row is
 * in the delta when an applied change of a run after N touched it (created, updated, restored or
 * deleted). Deleted records come from their live tombstone row, with their last known values, as
 * `tobedeleted`. A record whose tombstone retention already removed from the live table is not in
 * the delta at all: `--since` a run older than the history retention is refused by the export
 * command (`ChangeRepository.coversRunsAfter`), and within the retention tombstones are kept as long
 * as the history (both default to the connection's retention days), so rebuilding a deletion from
 * the change row's `before` values is not needed.
 *
 * The query walks the live table in sourcedId order with `updated_run > N` as a cheap pre-filter
 * (every change of run R also wrote the live row with `updated_run >= R`) and confirms each
 * candidate through the history's `(connection_id, entity, sourced_id)` index, so a live write that
 * was not a recorded change (e.g. a fingerprint-only refresh) stays out of the delta.
 */
import type { CollectionName, EntityByCollection } from '../oneroster/types.ts';
import type { ExportRow, RosterReader, RowsOptions } from '../outputs/roster-reader.ts';
import { liveTable } from '../store/schema.ts';
import type { Store } from '../store/store.ts';

const MAX_BATCH = 5000;

export class StoreRosterReader implements RosterReader {
  readonly #runStarted = new Map<number, string>();

  constructor(
    private readonly store: Store,
    private readonly connectionId: string,
  ) {}

  async #runTime(runId: number): Promise<string | undefined> {
    if (!this.#runStarted.has(runId)) {
      const run = await this.store.runs.get(runId);
      if (run) this.#runStarted.set(runId, run.startedAt);
    }
    return this.#runStarted.get(runId);
  }

  async *rows<C extends CollectionName>(collection: C, options: RowsOptions = {}): AsyncIterable<ReadonlyArray<ExportRow<EntityByCollection[C]>>> {
    const batch = Math.max(1, Math.min(options.batchSize ?? 2000, MAX_BATCH));
    const table = liveTable(collection);
    let after = '';
    for (;;) {
      options.signal?.throwIfAborted();
      // Kysely cannot type a table chosen at run time; every live table has these columns.
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      let q = (this.store.db as any)
        .selectFrom(table)
        .select(['sourced_id', 'data', 'deleted_at', 'updated_run'])
        .where('connection_id', '=', this.connectionId)
        .where('sourced_id', '>', after);
      if (!options.includeDeleted) q = q.where('deleted_at', 'is', null);
      if (options.changedSinceRun !== undefined) {
        const since = options.changedSinceRun;
        q = q.where('updated_run', '>', since).where(({ exists, selectFrom }: any) =>
          exists(
            selectFrom('changes')
              .select('changes.seq')
              .whereRef('changes.connection_id', '=', `${table}.connection_id`)
              .where('changes.entity', '=', collection)
              .whereRef('changes.sourced_id', '=', `${table}.sourced_id`)
              .where('changes.run_id', '>', since)
              .where('changes.applied', '=', 1),
          ),
        );
      }
      const rows = (await q.orderBy('sourced_id').limit(batch).execute()) as Array<{ sourced_id: string; data: string; deleted_at: string | null; updated_run: number }>;
      if (rows.length === 0) return;
      // Resolve each distinct run once per batch (a batch usually holds one or two), not per row.
      for (const runId of new Set(rows.map((r) => Number(r.updated_run)))) await this.#runTime(runId);
      const out: Array<ExportRow<EntityByCollection[C]>> = [];
      for (const r of rows) {
        const row: ExportRow<EntityByCollection[C]> = { record: JSON.parse(r.data) as EntityByCollection[C], deleted: r.deleted_at !== null };
        const at = this.#runStarted.get(Number(r.updated_run));
        if (at !== undefined) row.modifiedAt = at;
        out.push(row);
      }
      yield out;
      after = rows[rows.length - 1]!.sourced_id;
      if (rows.length < batch) return;
    }
  }
}
