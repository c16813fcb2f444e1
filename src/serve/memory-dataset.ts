import { compileFilter, isKnownFieldPath } from '../oneroster/filter-grammar.ts';
import { parseInstant } from '../oneroster/dates.ts';
import { DATE_FIELDS } from '../oneroster/types.ts';
import type { AnyEntity, CollectionName } from '../oneroster/types.ts';
import type { RecordSource } from './record-source.ts';
import { scopeKey } from './dataset.ts';
import type { Dataset, DatasetQuery, QueryResult, Scope } from './dataset.ts';

/**
 * `Dataset` over an in-memory `RecordSource` (the district simulator).
 *
 * Performance: a sync pulls `/enrollments?filter=status='active'&limit=5000&offset=…` page after
 * page over ~1.1M records, so re-filtering per page would be quadratic. Everything derived from
 * the source is cached and keyed on `source.version`:
 * - per collection, every record sorted by sourcedId (stable: duplicate ids keep source order);
 * - lazily built join indexes for the nested endpoints;
 * - the final filtered + sorted list per (collection, scope, filter text, sort, orderBy), in a
 *   small LRU, so each page is an O(limit) slice.
 */

export interface MemoryDatasetOptions {
  /** Number of filtered+sorted lists kept. Default 32. */
  cacheEntries?: number;
}

type Rec = Record<string, unknown> & AnyEntity;

function idOf(r: unknown): string {
  const id = (r as { sourcedId?: unknown } | null)?.sourcedId;
  return typeof id === 'string' ? id : id === undefined || id === null ? '' : String(id);
}

/** sourcedId of a GUIDRef-ish value, or undefined. */
function refId(v: unknown): string | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const id = (v as { sourcedId?: unknown }).sourcedId;
  return typeof id === 'string' ? id : undefined;
}

function refIds(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  const out: string[] = [];
  for (const el of v) {
    const id = refId(el);
    if (id !== undefined) out.push(id);
  }
  return out;
}

/** Code-unit order. The spec asks for Unicode order; it differs from this only past U+FFFF vs U+E000–U+FFFF. */
function cmpId(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sorts records by sourcedId, stably. Already-ordered input (the common case) costs one pass. */
function sortById(records: Rec[]): Rec[] {
  let ordered = true;
  for (let i = 1; i < records.length; i++) {
    if (cmpId(idOf(records[i - 1]), idOf(records[i])) > 0) {
      ordered = false;
      break;
    }
  }
  if (ordered) return records;
  const keyed = records.map((r, i) => ({ r, id: idOf(r), i }));
  keyed.sort((a, b) => cmpId(a.id, b.id) || a.i - b.i);
  return keyed.map((k) => k.r);
}

type SortKey = number | string | undefined;

/**
 * A comparable key for a sort value: dates as instants, numbers, booleans as 0/1, GUIDRefs by
 * sourcedId, arrays by their JSON text; missing/null sorts last (in both directions).
 */
function sortKeyOf(field: string, v: unknown): SortKey {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    if (DATE_FIELDS.has(field)) {
      const t = parseInstant(v);
      if (t !== undefined) return t;
    }
    return v;
  }
  const id = refId(v);
  if (id !== undefined) return id;
  return JSON.stringify(v);
}

function cmpKey(a: SortKey, b: SortKey): number {
  if (a === b) return 0;
  if (a === undefined) return 1;
  if (b === undefined) return -1;
  // numbers before strings when a field mixes them
  if (typeof a !== typeof b) return typeof a === 'number' ? -1 : 1;
  return a < b ? -1 : 1;
}

/** The value at a dotted path (`orgs.sourcedId`); arrays on the way contribute their first element. */
function valueAt(record: Rec, path: string): unknown {
  if (!path.includes('.')) return record[path];
  let v: unknown = record;
  for (const seg of path.split('.')) {
    if (Array.isArray(v)) v = v[0];
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[seg];
  }
  return Array.isArray(v) ? v[0] : v;
}

/** Stable sort of sourcedId-ordered records by a field; ties keep sourcedId order (the tiebreak). */
function sortByField(records: readonly Rec[], field: string, desc: boolean): Rec[] {
  const last = field.slice(field.lastIndexOf('.') + 1);
  const keyed = records.map((r, i) => ({ r, k: sortKeyOf(last, valueAt(r, field)), i }));
  keyed.sort((a, b) => {
    let c = cmpKey(a.k, b.k);
    if (desc && a.k !== undefined && b.k !== undefined) c = -c;
    return c || a.i - b.i;
  });
  return keyed.map((k) => k.r);
}

/** Groups records (already in sourcedId order) by one or more keys; group lists stay in order. */
function groupBy(records: readonly Rec[], keysOf: (r: Rec) => Iterable<string>): Map<string, Rec[]> {
  const m = new Map<string, Rec[]>();
  for (const r of records) {
    for (const k of keysOf(r)) {
      let list = m.get(k);
      if (!list) m.set(k, (list = []));
      if (list[list.length - 1] !== r) list.push(r);
    }
  }
  return m;
}

const EMPTY: readonly Rec[] = Object.freeze([]);

/** A record list with its (sourcedId-ordered) duplicates removed by identity. */
function uniqueSorted(records: Iterable<Rec>): Rec[] {
  return sortById([...new Set(records)]);
}

/** See module comment. */
export class MemoryDataset implements Dataset {
  readonly #source: RecordSource;
  readonly #cacheEntries: number;
  #version = Number.NaN;
  #sorted = new Map<CollectionName, Rec[]>();
  #indexes = new Map<string, Map<string, Rec[]>>();
  #lists = new Map<string, Rec[]>();
  /** Counters for tests and diagnostics. */
  readonly stats = { listBuilds: 0, listHits: 0, sorts: 0 };

  constructor(source: RecordSource, options: MemoryDatasetOptions = {}) {
    this.#source = source;
    this.#cacheEntries = options.cacheEntries ?? 32;
  }

  /** The source's version this dataset's caches were built for. */
  get version(): number {
    return this.#source.version;
  }

  #checkVersion(): void {
    const v = this.#source.version;
    if (v !== this.#version) {
      this.#version = v;
      this.#sorted.clear();
      this.#indexes.clear();
      this.#lists.clear();
    }
  }

  /** Every record of a collection in sourcedId order (cached per version). */
  sortedAll(collection: CollectionName): readonly Rec[] {
    this.#checkVersion();
    let s = this.#sorted.get(collection);
    if (!s) {
      this.stats.sorts++;
      s = sortById([...(this.#source.records(collection) as Iterable<Rec>)]);
      this.#sorted.set(collection, s);
    }
    return s;
  }

  #index(name: string, collection: CollectionName, keysOf: (r: Rec) => Iterable<string>): Map<string, Rec[]> {
    let ix = this.#indexes.get(name);
    if (!ix) {
      ix = groupBy(this.sortedAll(collection), keysOf);
      this.#indexes.set(name, ix);
    }
    return ix;
  }

  #enrollmentsBy(field: 'class' | 'user' | 'school'): Map<string, Rec[]> {
    return this.#index(`enrollments.${field}`, 'enrollments', (r) => {
      const id = refId(r[field]);
      return id === undefined ? [] : [id];
    });
  }

  #byId(collection: CollectionName): Map<string, Rec[]> {
    return this.#index(`${collection}.id`, collection, (r) => [idOf(r)]);
  }

  /** Records of `collection` with these ids (all duplicates of each id), in sourcedId order. */
  #lookup(collection: CollectionName, ids: Iterable<string>): Rec[] {
    const byId = this.#byId(collection);
    const out: Rec[] = [];
    for (const id of new Set(ids)) for (const r of byId.get(id) ?? EMPTY) out.push(r);
    return uniqueSorted(out);
  }

  /** The scope's records in sourcedId order, before filtering. */
  #scoped(collection: CollectionName, scope: Scope): readonly Rec[] {
    switch (scope.kind) {
      case 'all':
        return this.sortedAll(collection);
      case 'usersByRole':
        return this.sortedAll('users').filter((r) => r['role'] === scope.role);
      case 'orgsByType':
        return this.sortedAll('orgs').filter((r) => r['type'] === scope.type);
      case 'sessionsByType':
        return this.sortedAll('academicSessions').filter((r) => r['type'] === scope.type);
      case 'gradingPeriodsForTerm': {
        const byParent = this.#index('academicSessions.parent', 'academicSessions', (r) => {
          const id = refId(r['parent']);
          return id === undefined ? [] : [id];
        });
        return (byParent.get(scope.termId) ?? EMPTY).filter((r) => r['type'] === 'gradingPeriod');
      }
      case 'classesForUser':
        return this.#lookup('classes', (this.#enrollmentsBy('user').get(scope.userId) ?? EMPTY).map((e) => refId(e['class']) ?? ''));
      case 'usersForClass': {
        const ids: string[] = [];
        for (const e of this.#enrollmentsBy('class').get(scope.classId) ?? EMPTY) {
          if (e['role'] !== scope.role) continue;
          if (scope.schoolId !== undefined && refId(e['school']) !== scope.schoolId) continue;
          const u = refId(e['user']);
          if (u !== undefined) ids.push(u);
        }
        return this.#lookup('users', ids);
      }
      case 'classesForCourse':
        return this.#index('classes.course', 'classes', (r) => {
          const id = refId(r['course']);
          return id === undefined ? [] : [id];
        }).get(scope.courseId) ?? EMPTY;
      case 'classesForSchool':
        return this.#classesBySchool().get(scope.schoolId) ?? EMPTY;
      case 'classesForTerm':
        return this.#index('classes.terms', 'classes', (r) => refIds(r['terms'])).get(scope.termId) ?? EMPTY;
      case 'coursesForSchool':
        return this.#index('courses.org', 'courses', (r) => {
          const id = refId(r['org']);
          return id === undefined ? [] : [id];
        }).get(scope.schoolId) ?? EMPTY;
      case 'enrollmentsForSchool': {
        const list = this.#enrollmentsBy('school').get(scope.schoolId) ?? EMPTY;
        return scope.classId === undefined ? list : list.filter((e) => refId(e['class']) === scope.classId);
      }
      case 'usersForSchool':
        return (this.#index('users.orgs', 'users', (r) => refIds(r['orgs'])).get(scope.schoolId) ?? EMPTY).filter(
          (r) => r['role'] === scope.role,
        );
      case 'termsForSchool':
        return this.#termsForSchool(scope.schoolId);
    }
  }

  #classesBySchool(): Map<string, Rec[]> {
    return this.#index('classes.school', 'classes', (r) => {
      const id = refId(r['school']);
      return id === undefined ? [] : [id];
    });
  }

  /**
   * The academic sessions the school's classes list in their `terms` (whatever their type: a
   * generator or SIS may attach classes to semesters or grading periods). Every `class.terms`
   * reference of the school's classes then resolves within this list.
   */
  #termsForSchool(schoolId: string): Rec[] {
    const ids: string[] = [];
    for (const c of this.#classesBySchool().get(schoolId) ?? EMPTY) ids.push(...refIds(c['terms']));
    return this.#lookup('academicSessions', ids);
  }

  /**
   * The filtered and sorted records for a query, without paging. Cached per version in an LRU.
   * @throws FilterError for unknown filter fields or uncomparable date values.
   */
  list(collection: CollectionName, scope: Scope, q: Pick<DatasetQuery, 'filter' | 'filterText' | 'sort' | 'orderBy'>): readonly Rec[] {
    this.#checkVersion();
    // Filter text is the key when there is one; a parsed filter without text is not cacheable.
    const cacheable = q.filter === undefined || q.filterText !== undefined;
    const key = `${collection}\u0000${scopeKey(scope)}\u0000${q.filterText ?? ''}\u0000${q.sort ?? ''}\u0000${q.orderBy}`;
    if (cacheable) {
      const hit = this.#lists.get(key);
      if (hit) {
        this.stats.listHits++;
        this.#lists.delete(key);
        this.#lists.set(key, hit);
        return hit;
      }
    }
    this.stats.listBuilds++;
    let records = this.#scoped(collection, scope);
    if (q.filter !== undefined) {
      const match = compileFilter(q.filter, { isKnownField: (path) => isKnownFieldPath(collection, path) });
      records = records.filter(match);
    }
    if (q.sort !== undefined && q.sort !== '' && q.sort !== 'sourcedId') {
      records = sortByField(records, q.sort, q.orderBy === 'desc');
    } else if (q.orderBy === 'desc' && q.sort === 'sourcedId') {
      records = [...records].reverse();
    }
    const list = records as Rec[];
    if (cacheable) {
      this.#lists.set(key, list);
      while (this.#lists.size > this.#cacheEntries) {
        const oldest = this.#lists.keys().next().value as string;
        this.#lists.delete(oldest);
      }
    }
    return list;
  }

  /** One page of a query. See `Dataset.query`. */
  query(collection: CollectionName, scope: Scope, q: DatasetQuery): QueryResult {
    const list = this.list(collection, scope, q);
    const start = Math.min(Math.max(0, q.offset), list.length);
    return { total: list.length, records: list.slice(start, start + Math.max(0, q.limit)) };
  }

  /** One record by sourcedId (the source's pick when ids are duplicated). */
  get(collection: CollectionName, sourcedId: string): AnyEntity | undefined {
    return this.#source.get(collection, sourcedId);
  }
}
