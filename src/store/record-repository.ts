/**
 * Reads of the live tables: what the last applied syncs hold for each connection. Writes happen
 * only through `StagingArea.apply` (stage, then apply).
 */
import { sql, type Kysely } from 'kysely';
import { COLLECTIONS, type AnyEntity, type CollectionName, type EntityByCollection } from '../oneroster/types.ts';
import { liveTable, type Database, type LiveCommon } from './schema.ts';

/** A live row: the record plus its sync bookkeeping. */
export interface LiveRecord<T extends AnyEntity = AnyEntity> {
  sourcedId: string;
  /** `tobedeleted` for tombstones. */
  status: string;
  record: T;
  /** The provider's record as sent, when it differed from `record`. */
  raw?: unknown;
  contentHash: string;
  firstSeenRun: number;
  updatedRun: number;
  rowVersion: number;
  deletedAt?: string;
  deletedRun?: number;
}

export interface LiveCounts {
  /** Rows not deleted. */
  active: number;
  /** Tombstones. */
  deleted: number;
}

const COMMON_COLUMNS = [
  'sourced_id', 'status', 'data', 'raw', 'content_hash', 'first_seen_run', 'updated_run', 'row_version', 'deleted_at', 'deleted_run',
] as const;

type CommonRow = Pick<LiveCommon, (typeof COMMON_COLUMNS)[number]>;

/** A live-table row as read (counters may come back as strings from PostgreSQL); `raw` may be left unread. */
export type LiveRow = Omit<CommonRow, 'raw' | 'first_seen_run' | 'updated_run' | 'row_version' | 'deleted_run'> & {
  raw?: string | null;
  first_seen_run: number | string;
  updated_run: number | string;
  row_version: number | string;
  deleted_run: number | string | null;
};

/** A live row as a `LiveRecord` (with the provider's raw copy only when it was read and stored). */
export function toLive<T extends AnyEntity>(r: LiveRow): LiveRecord<T> {
  const out: LiveRecord<T> = {
    sourcedId: r.sourced_id,
    status: r.status,
    record: JSON.parse(r.data) as T,
    contentHash: r.content_hash,
    firstSeenRun: Number(r.first_seen_run),
    updatedRun: Number(r.updated_run),
    rowVersion: Number(r.row_version),
  };
  if (r.raw !== null && r.raw !== undefined) out.raw = JSON.parse(r.raw);
  if (r.deleted_at !== null) out.deletedAt = r.deleted_at;
  if (r.deleted_run !== null) out.deletedRun = Number(r.deleted_run);
  return out;
}

/** Reads live rows and counts. */
export class RecordRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** One live row (tombstones included), or undefined. */
  async get<C extends CollectionName>(collection: C, connectionId: string, sourcedId: string): Promise<LiveRecord<EntityByCollection[C]> | undefined> {
    const r = await this.#db
      .selectFrom(liveTable(collection))
      .select(COMMON_COLUMNS)
      .where('connection_id', '=', connectionId)
      .where('sourced_id', '=', sourcedId)
      .executeTakeFirst();
    return r && toLive<EntityByCollection[C]>(r as LiveRow);
  }

  /**
   * Live rows of a collection in sourcedId order, keyset-paged: pass the last sourcedId of the
   * previous page as `after`. Tombstones only with `includeDeleted`. `limit` defaults to 1000.
   */
  async list<C extends CollectionName>(
    collection: C,
    connectionId: string,
    options: { after?: string; limit?: number; includeDeleted?: boolean } = {},
  ): Promise<LiveRecord<EntityByCollection[C]>[]> {
    let q = this.#db.selectFrom(liveTable(collection)).select(COMMON_COLUMNS).where('connection_id', '=', connectionId);
    if (options.after !== undefined) q = q.where('sourced_id', '>', options.after);
    if (!options.includeDeleted) q = q.where('deleted_at', 'is', null);
    const rows = await q.orderBy('sourced_id').limit(Math.max(1, Math.min(options.limit ?? 1000, 100_000))).execute();
    return rows.map((r) => toLive<EntityByCollection[C]>(r as LiveRow));
  }

  /** Active and tombstoned row counts per collection for one connection. */
  async countLive(connectionId: string): Promise<Record<CollectionName, LiveCounts>> {
    const out = {} as Record<CollectionName, LiveCounts>;
    for (const c of COLLECTIONS) {
      const r = await this.#db
        .selectFrom(liveTable(c))
        .select([
          sql<number>`count(*)`.as('total'),
          sql<number>`coalesce(sum(case when deleted_at is null then 0 else 1 end), 0)`.as('deleted'),
        ])
        .where('connection_id', '=', connectionId)
        .executeTakeFirstOrThrow();
      const total = Number(r.total);
      const deleted = Number(r.deleted);
      out[c] = { active: total - deleted, deleted };
    }
    return out;
  }
}
