import type { FilterExpr } from '../oneroster/filter-grammar.ts';
import type { AnyEntity, CollectionName } from '../oneroster/types.ts';
import type { StoredRecord } from './stored-json.ts';

/**
 * The query port of the provider server: what the HTTP layer asks of whatever holds the records.
 * `MemoryDataset` implements it over a `RecordSource` (the simulator); a store-backed dataset can
 * implement it in SQL later, which is why scopes are plain data (each maps to a WHERE/JOIN) and
 * the filter arrives as a parsed expression, not a closure.
 */

/**
 * Which records of a collection an endpoint covers before `filter` applies (spec notes §1.2,
 * "Semantics to implement in a mock server"). Ids are sourcedIds of the path parameters.
 */
export type Scope =
  | { kind: 'all' }
  /** `/students`, `/teachers`: users with this `role`. */
  | { kind: 'usersByRole'; role: string }
  /** `/schools`: orgs with this `type`. */
  | { kind: 'orgsByType'; type: string }
  /** `/terms`, `/gradingPeriods`: academicSessions with this `type`. */
  | { kind: 'sessionsByType'; type: string }
  /** `/terms/{t}/gradingPeriods`: gradingPeriods whose `parent` is the term. */
  | { kind: 'gradingPeriodsForTerm'; termId: string }
  /** `/users|students|teachers/{u}/classes`: classes with an enrollment of the user. */
  | { kind: 'classesForUser'; userId: string }
  /** `/classes/{c}/students|teachers` (and the school variant): users enrolled in the class with `role`. */
  | { kind: 'usersForClass'; classId: string; role: string; schoolId?: string }
  /** `/courses/{c}/classes` */
  | { kind: 'classesForCourse'; courseId: string }
  /** `/schools/{s}/classes` */
  | { kind: 'classesForSchool'; schoolId: string }
  /** `/terms/{t}/classes`: classes whose `terms` include the term. */
  | { kind: 'classesForTerm'; termId: string }
  /** `/schools/{s}/courses`: courses whose `org` is the school. */
  | { kind: 'coursesForSchool'; schoolId: string }
  /** `/schools/{s}/enrollments`, `/schools/{s}/classes/{c}/enrollments`. */
  | { kind: 'enrollmentsForSchool'; schoolId: string; classId?: string }
  /** `/schools/{s}/students|teachers`: users with `role` whose `orgs` include the school. */
  | { kind: 'usersForSchool'; schoolId: string; role: string }
  /**
   * `/schools/{s}/terms`: the sessions the school's classes list in `terms` (MS demo: "terms that
   * are used by this school"), of any session type.
   */
  | { kind: 'termsForSchool'; schoolId: string };

export interface DatasetQuery {
  /** Zero-based index of the first record to return. */
  offset: number;
  /** Maximum number of records to return (already clamped by the caller). */
  limit: number;
  /** Top-level field to order by; records tie-break on sourcedId ascending. */
  sort?: string | undefined;
  orderBy: 'asc' | 'desc';
  /** Parsed filter. */
  filter?: FilterExpr | undefined;
  /** The filter's text; a cache key for datasets that cache results. */
  filterText?: string | undefined;
}

export interface QueryResult {
  /** Number of records matching scope and filter (the `X-Total-Count`, spec notes §2.4). */
  total: number;
  /** The requested page, in order. */
  records: readonly AnyEntity[];
  /**
   * The page as stored canonical JSON text instead (a store-backed dataset): when present the server
   * serialises these and ignores `records`, so the text is never parsed (see stored-json.ts).
   */
  stored?: readonly StoredRecord[];
}

/**
 * Answers collection queries and single reads. Methods may be synchronous or async. A dataset
 * throws `FilterError` (from `oneroster/filter-grammar.ts`) for filters it cannot evaluate.
 */
export interface Dataset {
  query(collection: CollectionName, scope: Scope, q: DatasetQuery): QueryResult | Promise<QueryResult>;
  get(collection: CollectionName, sourcedId: string): AnyEntity | undefined | Promise<AnyEntity | undefined>;
}

/** A stable text key for a scope (used in cache keys). */
export function scopeKey(scope: Scope): string {
  switch (scope.kind) {
    case 'all':
      return 'all';
    case 'usersByRole':
      return `role:${scope.role}`;
    case 'orgsByType':
    case 'sessionsByType':
      return `${scope.kind}:${scope.type}`;
    case 'gradingPeriodsForTerm':
    case 'classesForTerm':
      return `${scope.kind}:${scope.termId}`;
    case 'classesForUser':
      return `${scope.kind}:${scope.userId}`;
    case 'usersForClass':
      return `${scope.kind}:${scope.classId}:${scope.role}:${scope.schoolId ?? ''}`;
    case 'classesForCourse':
      return `${scope.kind}:${scope.courseId}`;
    case 'classesForSchool':
    case 'coursesForSchool':
    case 'termsForSchool':
      return `${scope.kind}:${scope.schoolId}`;
    case 'enrollmentsForSchool':
      return `${scope.kind}:${scope.schoolId}:${scope.classId ?? ''}`;
    case 'usersForSchool':
      return `${scope.kind}:${scope.schoolId}:${scope.role}`;
  }
}
