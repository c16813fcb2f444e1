/**
 * An in-memory `RosterReader` for tests and the export benchmark: over arrays of rows, over plain
 * record arrays, or over any `RecordSource` (the simulated `District`).
 *
 * Each `rows()` call returns the rows in sourcedId order (the port's contract): when the source
 * already iterates in that order it streams them, holding nothing; otherwise it sorts references to
 * the selected rows (one pointer per row, never a copy of the records) for the time of the read.
 */
import type { AnyEntity, CollectionName, EntityByCollection } from '../oneroster/types.ts';
import type { RecordSource } from '../serve/record-source.ts';
import type { ExportRow, RosterReader, RowsOptions } from './roster-reader.ts';

/** A row plus the run that last changed it (for `changedSinceRun`). */
export interface MemoryRow<T> extends ExportRow<T> {
  /** The run that last changed the row. Default 1. */
  run?: number;
}

type RowsOf<C extends CollectionName> = Iterable<MemoryRow<EntityByCollection[C]>>;

/**
 * Rows per collection: a re-iterable (an array) or a function producing them afresh on every read;
 * each `rows()` call iterates it twice (an order check, then the read).
 */
export type MemoryRosterData = { [C in CollectionName]?: RowsOf<C> | (() => RowsOf<C>) };

export interface MemoryRosterReaderOptions {
  /** Default batch size. Default 1000. */
  batchSize?: number;
}

const DEFAULT_BATCH = 1000;

function byId(a: MemoryRow<AnyEntity>, b: MemoryRow<AnyEntity>): number {
  const x = a.record.sourcedId;
  const y = b.record.sourcedId;
  return x < y ? -1 : x > y ? 1 : 0;
}

export class MemoryRosterReader implements RosterReader {
  private readonly batchSize: number;

  constructor(
    private readonly data: MemoryRosterData,
    options: MemoryRosterReaderOptions = {},
  ) {
    this.batchSize = Math.max(1, Math.floor(options.batchSize ?? DEFAULT_BATCH));
  }

  /**
   * Plain records, all changed by `run` (default 1); a record whose status is `tobedeleted` becomes
   * a tombstone.
   */
  static fromRecords(records: { [C in CollectionName]?: readonly EntityByCollection[C][] }, options: MemoryRosterReaderOptions & { run?: number } = {}): MemoryRosterReader {
    const run = options.run ?? 1;
    const data: Record<string, () => Iterable<MemoryRow<AnyEntity>>> = {};
    for (const [c, list] of Object.entries(records) as Array<[CollectionName, readonly AnyEntity[]]>) {
      data[c] = () => list.map((record) => ({ record, deleted: record.status === 'tobedeleted', run }));
    }
    return new MemoryRosterReader(data as MemoryRosterData, options);
  }

  /**
   * Over a `RecordSource` such as the simulated District, read lazily on every `rows()` call (so a
   * District that `advance()`s is seen as it is now). `runOf` gives the run that last changed a
   * record (default: 1 for all).
   */
  static fromSource(source: RecordSource, options: MemoryRosterReaderOptions & { runOf?: (collection: CollectionName, record: AnyEntity) => number } = {}): MemoryRosterReader {
    const runOf = options.runOf;
    const data: Record<string, () => Iterable<MemoryRow<AnyEntity>>> = {};
    for (const c of ['academicSessions', 'orgs', 'courses', 'classes', 'users', 'enrollments', 'demographics'] as const) {
      data[c] = function* () {
        for (const record of source.records(c)) {
          yield { record, deleted: record.status === 'tobedeleted', run: runOf ? runOf(c, record) : 1 };
        }
      };
    }
    return new MemoryRosterReader(data as MemoryRosterData, options);
  }

  async *rows<C extends CollectionName>(collection: C, options: RowsOptions = {}): AsyncGenerator<ReadonlyArray<ExportRow<EntityByCollection[C]>>> {
    const entry = this.data[collection] as RowsOf<C> | (() => RowsOf<C>) | undefined;
    if (entry === undefined) return;
    const fresh = typeof entry === 'function' ? entry : () => entry;
    const includeDeleted = options.includeDeleted ?? false;
    const since = options.changedSinceRun;
    const size = Math.max(1, Math.floor(options.batchSize ?? this.batchSize));
    const keep = (row: MemoryRow<EntityByCollection[C]>) => (includeDeleted || !row.deleted) && (since === undefined || (row.run ?? 1) > since);

    // Already in sourcedId order (e.g. the District's enrollments)? Then stream a second pass and
    // hold nothing; otherwise collect the selected rows and sort them.
    let ordered = true;
    let prev: string | undefined;
    for (const row of fresh()) {
      if (!keep(row)) continue;
      const id = row.record.sourcedId;
      if (prev !== undefined && id < prev) {
        ordered = false;
        break;
      }
      prev = id;
    }
    let rows: Iterable<MemoryRow<EntityByCollection[C]>>;
    if (ordered) rows = fresh();
    else {
      const selected: Array<MemoryRow<EntityByCollection[C]>> = [];
      for (const row of fresh()) if (keep(row)) selected.push(row);
      selected.sort(byId);
      rows = selected;
    }
    let batch: Array<ExportRow<EntityByCollection[C]>> = [];
    for (const r of rows) {
      if (!keep(r)) continue;
      // Hand out the port's shape only (no `run`), as the store will.
      batch.push(r.modifiedAt === undefined ? { record: r.record, deleted: r.deleted } : { record: r.record, deleted: r.deleted, modifiedAt: r.modifiedAt });
      if (batch.length >= size) {
        options.signal?.throwIfAborted();
        yield batch;
        batch = [];
      }
    }
    options.signal?.throwIfAborted();
    if (batch.length > 0) yield batch;
  }
}
