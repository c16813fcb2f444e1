import type { AnyEntity, CollectionName } from '../oneroster/types.ts';

/**
 * What the OneRoster provider server (`serve/`) serves: any set of records, in memory
 * (the district simulator) or, later, backed by the store.
 *
 * Records are the internal shape of `oneroster/types.ts`. The simulator's deliberately dirty
 * records may break that shape (missing fields, wrong enum case, duplicate sourcedIds): the
 * server serves them as they are.
 */
export interface RecordSource {
  /** Increases whenever any record is added, changed or removed; servers key caches on it. */
  readonly version: number;
  /** Every record of a collection, in no particular order. May yield two records with one sourcedId (dirty data). */
  records(collection: CollectionName): Iterable<AnyEntity>;
  /** One record by sourcedId, or undefined. */
  get(collection: CollectionName, sourcedId: string): AnyEntity | undefined;
  /** Number of records in a collection. */
  size(collection: CollectionName): number;
}
