/**
 * Strict parsing of a OneRoster collection read's query parameters (oneroster-spec-notes §2):
 * `limit`, `offset`, `sort`, `orderBy`, `fields`, `filter`. Pure: the server maps a thrown
 * `QueryParamError` to a 1.1 failure body (`imsx.ts`) and passes `warnings` on as a
 * `statusInfoSet` beside the data.
 *
 * 1.1 behaviours chosen here (§2.1, §2.2, §2.6): unknown sort field → default order + warning;
 * unknown selection field → all fields + warning; blank `fields=` → 400; unknown filter field →
 * 400. Limits over the server's maximum are clamped, not rejected (Ed-Fi; "a server may return
 * fewer records than requested"). Other parameters (access tokens, OAuth 1 params) are ignored.
 */
import type { CollectionName } from './types.ts';
import { KNOWN_FIELDS, isKnownFieldPath } from './field-catalog.ts';
import { compileFilter, FilterError, parseFilter, type FilterExpr } from './filter-grammar.ts';
import { warningStatus, type StatusInfo } from './imsx.ts';

export type QueryValue = string | string[] | undefined;
export type RawQuery = Record<string, QueryValue>;

export type QueryParamCodeMinor = 'invaliddata' | 'invalid_filter_field' | 'invalid_blank_selection_field';

/** A query the server must refuse with HTTP 400; `param` names the offending parameter. */
export class QueryParamError extends Error {
  readonly codeMinor: QueryParamCodeMinor;
  readonly param: string;
  /** The unknown filter field, for `invalid_filter_field`. */
  readonly field?: string;
  /** Always 400: every query-parameter problem is a bad request (§1.4, 400 vs 422). */
  readonly httpStatus = 400;

  constructor(codeMinor: QueryParamCodeMinor, param: string, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'QueryParamError';
    this.codeMinor = codeMinor;
    this.param = param;
    if (options.field !== undefined) this.field = options.field;
  }
}

export interface CollectionQuery {
  limit: number;
  offset: number;
  /** A known field path to sort by; absent when none was asked for or it was unknown. */
  sort?: string;
  orderBy: 'asc' | 'desc';
  /** Top-level fields to return; absent = all fields. */
  fields?: string[];
  filter?: FilterExpr;
  /** The filter text as received (decoded), for logs and cache keys. */
  filterText?: string;
  /** 1.1 success/warning entries (`invalid_sort_field`, `invalid_selection_field`). */
  warnings: StatusInfo[];
}

export interface CollectionQueryOptions {
  collection: CollectionName;
  /** Used when `limit` is absent. The spec default is 100. */
  defaultLimit?: number;
  /** Larger limits are clamped to this. */
  maxLimit: number;
}

/** The value of a parameter that may appear at most once; throws on repetition. */
function single(query: RawQuery, name: string): string | undefined {
  const v = query[name];
  if (Array.isArray(v)) {
    if (v.length === 0) return undefined;
    if (v.length > 1) throw new QueryParamError('invaliddata', name, `The ${name} parameter may be given only once`);
    return v[0];
  }
  return v;
}

/** A decimal integer made of ASCII digits only: no sign, blanks, exponent or fraction. */
function parseDigits(name: string, text: string): number {
  if (text.length === 0) throw new QueryParamError('invaliddata', name, `The ${name} parameter is empty; expected a whole number`);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) {
      throw new QueryParamError('invaliddata', name, `The ${name} parameter must be a whole number of digits, got ${JSON.stringify(text.slice(0, 40))}`);
    }
  }
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new QueryParamError('invaliddata', name, `The ${name} parameter is too large`);
  return n;
}

/** Splits a `fields` value (comma-separated; repeated parameters are OAS `style: form` and are merged). */
function parseFields(
  collection: CollectionName,
  raw: QueryValue,
  warnings: StatusInfo[],
): string[] | undefined {
  if (raw === undefined) return undefined;
  const parts = (Array.isArray(raw) ? raw : [raw]).flatMap((s) => s.split(','));
  const names: string[] = [];
  for (const p of parts) {
    const name = p.trim();
    if (name !== '' && !names.includes(name)) names.push(name);
  }
  if (names.length === 0) {
    throw new QueryParamError('invalid_blank_selection_field', 'fields', 'The fields parameter is blank; name at least one field or leave it out');
  }
  const known = KNOWN_FIELDS[collection];
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    // 1.1: "ALL data for the record is returned" plus a warning naming the field (§2.2).
    warnings.push(warningStatus('invalid_selection_field', `Unknown selection field${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}; all fields are returned`));
    return undefined;
  }
  return names;
}

/** Parses `fields` for a single-object read (the only parameter those take, §2). */
export function parseSingleQuery(query: RawQuery, opts: { collection: CollectionName }): { fields?: string[]; warnings: StatusInfo[] } {
  const warnings: StatusInfo[] = [];
  const fields = parseFields(opts.collection, query['fields'], warnings);
  return fields === undefined ? { warnings } : { fields, warnings };
}

/**
 * Parses and validates a collection read's query.
 * @throws QueryParamError (HTTP 400) for: non-digit, empty, repeated or zero `limit`; non-digit,
 *   empty or repeated `offset`; repeated `sort` or `orderBy`; `orderBy` other than asc/desc (any
 *   case); blank `fields`; repeated, malformed (`invaliddata`) or unknown-field
 *   (`invalid_filter_field`) `filter`.
 */
export function parseCollectionQuery(query: RawQuery, opts: CollectionQueryOptions): CollectionQuery {
  const warnings: StatusInfo[] = [];

  const limitText = single(query, 'limit');
  let limit = opts.defaultLimit ?? 100;
  if (limitText !== undefined) {
    limit = parseDigits('limit', limitText);
    if (limit === 0) throw new QueryParamError('invaliddata', 'limit', 'The limit parameter must be at least 1');
  }
  if (limit > opts.maxLimit) limit = opts.maxLimit;

  const offsetText = single(query, 'offset');
  const offset = offsetText === undefined ? 0 : parseDigits('offset', offsetText);

  const orderText = single(query, 'orderBy');
  let orderBy: 'asc' | 'desc' = 'asc';
  if (orderText !== undefined && orderText.trim() !== '') {
    const o = orderText.trim().toLowerCase();
    if (o !== 'asc' && o !== 'desc') {
      throw new QueryParamError('invaliddata', 'orderBy', `The orderBy parameter must be asc or desc, got ${JSON.stringify(orderText.slice(0, 20))}`);
    }
    orderBy = o;
  }

  const out: CollectionQuery = { limit, offset, orderBy, warnings };

  const sortText = single(query, 'sort')?.trim();
  if (sortText !== undefined && sortText !== '') {
    if (isKnownFieldPath(opts.collection, sortText)) out.sort = sortText;
    else warnings.push(warningStatus('invalid_sort_field', `Unknown sort field: ${sortText}; data is returned in the default order`));
  }

  const fields = parseFields(opts.collection, query['fields'], warnings);
  if (fields !== undefined) out.fields = fields;

  const filterText = single(query, 'filter');
  // A blank filter is treated as no filter: some client libraries always send `filter=`.
  if (filterText !== undefined && filterText.trim() !== '') {
    try {
      const filter = parseFilter(filterText);
      compileFilter(filter, { isKnownField: (p) => isKnownFieldPath(opts.collection, p) }); // validates fields and date values
      out.filter = filter;
      out.filterText = filterText;
    } catch (e) {
      if (e instanceof FilterError) {
        throw new QueryParamError(e.codeMinor, 'filter', e.message, {
          cause: e,
          ...(e.codeMinor === 'invalid_filter_field' && e.field !== undefined ? { field: e.field } : {}),
        });
      }
      throw e;
    }
  }
  return out;
}
