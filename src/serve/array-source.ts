import type { AnyEntity, CollectionName } from '../oneroster/types.ts';
import { COLLECTIONS } from '../oneroster/types.ts';
import type { RecordSource } from './record-source.ts';

/**
 * The simplest `RecordSource`: arrays per collection, held in memory. For tests, fixtures and
 * serving a fixed set of records. `replace` and `upsert` bump `version` so caches notice.
 */
export class ArraySource implements RecordSource {
  #version = 1;
  readonly #records = new Map<CollectionName, AnyEntity[]>();
  #byId = new Map<CollectionName, Map<string, AnyEntity>>();

  constructor(data: Partial<Record<CollectionName, readonly AnyEntity[]>> = {}) {
    for (const c of COLLECTIONS) this.#records.set(c, [...(data[c] ?? [])]);
    this.#reindex();
  }

  get version(): number {
    return this.#version;
  }

  #reindex(): void {
    this.#byId = new Map();
    for (const [c, list] of this.#records) {
      const m = new Map<string, AnyEntity>();
      // First record wins for duplicated ids (dirty data), like a lookup by primary key would.
      for (const r of list) if (!m.has(r.sourcedId)) m.set(r.sourcedId, r);
      this.#byId.set(c, m);
    }
  }

  records(collection: CollectionName): Iterable<AnyEntity> {
    return this.#records.get(collection) ?? [];
  }

  get(collection: CollectionName, sourcedId: string): AnyEntity | undefined {
    return this.#byId.get(collection)?.get(sourcedId);
  }

  size(collection: CollectionName): number {
    return this.#records.get(collection)?.length ?? 0;
  }

  /** Replaces a whole collection. */
  replace(collection: CollectionName, records: readonly AnyEntity[]): void {
    this.#records.set(collection, [...records]);
    this.#reindex();
    this.#version++;
  }

  /** Adds or replaces one record by sourcedId. */
  upsert(collection: CollectionName, record: AnyEntity): void {
    const list = this.#records.get(collection) ?? [];
    const i = list.findIndex((r) => r.sourcedId === record.sourcedId);
    if (i === -1) list.push(record);
    else list[i] = record;
    this.#records.set(collection, list);
    this.#reindex();
    this.#version++;
  }
}
