/**
 * Tombstone and change-history retention (issue 4, "Change history": "Tombstones are kept for a
 * configurable retention (default 30 days) so downstream consumers can see deletes").
 *
 * After the retention a tombstone is hard-deleted: the re-served API and exports stop showing it as
 * `tobedeleted`, and a record that comes back later is `created` again rather than `restored`. Change
 * rows older than the retention go too (the events API cannot replay further back than that). The
 * plan of a run still on hold (`applied = 0`, hold `pending`) is kept whatever its age: it is what
 * the admin will approve or discard.
 */
import { COLLECTIONS, type CollectionName } from '../oneroster/types.ts';
import { StoreError } from './errors.ts';
import { liveTable } from './schema.ts';
import type { Store } from './store.ts';

/** Change rows deleted per statement: keeps each write transaction (and the event loop block) short. */
const CHANGE_BATCH = 10_000;

export interface PurgeOptions {
  connectionId: string;
  /** The reference time. Default: now. */
  now?: Date;
  /** Whole days to keep; rows deleted (tombstones) or recorded (changes) before `now - retentionDays` go. */
  retentionDays: number;
}

export interface PurgeResult {
  /** `now - retentionDays`, ISO. */
  cutoff: string;
  /** Tombstones hard-deleted per collection. */
  tombstones: Record<CollectionName, number>;
  /** Change-history rows deleted. */
  changes: number;
}

/**
 * Hard-deletes the connection's tombstones whose `deleted_at` is older than the retention, from
 * every live table, and its change rows older than the retention. Returns counts per entity.
 * @throws StoreError `invalid_input` for a retention that is not a positive whole number of days.
 */
export async function purgeExpired(store: Store, options: PurgeOptions): Promise<PurgeResult> {
  const { connectionId, retentionDays } = options;
  if (!Number.isInteger(retentionDays) || retentionDays < 1) {
    throw new StoreError('invalid_input', `retention must be a whole number of days >= 1, got ${retentionDays}`);
  }
  const now = options.now ?? new Date();
  const cutoff = new Date(now.getTime() - retentionDays * 86_400_000).toISOString();
  const tombstones = {} as Record<CollectionName, number>;
  // One statement per table: a connection's tombstones are a small share of its rows, and
  // `deleted_at` has no index, so one scan is cheaper than batches that each scan again.
  // Timestamps are ISO-8601 UTC text written by `toISOString`, so text order is time order.
  for (const c of COLLECTIONS) {
    const res = await store.db
      .deleteFrom(liveTable(c))
      .where('connection_id', '=', connectionId)
      .where('deleted_at', 'is not', null)
      .where('deleted_at', '<', cutoff)
      .executeTakeFirst();
    tombstones[c] = Number(res.numDeletedRows);
  }
  // Changes can be millions of rows (a first sync of a large district records every create): the
  // change repository deletes them in batches, and first raises the connection's retention
  // watermark, which the events API (410 for expired cursors) and `export --since` rely on.
  const { deleted: changes } = await store.changes.purge({ connectionId, before: cutoff, batchSize: CHANGE_BATCH }, now);
  return { cutoff, tombstones, changes };
}

/** Total rows a purge removed. */
export function purgedTotal(result: PurgeResult): number {
  return Object.values(result.tombstones).reduce((a, b) => a + b, 0) + result.changes;
}
