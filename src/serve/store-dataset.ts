import { sql, type Kysely, type RawBuilder } from 'kysely';
import { formatDateTime, parseInstant } from '../oneroster/dates.ts';
import { compileFilter, isKnownFieldPath, type FilterExpr, type FilterPredicate } from '../oneroster/filter-grammar.ts';
import type { AnyEntity, CollectionName } from '../oneroster/types.ts';
import type { StoreDialect } from '../store/migrations.ts';
import { liveTable, type Database } from '../store/schema.ts';
import { ArraySource } from './array-source.ts';
import { scopeKey, type Dataset, type DatasetQuery, type QueryResult, type Scope } from './dataset.ts';
import { MemoryDataset } from './memory-dataset.ts';
import { storedEntity, type StoredRecord } from './stored-json.ts';

/**
 * `Dataset` over one connection's live tables: the re-served OneRoster 1.1 API (issue 6).
 *
 * What a consumer sees:
 * - Every live row of the connection, tombstones included: a tombstone (`deleted_run` set) is served
 *   with `status: "tobedeleted"` until the retention purge removes it (`store/retention.ts`), so
 *   consumers see deletions. Joins through enrollments (`/users/{id}/classes`,
 *   `/classes/{id}/students`…) and a school's terms (through its classes) use live rows only: a
 *   deleted enrollment no longer relates a user and a class.
 * - `dateLastModified` is when OUR store last changed the record: the `finished_at` of the run that
 *   last wrote the row (`updated_run`; the run's start while it has none), not the provider's
 *   value. It is monotonic (one run per connection at a time, each finishing after the previous),
 *   so `filter=dateLastModified>'T'` returns exactly the records changed by runs that finished after
 *   T. A consumer should use the largest `dateLastModified` it received as its next T (not its own
 *   clock): a run's rows become visible at its commit, a moment after its `finished_at`.
 * - `status` is `tobedeleted` exactly for tombstones (the engine keeps `status` and `deleted_run`
 *   in step), `active` otherwise.
 *
 * How queries run (the speed lever is never parsing the stored JSON; see stored-json.ts):
 * - Filters are split: predicates on sourcedId, status, dateLastModified and the typed columns
 *   (`entity-columns.ts`: role, type, email, references such as `class`/`school`…) with `=`/`!=`
 *   (any op for dateLastModified) become SQL with exactly the evaluator's semantics; anything else
 *   (`~`, ordering on text, other fields, date-like values) is evaluated by the one filter evaluator
 *   (`compileFilter`) on the parsed record. Sorting that SQL cannot reproduce exactly goes through
 *   `MemoryDataset`'s sort on projected records, so there is one implementation of each.
 * - Direct path: collection scans in sourcedId order with SQL-only conditions read just the page
 *   (`LIMIT`), keyset-continued from the last page's sourcedId when the request continues a previous
 *   one (a sync pages offset 0, 5000, 10000…), so paging stays O(limit) instead of O(offset).
 * - List path (joins, selective or JS-evaluated filters, other sorts): the matching sourcedIds are
 *   computed once, in order, and cached; each page then fetches its rows by id.
 * - Totals, keyset cursors and id lists are cached per query and keyed on the connection's latest
 *   run (and last retention purge), so they are rebuilt only after the data may have changed. A
 *   page that finds fewer rows than its cached list promised drops that entry.
 */

type Rec = Record<string, unknown>;

interface FieldColumn {
  readonly column: string;
  readonly kind: 'text' | 'ref' | 'bool';
}

const text = (column: string): FieldColumn => ({ column, kind: 'text' });
const ref = (column: string): FieldColumn => ({ column, kind: 'ref' });
const bool = (column: string): FieldColumn => ({ column, kind: 'bool' });

/**
 * Fields with a typed column in the live table (`store/entity-columns.ts`, which extracts them from
 * the same normalised record that `data` holds). Date fields are left out on purpose: the filter
 * compares them as instants, not as text.
 */
export const FIELD_COLUMNS: Readonly<Record<CollectionName, Readonly<Record<string, FieldColumn>>>> = {
  academicSessions: { type: text('type'), schoolYear: text('school_year'), parent: ref('parent_id') },
  orgs: { type: text('type'), identifier: text('identifier'), parent: ref('parent_id') },
  courses: { courseCode: text('course_code'), org: ref('org_id'), schoolYear: ref('school_year_id') },
  classes: { classType: text('class_type'), school: ref('school_id'), course: ref('course_id') },
  users: { role: text('role'), email: text('email'), username: text('username'), enabledUser: bool('enabled_user') },
  enrollments: { role: text('role'), user: ref('user_id'), class: ref('class_id'), school: ref('school_id'), primary: bool('is_primary') },
  demographics: {},
};

/** The typed column a filter/sort path reads (`school` or `school.sourcedId` for references). */
function columnOf(collection: CollectionName, path: string): FieldColumn | undefined {
  const dot = path.indexOf('.');
  const top = dot === -1 ? path : path.slice(0, dot);
  const col = Object.hasOwn(FIELD_COLUMNS[collection], top) ? FIELD_COLUMNS[collection][top] : undefined;
  if (col === undefined) return undefined;
  if (dot === -1) return col;
  return col.kind === 'ref' && path.slice(dot + 1) === 'sourcedId' ? col : undefined;
}

function refIds(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  const out: string[] = [];
  for (const el of v) {
    const id = (el as { sourcedId?: unknown } | null)?.sourcedId;
    if (typeof id === 'string') out.push(id);
  }
  return out;
}

/** `%"sourcedId":"<id>"%` for LIKE, escaped: a superset pre-filter of records referencing `id`. */
function refLikePattern(id: string): string {
  return `%${`"sourcedId":${JSON.stringify(id)}`.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

const TRUE_SQL = sql<boolean>`1 = 1`;
const FALSE_SQL = sql<boolean>`1 = 0`;

/** A scope as SQL conditions, plus an exact JS check where SQL can only pre-filter. */
interface ScopePlan {
  where: RawBuilder<unknown>[];
  check?: (rec: Rec) => boolean;
}

/**
 * Scopes served from a cached id list: their rows come through a join (enrollments), a
 * non-indexed condition on a big table (enrollments by school), or need a JS check.
 */
const LISTED_SCOPES: ReadonlySet<Scope['kind']> = new Set([
  'classesForUser', 'usersForClass', 'enrollmentsForSchool', 'classesForTerm', 'usersForSchool', 'termsForSchool',
]);

interface Pushdown {
  where: RawBuilder<unknown>[];
  /** Part of the filter is not in `where`: evaluate the whole filter on parsed records. */
  residual: boolean;
  /** `where` uses more than sourcedId/status (a selective or non-indexed condition). */
  selective: boolean;
}

/**
 * A live row as the serving queries read it: the stored text and, packed in one integer, the run
 * that last wrote it and whether it is a tombstone (`updated_run * 2 + deleted`). Two columns
 * instead of four: better-sqlite3 builds a row object per row, and on a 5000-row page the two
 * extra integer columns measured ~2 ms of ~8.
 */
interface Row {
  data: string;
  m: number;
  /** Only where a query needs it (keyed fetches, scans). */
  sourced_id?: string;
}

const ROW = sql`data, updated_run * 2 + (case when deleted_run is null then 0 else 1 end) as m`;

interface CacheEntry {
  version: string;
  total?: number;
  /** offset → sourcedId of the last record before it (keyset continuation, direct path). */
  cursors?: Map<number, string>;
  /** The ordered sourcedIds (list path). */
  ids?: string[] | undefined;
}

export interface StoreDatasetOptions {
  db: Kysely<Database>;
  connectionId: string;
  dialect?: StoreDialect;
  /** Cached queries (totals, cursors, id lists). Default 64. */
  cacheEntries?: number;
  /** Upper bound on sourcedIds held by cached lists, over all entries. Default 3,000,000. */
  maxCachedIds?: number;
}

/** Rows fetched per statement when reading by id or scanning for the JS evaluator. */
const CHUNK = 500;
const SCAN_CHUNK = 2000;
const MAX_CURSORS = 64;

/** See module comment. */
export class StoreDataset implements Dataset {
  readonly connectionId: string;
  readonly #db: Kysely<Database>;
  readonly #dialect: StoreDialect;
  readonly #cacheEntries: number;
  readonly #maxCachedIds: number;
  readonly #cache = new Map<string, CacheEntry>();
  #cachedIds = 0;
  /** Served time per finished run (immutable once the run has finished). */
  readonly #runTimes = new Map<number, string>();
  /** Counters for tests and diagnostics. */
  readonly stats = { direct: 0, listed: 0, listBuilds: 0, keyset: 0, offsetScans: 0, counts: 0, parsed: 0 };

  constructor(options: StoreDatasetOptions) {
    this.#db = options.db;
    this.connectionId = options.connectionId;
    this.#dialect = options.dialect ?? 'sqlite';
    this.#cacheEntries = options.cacheEntries ?? 64;
    this.#maxCachedIds = options.maxCachedIds ?? 3_000_000;
  }

  /** Drops every cached total, cursor and list (for writers that change live rows outside a run). */
  invalidate(): void {
    this.#cache.clear();
    this.#cachedIds = 0;
  }

  // -------------------------------------------------------------------------------------------
  // SQL pieces

  /** Text comparison in code-unit order on both dialects (PostgreSQL text columns default to a linguistic collation). */
  #c(column: string): RawBuilder<unknown> {
    return this.#dialect === 'postgres' ? sql`${sql.ref(column)} collate "C"` : sql.ref(column);
  }

  /** Rows of this connection's live table of `collection` matching all `where`. */
  #where(where: readonly RawBuilder<unknown>[]): RawBuilder<unknown> {
    return sql.join([sql`connection_id = ${this.connectionId}`, ...where], sql` and `);
  }

  /** Runs whose served time compares with `canonical` (a `YYYY-MM-DDTHH:mm:ss.SSSZ` instant). */
  #runsAt(op: string, canonical: string): RawBuilder<unknown> {
    const at = this.#dialect === 'postgres' ? sql`coalesce(finished_at, started_at) collate "C"` : sql`coalesce(finished_at, started_at)`;
    return sql`select id from runs where connection_id = ${this.connectionId} and ${at} ${sql.raw(op)} ${canonical}`;
  }

  /** Exact SQL for one predicate, or undefined when only the JS evaluator gets it right. */
  #predicate(collection: CollectionName, p: FilterPredicate): RawBuilder<unknown> | undefined {
    if (p.op === '~') return undefined;
    const eqOnly = p.op === '=' || p.op === '!=';
    if (p.field === 'dateLastModified') {
      const instant = parseInstant(p.value);
      if (instant === undefined) return undefined; // compileFilter has already refused it
      const canonical = formatDateTime(instant);
      if (p.op === '!=') return sql`updated_run not in (${this.#runsAt('=', canonical)})`;
      return sql`updated_run in (${this.#runsAt(p.op, canonical)})`;
    }
    // A date-like value makes the evaluator compare strings as instants: not text equality.
    if (!eqOnly || parseInstant(p.value) !== undefined) return undefined;
    const neg = p.op === '!=';
    if (p.field === 'sourcedId') return neg ? sql`sourced_id <> ${p.value}` : sql`sourced_id = ${p.value}`;
    if (p.field === 'status') {
      const match = p.value === 'active' ? sql`deleted_run is null` : p.value === 'tobedeleted' ? sql`deleted_run is not null` : FALSE_SQL;
      return neg ? sql`not (${match})` : match;
    }
    const col = columnOf(collection, p.field);
    if (col === undefined) return undefined;
    const ref = sql.ref(col.column);
    if (col.kind === 'bool') {
      const lower = p.value.toLowerCase();
      // Booleans compare with 'true'/'false' in any case; any other value equals no boolean.
      if (lower !== 'true' && lower !== 'false') return neg ? TRUE_SQL : FALSE_SQL;
      const b = lower === 'true' ? 1 : 0;
      return neg ? sql`(${ref} is null or ${ref} <> ${b})` : sql`${ref} = ${b}`;
    }
    // `!=` is the negation of `=`: an absent value passes.
    return neg ? sql`(${ref} is null or ${ref} <> ${p.value})` : sql`${ref} = ${p.value}`;
  }

  #expr(collection: CollectionName, e: FilterExpr): RawBuilder<unknown> | undefined {
    if (e.kind === 'predicate') return this.#predicate(collection, e);
    const parts: RawBuilder<unknown>[] = [];
    for (const c of e.clauses) {
      const s = this.#expr(collection, c);
      if (s === undefined) return undefined;
      parts.push(s);
    }
    if (parts.length === 0) return undefined;
    return sql`(${sql.join(parts, e.op === 'AND' ? sql` and ` : sql` or `)})`;
  }

  #pushdown(collection: CollectionName, filter: FilterExpr | undefined): Pushdown {
    if (filter === undefined) return { where: [], residual: false, selective: false };
    const selective = !onlyKeyFields(filter);
    const whole = this.#expr(collection, filter);
    if (whole !== undefined) return { where: [whole], residual: false, selective };
    if (filter.kind === 'logical' && filter.op === 'AND') {
      const where: RawBuilder<unknown>[] = [];
      for (const c of filter.clauses) {
        const s = this.#expr(collection, c);
        if (s !== undefined) where.push(s);
      }
      return { where, residual: true, selective: true };
    }
    return { where: [], residual: true, selective: true };
  }

  /** Live enrollments of this connection (joins ignore tombstoned enrollments). */
  #enrollments(select: string, conds: RawBuilder<unknown>[]): RawBuilder<unknown> {
    return sql`select ${sql.ref(select)} from live_enrollments where ${this.#where([...conds, sql`deleted_run is null`])}`;
  }

  async #scope(scope: Scope): Promise<ScopePlan> {
    switch (scope.kind) {
      case 'all':
        return { where: [] };
      case 'usersByRole':
        return { where: [sql`role = ${scope.role}`] };
      case 'orgsByType':
      case 'sessionsByType':
        return { where: [sql`type = ${scope.type}`] };
      case 'gradingPeriodsForTerm':
        return { where: [sql`parent_id = ${scope.termId}`, sql`type = 'gradingPeriod'`] };
      case 'classesForUser':
        return { where: [sql`sourced_id in (${this.#enrollments('class_id', [sql`user_id = ${scope.userId}`])})`] };
      case 'usersForClass': {
        const conds = [sql`class_id = ${scope.classId}`, sql`role = ${scope.role}`];
        if (scope.schoolId !== undefined) conds.push(sql`school_id = ${scope.schoolId}`);
        return { where: [sql`sourced_id in (${this.#enrollments('user_id', conds)})`] };
      }
      case 'classesForCourse':
        return { where: [sql`course_id = ${scope.courseId}`] };
      case 'classesForSchool':
        return { where: [sql`school_id = ${scope.schoolId}`] };
      case 'coursesForSchool':
        return { where: [sql`org_id = ${scope.schoolId}`] };
      case 'enrollmentsForSchool': {
        // enrollments.school_id has no index: one scan builds the list, pages reuse it.
        const where = [sql`school_id = ${scope.schoolId}`];
        if (scope.classId !== undefined) where.push(sql`class_id = ${scope.classId}`);
        return { where };
      }
      case 'classesForTerm': {
        const termId = scope.termId;
        return {
          where: [sql`data like ${refLikePattern(termId)} escape '\\'`],
          check: (r) => refIds(r['terms']).includes(termId),
        };
      }
      case 'usersForSchool': {
        const schoolId = scope.schoolId;
        return {
          where: [sql`role = ${scope.role}`, sql`data like ${refLikePattern(schoolId)} escape '\\'`],
          check: (r) => refIds(r['orgs']).includes(schoolId),
        };
      }
      case 'termsForSchool': {
        // The sessions the school's (live) classes list in `terms`, of any session type.
        const rows = await sql<{ data: string }>`select data from live_classes where ${this.#where([sql`school_id = ${scope.schoolId}`, sql`deleted_run is null`])}`.execute(this.#db);
        const ids = new Set<string>();
        for (const r of rows.rows) for (const id of refIds((JSON.parse(r.data) as Rec)['terms'])) ids.add(id);
        if (ids.size === 0) return { where: [FALSE_SQL] };
        return { where: [sql`sourced_id in (${sql.join([...ids])})`] };
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Cache

  /** The data version: the connection's latest run (id and end) and last retention purge. */
  async #version(): Promise<string> {
    const run = await sql<{ id: number; finished_at: string | null }>`select id, finished_at from runs where connection_id = ${this.connectionId} order by id desc limit 1`.execute(this.#db);
    const purge = await sql<{ purged_at: string }>`select purged_at from change_purges where connection_id = ${this.connectionId}`.execute(this.#db);
    const r = run.rows[0];
    return `${r?.id ?? 0}:${r?.finished_at ?? ''}:${purge.rows[0]?.purged_at ?? ''}`;
  }

  #entry(key: string, version: string): CacheEntry {
    const hit = this.#cache.get(key);
    if (hit !== undefined && hit.version === version) {
      this.#cache.delete(key);
      this.#cache.set(key, hit);
      return hit;
    }
    if (hit !== undefined) this.#drop(key, hit);
    const entry: CacheEntry = { version };
    this.#cache.set(key, entry);
    while (this.#cache.size > this.#cacheEntries) {
      const [oldKey, old] = this.#cache.entries().next().value as [string, CacheEntry];
      this.#drop(oldKey, old);
    }
    return entry;
  }

  #drop(key: string, entry: CacheEntry): void {
    if (this.#cache.get(key) === entry) this.#cache.delete(key);
    if (entry.ids !== undefined) {
      this.#cachedIds -= entry.ids.length;
      entry.ids = undefined;
    }
  }

  #keepIds(key: string, entry: CacheEntry, ids: string[]): void {
    entry.ids = ids;
    this.#cachedIds += ids.length;
    // Evict least recently used lists (never the one just built) while over the budget.
    for (const [k, e] of this.#cache) {
      if (this.#cachedIds <= this.#maxCachedIds) break;
      if (e !== entry && e.ids !== undefined) this.#drop(k, e);
    }
    if (this.#cachedIds > this.#maxCachedIds) {
      // Alone over budget: serve it, but do not keep it.
      this.#drop(key, entry);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Rows → served records

  async #loadRuns(runIds: Iterable<number>): Promise<void> {
    const missing: number[] = [];
    for (const id of new Set(runIds)) if (!this.#runTimes.has(id)) missing.push(id);
    for (let i = 0; i < missing.length; i += CHUNK) {
      const chunk = missing.slice(i, i + CHUNK);
      const res = await sql<{ id: number; started_at: string; finished_at: string | null }>`select id, started_at, finished_at from runs where id in (${sql.join(chunk)})`.execute(this.#db);
      for (const r of res.rows) {
        // Only a finished run's time is final; a running one is looked up again next time.
        if (r.finished_at !== null) this.#runTimes.set(Number(r.id), r.finished_at);
      }
    }
  }

  async #served(rows: readonly Row[]): Promise<StoredRecord[]> {
    const runs = new Set<number>();
    for (const r of rows) runs.add(Math.floor(Number(r.m) / 2));
    await this.#loadRuns(runs);
    const unfinished = new Map<number, string>();
    const out: StoredRecord[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i] as Row;
      const m = Number(r.m);
      const run = Math.floor(m / 2);
      let at = this.#runTimes.get(run);
      if (at === undefined) at = unfinished.get(run) ?? (await this.#runStart(run, unfinished));
      out[i] = { json: r.data, dateLastModified: at, status: m % 2 === 0 ? 'active' : 'tobedeleted' };
    }
    return out;
  }

  async #runStart(run: number, memo: Map<number, string>): Promise<string | undefined> {
    const res = await sql<{ started_at: string; finished_at: string | null }>`select started_at, finished_at from runs where id = ${run}`.execute(this.#db);
    const r = res.rows[0];
    if (r === undefined) return undefined; // run gone: the stored dateLastModified stays
    const at = r.finished_at ?? r.started_at;
    memo.set(run, at);
    return at;
  }

  // -------------------------------------------------------------------------------------------
  // Dataset

  /** One record by sourcedId (tombstones included, as `tobedeleted`). */
  async get(collection: CollectionName, sourcedId: string): Promise<AnyEntity | undefined> {
    const res = await sql<Row>`select ${ROW} from ${sql.table(liveTable(collection))} where ${this.#where([sql`sourced_id = ${sourcedId}`])}`.execute(this.#db);
    const row = res.rows[0];
    if (row === undefined) return undefined;
    const [served] = await this.#served([row]);
    return storedEntity(served as StoredRecord);
  }

  async query(collection: CollectionName, scope: Scope, q: DatasetQuery): Promise<QueryResult> {
    const version = await this.#version();
    const key = `${collection}\u0000${scopeKey(scope)}\u0000${q.filterText ?? ''}\u0000${q.sort ?? ''}\u0000${q.orderBy}`;
    const cacheable = q.filter === undefined || q.filterText !== undefined;
    const entry: CacheEntry = cacheable ? this.#entry(key, version) : { version };
    const push = this.#pushdown(collection, q.filter);
    const sortKind = sortKindOf(collection, q.sort);
    const direct = !LISTED_SCOPES.has(scope.kind) && !push.residual && !push.selective && sortKind === 'sourcedId';
    if (direct) {
      this.stats.direct++;
      const plan = await this.#scope(scope);
      return this.#directPage(collection, [...plan.where, ...push.where], q, entry);
    }
    this.stats.listed++;
    let ids = entry.ids;
    if (ids === undefined) {
      ids = await this.#buildList(collection, await this.#scope(scope), push, q, sortKind);
      if (cacheable) this.#keepIds(key, entry, ids);
    }
    const start = Math.min(Math.max(0, q.offset), ids.length);
    const pageIds = ids.slice(start, start + Math.max(0, q.limit));
    const rows = await this.#rowsById(collection, pageIds);
    if (rows.length < pageIds.length) this.#drop(key, entry); // rows vanished: rebuild next time
    return { total: ids.length, records: [], stored: await this.#served(rows) };
  }

  /** Direct path: one page in sourcedId order, keyset-continued when possible. */
  async #directPage(collection: CollectionName, where: RawBuilder<unknown>[], q: DatasetQuery, entry: CacheEntry): Promise<QueryResult> {
    const table = sql.table(liveTable(collection));
    const desc = q.sort === 'sourcedId' && q.orderBy === 'desc';
    if (entry.total === undefined) {
      this.stats.counts++;
      const res = await sql<{ n: number }>`select count(*) as n from ${table} where ${this.#where(where)}`.execute(this.#db);
      entry.total = Number(res.rows[0]?.n ?? 0);
    }
    const total = entry.total;
    const limit = Math.max(0, q.limit);
    const offset = Math.max(0, q.offset);
    if (limit === 0 || offset >= total) return { total, records: [], stored: [] };
    const order = sql`order by ${this.#c('sourced_id')} ${sql.raw(desc ? 'desc' : 'asc')}`;
    const after = offset === 0 ? undefined : entry.cursors?.get(offset);
    let rows: Row[];
    if (offset === 0 || after !== undefined) {
      if (after !== undefined) this.stats.keyset++;
      const conds = after === undefined ? where : [...where, desc ? sql`${this.#c('sourced_id')} < ${after}` : sql`${this.#c('sourced_id')} > ${after}`];
      rows = (await sql<Row>`select ${ROW} from ${table} where ${this.#where(conds)} ${order} limit ${limit}`.execute(this.#db)).rows;
    } else {
      this.stats.offsetScans++;
      rows = (await sql<Row>`select ${ROW} from ${table} where ${this.#where(where)} ${order} limit ${limit} offset ${offset}`.execute(this.#db)).rows;
    }
    const last = rows[rows.length - 1];
    if (last !== undefined) {
      const cursors = (entry.cursors ??= new Map());
      // The row's key is its record's sourcedId (the engine stores each record under it); one
      // parse per page is cheaper than a third column on every row.
      cursors.set(offset + rows.length, (JSON.parse(last.data) as { sourcedId: string }).sourcedId);
      if (cursors.size > MAX_CURSORS) cursors.delete(cursors.keys().next().value as number);
    }
    return { total, records: [], stored: await this.#served(rows) };
  }

  /** Rows of these sourcedIds, in the given order (missing ones left out). */
  async #rowsById(collection: CollectionName, ids: readonly string[]): Promise<Row[]> {
    if (ids.length === 0) return [];
    const table = sql.table(liveTable(collection));
    const byId = new Map<string, Row>();
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      const res = await sql<Row>`select sourced_id, ${ROW} from ${table} where ${this.#where([sql`sourced_id in (${sql.join(chunk)})`])}`.execute(this.#db);
      for (const r of res.rows) byId.set(r.sourced_id as string, r);
    }
    const out: Row[] = [];
    for (const id of ids) {
      const r = byId.get(id);
      if (r !== undefined) out.push(r);
    }
    return out;
  }

  /** The ordered sourcedIds of a query (list path). */
  async #buildList(collection: CollectionName, plan: ScopePlan, push: Pushdown, q: DatasetQuery, sortKind: SortKind): Promise<string[]> {
    this.stats.listBuilds++;
    const table = sql.table(liveTable(collection));
    const where = [...plan.where, ...push.where];
    if (plan.check === undefined && !push.residual && sortKind !== 'js') {
      // Everything in SQL: one statement, ids only.
      const res = await sql<{ sourced_id: string }>`select sourced_id from ${table} where ${this.#where(where)} order by ${this.#orderBy(collection, q)}`.execute(this.#db);
      return res.rows.map((r) => r.sourced_id);
    }
    const match = push.residual && q.filter !== undefined ? compileFilter(q.filter, { isKnownField: (path) => isKnownFieldPath(collection, path) }) : undefined;
    const sortTop = sortKind === 'js' && q.sort !== undefined ? (q.sort.split('.')[0] as string) : undefined;
    const kept: Rec[] = [];
    let after: string | undefined;
    for (;;) {
      const conds = after === undefined ? where : [...where, sql`${this.#c('sourced_id')} > ${after}`];
      const res = await sql<Row>`select sourced_id, ${ROW} from ${table} where ${this.#where(conds)} order by ${this.#c('sourced_id')} limit ${SCAN_CHUNK}`.execute(this.#db);
      const rows = res.rows;
      if (rows.length === 0) break;
      const served = await this.#served(rows);
      for (let i = 0; i < rows.length; i++) {
        const rec = storedEntity(served[i] as StoredRecord) as unknown as Rec;
        this.stats.parsed++;
        if (plan.check !== undefined && !plan.check(rec)) continue;
        if (match !== undefined && !match(rec)) continue;
        // Sorting needs only the id and the sort field: keep projections, not whole records.
        kept.push(sortTop === undefined ? { sourcedId: rec['sourcedId'] } : { sourcedId: rec['sourcedId'], [sortTop]: rec[sortTop] });
      }
      after = (rows[rows.length - 1] as Row).sourced_id as string;
      if (rows.length < SCAN_CHUNK) break;
    }
    // MemoryDataset's own ordering (sourcedId tie-break, missing values last, desc reversal).
    const ordered = new MemoryDataset(new ArraySource({ [collection]: kept as unknown as AnyEntity[] })).list(collection, { kind: 'all' }, {
      sort: q.sort,
      orderBy: q.orderBy,
    });
    return ordered.map((r) => r.sourcedId);
  }

  /** ORDER BY matching MemoryDataset's order for a sort SQL can reproduce (`sortKindOf` !== 'js'). */
  #orderBy(collection: CollectionName, q: DatasetQuery): RawBuilder<unknown> {
    const id = this.#c('sourced_id');
    const sort = q.sort;
    const desc = q.orderBy === 'desc';
    if (sort === undefined || sort === '' || sort === 'sourcedId') return sql`${id} ${sql.raw(sort === 'sourcedId' && desc ? 'desc' : 'asc')}`;
    const dir = sql.raw(desc ? 'desc' : 'asc');
    if (sort === 'status') return sql`case when deleted_run is null then 0 else 1 end ${dir}, ${id} asc`;
    const col = columnOf(collection, sort) as FieldColumn;
    const c = col.kind === 'bool' ? sql.ref(col.column) : this.#c(col.column);
    // Missing values last in both directions; ties in sourcedId order.
    return sql`case when ${sql.ref(col.column)} is null then 1 else 0 end asc, ${c} ${dir}, ${id} asc`;
  }
}

type SortKind = 'sourcedId' | 'sql' | 'js';

/** How a sort can be done: by sourcedId (direct path), by a typed column in SQL, or in JS. */
function sortKindOf(collection: CollectionName, sort: string | undefined): SortKind {
  if (sort === undefined || sort === '' || sort === 'sourcedId') return 'sourcedId';
  if (sort === 'status') return 'sql';
  return columnOf(collection, sort) !== undefined ? 'sql' : 'js';
}

/** True when the filter only tests sourcedId and status (cheap, index-friendly conditions). */
function onlyKeyFields(e: FilterExpr): boolean {
  if (e.kind === 'predicate') return e.field === 'sourcedId' || e.field === 'status';
  return e.clauses.every(onlyKeyFields);
}
