/**
 * The port through which the output writers (SDS CSV, OneRoster CSV) read the synced roster.
 *
 * The store implements it over SQL (keyset paging on sourcedId, a batch per query); tests and the
 * export benchmark use `MemoryRosterReader` (memory-roster-reader.ts). Writers never see the store,
 * so an export holds at most one batch of records per open collection in memory.
 *
 * Deletions: the store keeps tombstones for a retention period (issue 6, "tombstones are served as
 * `status: tobedeleted` during their retention"). A tombstoned row is yielded only when asked for
 * (`includeDeleted`), with its last known record, so a OneRoster delta can say `tobedeleted`
 * (oneroster-spec-notes §5, §7.1).
 */
import type { CollectionName, EntityByCollection } from '../oneroster/types.ts';

/** One record as the store holds it, with its tombstone flag. */
export interface ExportRow<T> {
  /** The record (internal shape of oneroster/types.ts); for a tombstone, its last known state. */
  record: T;
  /** True when the record was deleted from the roster (a tombstone). */
  deleted: boolean;
  /**
   * When our store last changed the record (ISO-8601 UTC). Issue 6: the `dateLastModified` we hand
   * on is our own change time, monotonic across runs. When absent, `record.dateLastModified` is used.
   */
  modifiedAt?: string;
}

export interface RowsOptions {
  /** Also yield tombstones. Default false (live rows only). */
  includeDeleted?: boolean;
  /**
   * Only rows whose last change was applied by a run with id greater than this one (a delta
   * "since run N": everything runs N+1, N+2, … changed). Absent: every row.
   */
  changedSinceRun?: number;
  /** Rows per batch; the implementation may cap it. */
  batchSize?: number;
  signal?: AbortSignal;
}

/**
 * Reads the roster collection by collection. Rows come in ascending sourcedId order (string
 * comparison by code unit, as SQL `BINARY`/`C` collation orders ASCII ids), in batches; a batch may
 * be empty. Records must be treated as immutable.
 */
export interface RosterReader {
  rows<C extends CollectionName>(collection: C, options?: RowsOptions): AsyncIterable<ReadonlyArray<ExportRow<EntityByCollection[C]>>>;
}

/**
 * True when the row stands for a deletion: a tombstone, or a live row whose record the source
 * itself marked `tobedeleted` (oneroster-spec-notes §5: "tobedeleted" means safe to delete).
 */
export function isDeletedRow(row: ExportRow<{ status?: unknown }>): boolean {
  return row.deleted || row.record.status === 'tobedeleted';
}

/** The change time to publish for a row: the store's change time, else the record's own. */
export function rowModifiedAt(row: ExportRow<{ dateLastModified?: unknown }>): string {
  if (row.modifiedAt !== undefined) return row.modifiedAt;
  const d = row.record.dateLastModified;
  return typeof d === 'string' ? d : '';
}
