/**
 * Records → OneRoster 1.1 wire JSON (oneroster-spec-notes §3). Used by the provider server for
 * pages of up to thousands of records, so it makes one shallow object per record and touches
 * only the reference fields.
 *
 * The server also serves the simulator's deliberately dirty records "as they are"
 * (`serve/record-source.ts`): properties are copied through whatever their values, and only
 * GUIDRef-shaped values get `href`s. `undefined` properties are omitted (absent); explicit `null`s
 * are kept, so a fault-injecting simulator can send them.
 */
import type { CollectionName } from './types.ts';
import { REF_FIELDS } from './field-catalog.ts';

/** Endpoint path segment for each GUIDRef `type` (§1.2, §3.3). */
export const REF_TYPE_PATHS: Readonly<Record<string, string>> = {
  academicSession: 'academicSessions',
  term: 'terms',
  gradingPeriod: 'gradingPeriods',
  org: 'orgs',
  school: 'schools',
  course: 'courses',
  class: 'classes',
  user: 'users',
  student: 'students',
  teacher: 'teachers',
  enrollment: 'enrollments',
  demographics: 'demographics',
  resource: 'resources',
  category: 'categories',
  lineItem: 'lineItems',
  result: 'results',
};

/** The collection path a GUIDRef of `type` points into; unknown types get a naive plural. */
export function pathFor(type: string): string {
  return REF_TYPE_PATHS[type] ?? `${type}s`;
}

type Obj = Record<string, unknown>;

function wireRef(ref: unknown, impliedType: string, base: string): unknown {
  if (typeof ref !== 'object' || ref === null || Array.isArray(ref)) return ref;
  const r = ref as Obj;
  const id = r['sourcedId'];
  if (typeof id !== 'string') return ref;
  const type = typeof r['type'] === 'string' && r['type'] !== '' ? (r['type'] as string) : impliedType;
  // Wire order as in the spec examples: href, sourcedId, type.
  return { href: `${base}/${pathFor(type)}/${encodeURIComponent(id)}`, sourcedId: id, type };
}

function stripSlash(url: string): string {
  let end = url.length;
  while (end > 0 && url.charCodeAt(end - 1) === 47) end--;
  return end === url.length ? url : url.slice(0, end);
}

/**
 * The 1.1 wire object for a record. With `baseUrl` (e.g. `https://h/ims/oneroster/v1p1`), every
 * GUIDRef gets `href = ${baseUrl}/${pathFor(type)}/${sourcedId}` (absolute, replacing any stored
 * href); without it, references are passed through unchanged. Booleans stay JSON booleans (the
 * 1.1 OAS type). Returns a new object; nested arrays and `metadata` are shared with the record.
 */
export function toWire(collection: CollectionName, record: object, baseUrl?: string): Obj {
  const src = record as Obj;
  const out: Obj = {};
  const refs = REF_FIELDS[collection];
  const base = baseUrl === undefined ? undefined : stripSlash(baseUrl);
  for (const key in src) {
    if (!Object.hasOwn(src, key)) continue;
    const v = src[key];
    if (v === undefined) continue;
    const ref = base !== undefined && Object.hasOwn(refs, key) ? refs[key] : undefined;
    if (ref === undefined) {
      out[key] = v;
    } else if (Array.isArray(v)) {
      const list = new Array<unknown>(v.length);
      for (let i = 0; i < v.length; i++) list[i] = wireRef(v[i], ref.type, base as string);
      out[key] = list;
    } else {
      out[key] = wireRef(v, ref.type, base as string);
    }
  }
  return out;
}

/**
 * Keeps only the named top-level properties of a wire object (`fields=` selection, §2.2), in the
 * object's own order. Required fields such as sourcedId are dropped too if not asked for, as the
 * spec's examples do.
 */
export function pickFields(wire: Obj, fields: readonly string[]): Obj {
  const out: Obj = {};
  for (const key in wire) {
    if (Object.hasOwn(wire, key) && fields.includes(key)) out[key] = wire[key];
  }
  return out;
}
