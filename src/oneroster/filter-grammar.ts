/**
 * The OneRoster `filter` query parameter: parse, validate, evaluate and build (oneroster-spec-notes §2.3).
 *
 *   filter    := predicate ( WS+ ("AND" | "OR") WS+ predicate )*     WS = space, tab, newline or +
 *   predicate := field WS* op WS* "'" value "'"
 *   field     := name ( "." name )*            e.g. orgs.sourcedId, metadata.vendor.flag
 *   op        := "=" | "!=" | ">" | ">=" | "<" | "<=" | "~"
 *   value     := any text; a single quote inside is written doubled ('O''Brien')
 *
 * 1.1 allows only two predicates; we accept any number (Ed-Fi, a certified 1.2 provider, accepts
 * 20 with AND/OR mixed and no parentheses) and give AND the usual tighter binding. Clients should
 * still emit at most two for portability (§9.1). Values must be quoted: the SDS docs show
 * typographic quotes (’active’) that come from copy/paste, and accepting them silently would hide
 * the mistake, so they are rejected with a message naming the position.
 */
import { DATE_FIELDS } from './types.ts';
import { formatDateTime, parseInstant } from './dates.ts';

export { KNOWN_FIELDS, REF_FIELDS, isKnownFieldPath } from './field-catalog.ts';

export type FilterOp = '=' | '!=' | '>' | '>=' | '<' | '<=' | '~';

/** One `field op 'value'` comparison. `field` is a dotted path, e.g. `orgs.sourcedId`. */
export interface FilterPredicate {
  kind: 'predicate';
  field: string;
  op: FilterOp;
  value: string;
}

export interface FilterLogical {
  kind: 'logical';
  op: 'AND' | 'OR';
  clauses: FilterExpr[];
}

export type FilterExpr = FilterPredicate | FilterLogical;

/**
 * A filter the server must refuse with HTTP 400 (§2.6): `invaliddata` for bad syntax or a value
 * a date field cannot compare with, `invalid_filter_field` (with `field`) for an unknown field.
 * Messages carry positions and field names but never the filter's values (they may be emails).
 */
export class FilterError extends Error {
  readonly codeMinor: 'invalid_filter_field' | 'invaliddata';
  readonly field?: string;
  /** 1-based character position in the filter text, for syntax errors. */
  readonly position?: number;

  constructor(
    codeMinor: 'invalid_filter_field' | 'invaliddata',
    message: string,
    details: { field?: string; position?: number } = {},
  ) {
    super(message);
    this.name = 'FilterError';
    this.codeMinor = codeMinor;
    if (details.field !== undefined) this.field = details.field;
    if (details.position !== undefined) this.position = details.position;
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing

/**
 * Whitespace between tokens. `+` counts too: form encoders turn spaces into `+`, and a server that
 * decoded the query with decodeURIComponent leaves them (§2.3 "server must accept both"). Outside
 * quotes `+` has no other meaning; inside a value it is kept as sent.
 */
function isSpace(c: number): boolean {
  return c === 32 || c === 43 || c === 9 || c === 10 || c === 13;
}

/** Field-name characters: letters, digits, `_`, `-`, `$`, `:` (metadata keys such as `ext:x`). */
function isNameChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) ||
    c === 95 || c === 45 || c === 36 || c === 58
  );
}

/** Typographic quotes and look-alikes that copy/paste puts where `'` belongs. */
const LOOKALIKE_QUOTES = new Set(['\u2018', '\u2019', '\u201A', '\u201B', '\u2032', '\u00B4', '`']);
const LOOKALIKE_DOUBLE = new Set(['"', '\u201C', '\u201D', '\u201E', '\u2033']);

function syntaxError(message: string, index: number, field?: string): FilterError {
  const position = index + 1;
  return new FilterError('invaliddata', `Invalid filter at position ${position}: ${message}`, {
    position,
    ...(field !== undefined ? { field } : {}),
  });
}

function describeQuote(ch: string): string | undefined {
  if (LOOKALIKE_QUOTES.has(ch)) return `found the character ${JSON.stringify(ch)}; values must be in ASCII single quotes (')`;
  if (LOOKALIKE_DOUBLE.has(ch)) return `found a double quote; values must be in ASCII single quotes (')`;
  return undefined;
}

/**
 * Parses filter text (already URL-decoded) into an expression tree. AND binds tighter than OR;
 * a lone predicate is returned as itself; a run of one operator becomes one flat logical node.
 * @throws FilterError with codeMinor `invaliddata` naming the 1-based position of the problem.
 */
export function parseFilter(text: string): FilterExpr {
  const n = text.length;
  let i = 0;
  while (i < n && isSpace(text.charCodeAt(i))) i++;
  if (i === n) throw syntaxError('the filter is empty; expected field op \'value\'', i);

  const orGroups: FilterPredicate[][] = [[]];
  for (;;) {
    // field
    const fieldStart = i;
    while (i < n && (isNameChar(text.charCodeAt(i)) || text.charCodeAt(i) === 46)) i++;
    const field = text.slice(fieldStart, i);
    if (field === '') {
      const ch = text[i] as string;
      const quote = describeQuote(ch);
      throw syntaxError(quote ?? `expected a field name, found ${JSON.stringify(ch)}`, i);
    }
    if (field.startsWith('.') || field.endsWith('.') || field.includes('..')) {
      throw syntaxError(`field name '${field}' has an empty segment`, fieldStart, field);
    }
    while (i < n && isSpace(text.charCodeAt(i))) i++;

    // operator
    const c0 = text.charCodeAt(i);
    const c1 = text.charCodeAt(i + 1);
    let op: FilterOp;
    if (c0 === 33 /* ! */ && c1 === 61) op = '!=';
    else if (c0 === 62 /* > */) op = c1 === 61 ? '>=' : '>';
    else if (c0 === 60 /* < */) op = c1 === 61 ? '<=' : '<';
    else if (c0 === 61 /* = */) op = '=';
    else if (c0 === 126 /* ~ */) op = '~';
    else {
      const found = i < n ? `found ${JSON.stringify(text[i])}` : 'found the end of the filter';
      throw syntaxError(`expected an operator (=, !=, >, >=, <, <=, ~) after field '${field}', ${found}`, i, field);
    }
    i += op.length;
    while (i < n && isSpace(text.charCodeAt(i))) i++;

    // value
    if (i >= n) throw syntaxError(`expected a quoted value for field '${field}', found the end of the filter`, i, field);
    if (text.charCodeAt(i) !== 39 /* ' */) {
      const quote = describeQuote(text[i] as string);
      throw syntaxError(
        quote ?? `the value for field '${field}' must be in single quotes, e.g. ${field}${op}'value'`,
        i,
        field,
      );
    }
    const valueStart = i;
    i++;
    let value = '';
    let chunk = i;
    for (;;) {
      if (i >= n) throw syntaxError(`the value for field '${field}' has no closing quote`, valueStart, field);
      if (text.charCodeAt(i) === 39) {
        if (text.charCodeAt(i + 1) === 39) {
          value += text.slice(chunk, i + 1); // keep one quote of the doubled pair
          i += 2;
          chunk = i;
          continue;
        }
        value += text.slice(chunk, i);
        i++;
        break;
      }
      i++;
    }
    (orGroups[orGroups.length - 1] as FilterPredicate[]).push({ kind: 'predicate', field, op, value });

    // logical operator or end
    const wsStart = i;
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    if (i === n) break;
    if (i === wsStart) {
      throw syntaxError(`unexpected ${JSON.stringify(text[i])} after the value of '${field}'; expected AND, OR or the end of the filter`, i);
    }
    let wordEnd = i;
    while (wordEnd < n && !isSpace(text.charCodeAt(wordEnd))) wordEnd++;
    const word = text.slice(i, wordEnd);
    if (word !== 'AND' && word !== 'OR') {
      const upper = word.toUpperCase();
      if (upper === 'AND' || upper === 'OR') {
        throw syntaxError(`logical operators must be upper-case (${upper}), found '${word}'`, i);
      }
      throw syntaxError('unexpected text; expected AND, OR or the end of the filter', i);
    }
    i = wordEnd;
    const afterWord = i;
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    if (i === n) throw syntaxError(`the filter ends after ${word}; expected another predicate`, afterWord);
    if (word === 'OR') orGroups.push([]);
  }

  const disjuncts: FilterExpr[] = orGroups.map((group) =>
    group.length === 1 ? (group[0] as FilterPredicate) : { kind: 'logical', op: 'AND', clauses: group },
  );
  return disjuncts.length === 1 ? (disjuncts[0] as FilterExpr) : { kind: 'logical', op: 'OR', clauses: disjuncts };
}

/** The distinct field paths an expression mentions, in order of first appearance. */
export function filterFieldPaths(expr: FilterExpr): string[] {
  const out = new Set<string>();
  const walk = (e: FilterExpr): void => {
    if (e.kind === 'predicate') out.add(e.field);
    else for (const c of e.clauses) walk(c);
  };
  walk(expr);
  return [...out];
}

// ---------------------------------------------------------------------------------------------
// Evaluation

type Matcher = (record: object) => boolean;
/** Three-way comparison of a record value with the filter value; NaN = not comparable (→ false). */
type Comparator = (v: unknown) => number;

/** `-?digits(.digits)?` as a number, else undefined. No exponents, hex or blanks (Number('') is 0). */
function parseDecimal(s: string): number | undefined {
  const n = s.length;
  let i = s.charCodeAt(0) === 45 ? 1 : 0;
  const intStart = i;
  while (i < n && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
  if (i === intStart) return undefined;
  if (i < n) {
    if (s.charCodeAt(i) !== 46) return undefined;
    i++;
    const fracStart = i;
    while (i < n && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
    if (i === fracStart || i !== n) return undefined;
  }
  return Number(s);
}

function cmpStr(a: string, b: string): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

function cmpNum(a: number, b: number): number {
  return a === b ? 0 : a < b ? -1 : a > b ? 1 : NaN;
}

/** `YYYY-MM-DDTHH:mm:ss.SSSZ` layout: such strings order exactly like their instants. */
function isCanonicalDateTime(s: string): boolean {
  return s.length === 24 && s.charCodeAt(23) === 90 && s.charCodeAt(19) === 46 && s.charCodeAt(10) === 84;
}

function isDateOnlyLayout(s: string): boolean {
  return s.length === 10 && s.charCodeAt(4) === 45 && s.charCodeAt(7) === 45;
}

/**
 * Builds the comparator for one predicate (op `=` also serves `!=`, which is its negation).
 * Everything about the filter value — its instant, number, boolean and lower-case forms — is
 * computed here once, so the per-record work is a few type checks and one comparison.
 */
function makeComparator(field: string, op: FilterOp, value: string, dateField: boolean): Comparator {
  if (op === '~') {
    // Contains, case-insensitive (Ed-Fi ILIKE, MS demo lower-cases both sides; §2.3).
    const needle = value.toLowerCase();
    return (v) => {
      const s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
      return s !== undefined && s.toLowerCase().includes(needle) ? 0 : NaN;
    };
  }

  const instant = parseInstant(value);
  if (dateField && instant === undefined) {
    throw new FilterError(
      'invaliddata',
      `The filter value for date field '${field}' is not an ISO 8601 date or datetime (e.g. 2024-08-01 or 2024-08-01T00:00:00Z)`,
      { field },
    );
  }
  const canonicalInstant = instant !== undefined ? formatDateTime(instant) : undefined;
  const valueIsDateOnly = instant !== undefined && value.length === 10;
  const num = parseDecimal(value);
  const lower = value.toLowerCase();
  const bool = lower === 'true' ? true : lower === 'false' ? false : undefined;
  const ordering = op !== '=';

  return (v) => {
    if (typeof v === 'string') {
      if (instant !== undefined) {
        // Fast paths: canonical datetimes and plain dates order like their instants.
        if (canonicalInstant !== undefined && isCanonicalDateTime(v)) return cmpStr(v, canonicalInstant);
        if (valueIsDateOnly && isDateOnlyLayout(v)) return cmpStr(v, value);
        const t = parseInstant(v);
        if (t !== undefined) return cmpNum(t, instant);
        if (dateField) return NaN; // a date field holding junk matches nothing
      }
      if (ordering && num !== undefined) {
        const x = parseDecimal(v);
        if (x !== undefined) return cmpNum(x, num);
      }
      return cmpStr(v, value);
    }
    if (typeof v === 'number') {
      return num !== undefined ? cmpNum(v, num) : cmpStr(String(v), value);
    }
    if (typeof v === 'boolean') {
      // Booleans compare with 'true'/'false' text, any case; they have no order.
      return !ordering && bool !== undefined ? (v === bool ? 0 : 1) : NaN;
    }
    return NaN;
  };
}

const OP_TESTS: Record<Exclude<FilterOp, '!='>, (c: number) => boolean> = {
  '=': (c) => c === 0,
  '~': (c) => c === 0,
  '>': (c) => c > 0,
  '>=': (c) => c >= 0,
  '<': (c) => c < 0,
  '<=': (c) => c <= 0,
};

/**
 * Tests a value found at the end of a path. Arrays match when any element does (§2.3, `orgs.sourcedId`);
 * a GUIDRef object at the end of the path compares by its `sourcedId` (`school='s1'`).
 */
function matchLeaf(v: unknown, cmp: Comparator, test: (c: number) => boolean): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'object') {
    if (Array.isArray(v)) {
      for (const el of v) if (matchLeaf(el, cmp, test)) return true;
      return false;
    }
    const id = (v as { sourcedId?: unknown }).sourcedId;
    return typeof id === 'string' && test(cmp(id));
  }
  return test(cmp(v));
}

function matchPath(v: unknown, segments: readonly string[], at: number, cmp: Comparator, test: (c: number) => boolean): boolean {
  if (at === segments.length) return matchLeaf(v, cmp, test);
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) {
    for (const el of v) if (matchPath(el, segments, at, cmp, test)) return true;
    return false;
  }
  return matchPath((v as Record<string, unknown>)[segments[at] as string], segments, at + 1, cmp, test);
}

function compilePredicate(p: FilterPredicate): Matcher {
  const segments = p.field.split('.');
  const last = segments[segments.length - 1] as string;
  const negate = p.op === '!=';
  const op: Exclude<FilterOp, '!='> = p.op === '!=' ? '=' : p.op;
  const cmp = makeComparator(p.field, op, p.value, DATE_FIELDS.has(last));
  const test = OP_TESTS[op];
  let positive: Matcher;
  if (segments.length === 1) {
    const key = p.field;
    positive = (r) => matchLeaf((r as Record<string, unknown>)[key], cmp, test);
  } else {
    positive = (r) => matchPath(r, segments, 0, cmp, test);
  }
  // `!=` is the negation of `=` over the whole path: a missing field, an empty array, or an array with
  // no element equal to the value all pass. ("not in org x" must not match a user who is in org x.)
  return negate ? (r) => !positive(r) : positive;
}

function compileExpr(expr: FilterExpr): Matcher {
  if (expr.kind === 'predicate') return compilePredicate(expr);
  const parts = expr.clauses.map(compileExpr);
  if (parts.length === 0) throw new FilterError('invaliddata', `Empty ${expr.op} clause in filter`);
  if (parts.length === 1) return parts[0] as Matcher;
  if (parts.length === 2) {
    const [a, b] = parts as [Matcher, Matcher];
    return expr.op === 'AND' ? (r) => a(r) && b(r) : (r) => a(r) || b(r);
  }
  if (expr.op === 'AND') {
    return (r) => {
      for (const m of parts) if (!m(r)) return false;
      return true;
    };
  }
  return (r) => {
    for (const m of parts) if (m(r)) return true;
    return false;
  };
}

/**
 * Compiles an expression into a record predicate. Semantics (§2.3): dotted paths walk objects and
 * match if ANY array element matches; `~` is case-insensitive contains; `=`/`!=` on strings are
 * exact; booleans compare with 'true'/'false' in any case; date fields (`DATE_FIELDS`) and values
 * that look like ISO dates compare as instants (date-only = midnight UTC, any precision or
 * offset); ordering ops compare numerically when both sides are decimals; a missing field makes
 * every op false except `!=`.
 * @throws FilterError `invalid_filter_field` naming the first unknown field, or `invaliddata` when
 *   a date field is compared with a value that is not a date.
 */
export function compileFilter(
  expr: FilterExpr,
  options: { isKnownField: (path: string) => boolean },
): (record: object) => boolean {
  for (const field of filterFieldPaths(expr)) {
    if (!options.isKnownField(field)) {
      throw new FilterError('invalid_filter_field', `Unknown filter field: ${field}`, { field });
    }
  }
  return compileExpr(expr);
}

// ---------------------------------------------------------------------------------------------
// Building (clients)

/** Quotes a value for a filter: wraps it in single quotes and doubles any quote inside. */
export function quoteFilterValue(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A value a builder accepts: Dates become `YYYY-MM-DDTHH:mm:ss.SSSZ`, numbers and booleans their text. */
export type FilterValue = string | number | boolean | Date;

function valueText(value: FilterValue): string {
  return value instanceof Date ? formatDateTime(value.getTime()) : String(value);
}

function pred(field: string, op: FilterOp, value: FilterValue): FilterPredicate {
  return { kind: 'predicate', field, op, value: valueText(value) };
}

/** `field='value'` */
export const eq = (field: string, value: FilterValue): FilterPredicate => pred(field, '=', value);
/** `field!='value'` */
export const ne = (field: string, value: FilterValue): FilterPredicate => pred(field, '!=', value);
/** `field>'value'` */
export const gt = (field: string, value: FilterValue): FilterPredicate => pred(field, '>', value);
/** `field>='value'` */
export const ge = (field: string, value: FilterValue): FilterPredicate => pred(field, '>=', value);
/** `field<'value'` */
export const lt = (field: string, value: FilterValue): FilterPredicate => pred(field, '<', value);
/** `field<='value'` */
export const le = (field: string, value: FilterValue): FilterPredicate => pred(field, '<=', value);
/** `field~'value'` (case-insensitive contains) */
export const contains = (field: string, value: FilterValue): FilterPredicate => pred(field, '~', value);
/** All of the clauses. */
export const and = (first: FilterExpr, ...rest: FilterExpr[]): FilterLogical => ({ kind: 'logical', op: 'AND', clauses: [first, ...rest] });
/** Any of the clauses. */
export const or = (first: FilterExpr, ...rest: FilterExpr[]): FilterLogical => ({ kind: 'logical', op: 'OR', clauses: [first, ...rest] });

/** Disjunctive normal form: the grammar has no parentheses, so AND-over-OR must be distributed. */
function toDnf(expr: FilterExpr): FilterPredicate[][] {
  if (expr.kind === 'predicate') return [[expr]];
  if (expr.clauses.length === 0) throw new Error(`Cannot build a filter from an empty ${expr.op} clause`);
  if (expr.op === 'OR') return expr.clauses.flatMap(toDnf);
  let acc: FilterPredicate[][] = [[]];
  for (const clause of expr.clauses) {
    const next: FilterPredicate[][] = [];
    for (const left of acc) for (const right of toDnf(clause)) next.push([...left, ...right]);
    acc = next;
  }
  return acc;
}

/**
 * Builds filter text from expressions (several arguments are ANDed), e.g.
 * `buildFilter(eq('status', 'active'), gt('dateLastModified', since))` →
 * `status='active' AND dateLastModified>'2024-08-01T00:00:00.000Z'`. Values are quoted and escaped.
 * An AND over an OR is distributed, since the grammar has no parentheses. The result still needs
 * URL-encoding when put in a query string. Keep to two predicates for 1.1 providers (§2.3).
 */
export function buildFilter(first: FilterExpr, ...rest: FilterExpr[]): string {
  const expr = rest.length === 0 ? first : and(first, ...rest);
  return toDnf(expr)
    .map((conj) => conj.map((p) => `${p.field}${p.op}${quoteFilterValue(p.value)}`).join(' AND '))
    .join(' OR ');
}
