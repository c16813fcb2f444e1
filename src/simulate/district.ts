/**
 * The simulated district: a deterministic, in-memory OneRoster 1.1 dataset that `serve/` can
 * expose as a provider API, with a simulated clock that produces churn.
 *
 * `District.generate({ size, seed, dirtyRate, now })` builds the records (generator.ts), applies
 * dirty data (dirty.ts) and keeps the exact ledger of what was made dirty; `advance(days)` moves
 * the clock and applies churn (churn.ts). Reads are O(1) (`get`) or a Map iteration (`records`).
 */
import type { AnyEntity, CollectionName } from '../oneroster/types.ts';
import { COLLECTIONS } from '../oneroster/types.ts';
import type { RecordSource } from '../serve/record-source.ts';
import type { ChurnSummary, ChurnTotals } from './churn.ts';
import { ChurnEngine, DAY_MS, emptyCounts, emptyEvents } from './churn.ts';
import type { DirtyKind, DirtyRecord } from './dirty.ts';
import { CONTACT_ROLES, DIRTY_KINDS, applyDirt, dirtyKey } from './dirty.ts';
import type { CollectionStore, DistrictContext, DistrictOptions, DistrictSize, Stores } from './generator.ts';
import { DEFAULT_NOW, SIZE_PROFILES, generateDistrict, isoStamp } from './generator.ts';

export type { DistrictOptions, DistrictSize } from './generator.ts';
export type { DirtyKind, DirtyRecord } from './dirty.ts';
export type { ChurnSummary, ChurnTotals } from './churn.ts';

/** Most entries `stats().dirtyRecords` lists; `District.dirtyRecords()` returns them all. */
export const DIRTY_RECORDS_CAP = 10_000;

export interface CollectionCounts {
  total: number;
  active: number;
  tobedeleted: number;
}

export interface SimulatorStats {
  size: DistrictSize;
  seed: number;
  dirtyRate: number;
  /** Simulated clock, ISO. */
  now: string;
  version: number;
  /** `total` counts every record `records()` yields, dirty duplicates included. */
  counts: Record<CollectionName, CollectionCounts>;
  schools: number;
  students: number;
  teachers: number;
  /** Users whose role is guardian, parent or relative (any case). */
  contacts: number;
  dirty: Record<DirtyKind, number>;
  /** The dirty ledger, capped at DIRTY_RECORDS_CAP entries. */
  dirtyRecords: DirtyRecord[];
  dirtyRecordsTruncated: boolean;
  churn: ChurnTotals;
}

/** An in-memory simulated district. Records must be treated as immutable by callers. */
export class District implements RecordSource {
  private versionNo = 1;
  private clockMs: number;
  private readonly ledger = new Map<string, DirtyRecord>();
  private readonly churn: ChurnEngine;
  private readonly totals: ChurnTotals = { days: 0, byCollection: emptyCounts(), events: emptyEvents() };

  private constructor(
    private readonly stores: Stores,
    private readonly ctx: DistrictContext,
    private readonly dirtyRate: number,
    dirty: DirtyRecord[],
  ) {
    this.clockMs = ctx.startMs;
    for (const d of dirty) this.ledger.set(dirtyKey(d.collection, d.sourcedId), d);
    this.churn = new ChurnEngine(stores, ctx, {
      isDirty: (c, id) => this.ledger.has(dirtyKey(c, id)),
      forget: (c, id) => {
        this.ledger.delete(dirtyKey(c, id));
      },
    });
  }

  /**
   * Generates a district. Deterministic for (size, seed, dirtyRate, now).
   * @throws RangeError on an unknown size, a dirtyRate outside 0..1 or an invalid `now`.
   */
  static generate(options: DistrictOptions): District {
    const seed = options.seed ?? 1;
    const dirtyRate = options.dirtyRate ?? 0;
    const now = options.now ?? new Date(DEFAULT_NOW);
    if (!Object.hasOwn(SIZE_PROFILES, options.size)) throw new RangeError(`unknown district size: ${String(options.size)}`);
    if (!Number.isFinite(seed)) throw new RangeError('seed must be a finite number');
    if (!(dirtyRate >= 0 && dirtyRate <= 1)) throw new RangeError(`dirtyRate must be within 0..1, got ${dirtyRate}`);
    const { stores, ctx } = generateDistrict(options.size, seed, now);
    const dirty = applyDirt(stores, seed, dirtyRate);
    return new District(stores, ctx, dirtyRate, dirty);
  }

  /** Increases on every advance that changed something. */
  get version(): number {
    return this.versionNo;
  }

  /** Primaries in insertion order, then dirty duplicates. */
  records(collection: CollectionName): Iterable<AnyEntity> {
    return this.store(collection).values();
  }

  /** The primary record with this sourcedId (a dirty duplicate is only reachable through `records`). */
  get(collection: CollectionName, sourcedId: string): AnyEntity | undefined {
    return this.store(collection).byId.get(sourcedId);
  }

  size(collection: CollectionName): number {
    return this.store(collection).size;
  }

  /** The simulated clock. */
  now(): Date {
    return new Date(this.clockMs);
  }

  /**
   * Advances the clock by `days` whole days, producing churn (see churn.ts). Every changed record's
   * `dateLastModified` lies in (previous now, new now].
   * @throws RangeError unless `days` is a non-negative integer.
   */
  advance(days: number): ChurnSummary {
    const summary = this.churn.advance(this.clockMs, days);
    this.clockMs += days * DAY_MS;
    this.totals.days += days;
    let changed = false;
    for (const c of COLLECTIONS) {
      const from = summary.byCollection[c];
      const to = this.totals.byCollection[c];
      to.created += from.created;
      to.updated += from.updated;
      to.tobedeleted += from.tobedeleted;
      to.deleted += from.deleted;
      if (from.created + from.updated + from.tobedeleted + from.deleted > 0) changed = true;
    }
    for (const k of Object.keys(summary.events) as Array<keyof ChurnSummary['events']>) this.totals.events[k] += summary.events[k];
    if (changed) this.versionNo++;
    return summary;
  }

  /** The full dirty ledger (uncapped), in the order the records were made dirty. */
  dirtyRecords(): DirtyRecord[] {
    return [...this.ledger.values()];
  }

  /** Counts, dirty ledger and churn totals. Walks every record: O(records). */
  stats(): SimulatorStats {
    const counts = {} as Record<CollectionName, CollectionCounts>;
    let students = 0;
    let teachers = 0;
    let contacts = 0;
    for (const c of COLLECTIONS) {
      const n: CollectionCounts = { total: 0, active: 0, tobedeleted: 0 };
      for (const r of this.records(c)) {
        n.total++;
        if (r.status === 'active') n.active++;
        else if (r.status === 'tobedeleted') n.tobedeleted++;
        if (c === 'users') {
          const role = String((r as { role?: unknown }).role).toLowerCase();
          if (role === 'student') students++;
          else if (role === 'teacher') teachers++;
          else if (CONTACT_ROLES.has(role)) contacts++;
        }
      }
      counts[c] = n;
    }
    const dirty = {} as Record<DirtyKind, number>;
    for (const k of DIRTY_KINDS) dirty[k] = 0;
    const dirtyRecords: DirtyRecord[] = [];
    for (const d of this.ledger.values()) {
      dirty[d.kind]++;
      if (dirtyRecords.length < DIRTY_RECORDS_CAP) dirtyRecords.push(d);
    }
    return {
      size: this.ctx.size,
      seed: this.ctx.seed,
      dirtyRate: this.dirtyRate,
      now: isoStamp(this.clockMs),
      version: this.versionNo,
      counts,
      schools: this.ctx.schools.length,
      students,
      teachers,
      contacts,
      dirty,
      dirtyRecords,
      dirtyRecordsTruncated: this.ledger.size > DIRTY_RECORDS_CAP,
      churn: structuredClone(this.totals),
    };
  }

  private store(collection: CollectionName): CollectionStore<AnyEntity> {
    const s = this.stores[collection] as CollectionStore<AnyEntity> | undefined;
    if (!s) throw new RangeError(`unknown collection: ${String(collection)}`);
    return s;
  }
}
