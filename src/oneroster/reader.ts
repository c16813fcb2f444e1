/**
 * Lenient reading of what real OneRoster 1.1 providers send (oneroster-spec-notes §3, §9.1):
 * untrusted JSON in, the internal shape of `types.ts` plus a list of issues out.
 *
 * This is the hot path of ingestion (every record of every sync, ~1.5M per district run), so the
 * normalisers are hand-written: no schema library, no regexes on the common path, and strings that
 * are already clean are passed through without copying.
 *
 * Decisions (each one is a provider quirk seen in the field):
 * - Booleans: JSON `true`/`false` and the strings `true`/`false` in any case and with blanks are
 *   read silently (1.2 and many 1.1 providers send strings; "True" from .NET). `1`/`0` (number or
 *   string) are read too, with a `boolean-numeric` warning. Anything else is `invalid-boolean`.
 *   `enabledUser` is optional in 1.1 but required in our model: absent means `true` (the 1.1 default
 *   reading); present but unreadable is an error, because guessing could enable a disabled account.
 * - `null` and empty/blank strings mean absent: the key is dropped (Aeries sends `"identifier": null`).
 * - Strings are trimmed; finite numbers where text belongs are turned into text (numeric ids).
 * - `status` is case-insensitive; `inactive` is `tobedeleted` (1.1 removed it, OAS12 says read it so).
 * - Datetimes are normalised to `YYYY-MM-DDTHH:mm:ss.SSSZ` (with/without ms, offsets; no zone = UTC).
 * - Date fields keep the date part of a datetime (`date-truncated` warning).
 * - `grades`, `subjects`, `subjectCodes`, `periods`: a comma-separated string or an array; empty
 *   lists are dropped, so a provider that toggles between `[]` and nothing does not look like a change.
 * - GUIDRefs: `type` missing → the implied type; `href` relative or `~/…` kept exactly as sent; a
 *   plain id string or `sourceId` (MS demo typo) accepted with a warning.
 * - A 1.2-style user (`roles[]` instead of `role` + `orgs`) is folded into the 1.1 fields.
 * - Unknown extra properties are dropped (the store keeps the raw record); `metadata` is kept as-is.
 *
 * Issues never carry personal values: `value` is only filled for non-personal fields (see
 * `VALUE_SAFE_FIELDS`), and messages name entity, sourcedId, field and rule only.
 */
import type { DataIssue, Severity } from './issues.ts';
import {
  CLASS_TYPES,
  GRADES,
  GUID_REF_TYPES,
  ORG_TYPES,
  ROLE_TYPES,
  SESSION_TYPES,
  SEXES,
  type CollectionName,
  type EntityByCollection,
  type GuidRef,
  type UserId,
} from './types.ts';
import { isIsoDate, normalizeDateTime, parseInstant } from './dates.ts';

export { canonicalJson, contentHash } from './canonical.ts';

/** Stable rule codes of the reader, each with a one-line description. */
export const RULES = {
  'not-an-object': 'The item is not a JSON object; it was dropped.',
  'missing-sourced-id': 'The record has no sourcedId, or an empty one; it was dropped.',
  'required-field': 'A field OneRoster 1.1 requires is missing or empty; the record was dropped.',
  'invalid-status': 'status is neither active nor tobedeleted (inactive reads as tobedeleted); the record was dropped.',
  'invalid-datetime': 'dateLastModified is not an ISO 8601 datetime; the record was dropped.',
  'invalid-date': 'A date is not a YYYY-MM-DD calendar date; dropped (the record too when the date is required).',
  'date-truncated': 'A date field held a datetime; its date part was kept.',
  'invalid-enum': 'A value is not in the 1.1 vocabulary even ignoring case; dropped (the record too when required).',
  'enum-case': 'A vocabulary value had the wrong letter case and was corrected.',
  'role-mapped': 'A 1.2 role (e.g. districtAdministrator) was mapped to its 1.1 equivalent.',
  'invalid-boolean': 'A boolean holds something other than true/false/1/0; dropped (the record too for enabledUser).',
  'boolean-numeric': 'A boolean was sent as 1/0 and read as true/false.',
  'invalid-type': 'A field holds the wrong JSON type (e.g. an object where text belongs); dropped (the record too when required).',
  'unknown-grade': 'A grade is not a CEDS grade level used by 1.1; it was dropped.',
  'grade-normalised': 'A grade was written in a variant form (e.g. "9", "K") and was normalised.',
  'invalid-reference': 'A GUIDRef has no sourcedId; dropped (the record too when required).',
  'reference-type': 'A GUIDRef type is not a 1.1 GUIDRef type; the implied type was used.',
  'reference-bare-id': 'A reference was sent as a plain id string instead of a GUIDRef object.',
  'reference-sourceid-typo': 'A GUIDRef used "sourceId" instead of "sourcedId".',
  'single-for-array': 'A list field held a single object; it was read as a list of one.',
  'invalid-user-id': 'A userIds entry lacks a type or an identifier; it was dropped.',
  'invalid-school-year': 'schoolYear is not a YYYY year; the record was dropped.',
  'school-year-normalised': 'schoolYear was a range (2023-2024 or 2023-24); the end year was kept.',
  'invalid-metadata': 'metadata is not a JSON object; it was dropped.',
} as const;

export type RuleCode = keyof typeof RULES;

/**
 * What to change at the SIS for each rule, appended to every message ("a message that says what to
 * fix at the SIS", issue 5). Corrections the reader made itself say so: fixing them at the source
 * silences the warning.
 */
export const RULE_FIX: Readonly<Record<RuleCode, string>> = {
  'not-an-object': 'the OneRoster export sends something other than a record here; report it to the SIS vendor.',
  'missing-sourced-id': 'every record needs a non-empty sourcedId; check the SIS export or integration settings.',
  'required-field': 'fill in this field for the record in the SIS.',
  'invalid-status': 'set the record status to active, or tobedeleted for removed records.',
  'invalid-datetime': 'the SIS must send dateLastModified as an ISO 8601 datetime (e.g. 2026-09-01T12:00:00Z); report it to the SIS vendor.',
  'invalid-date': 'enter the date as a calendar date (YYYY-MM-DD) in the SIS.',
  'date-truncated': 'the SIS sends a datetime where a date belongs; correct the field to silence this.',
  'invalid-enum': 'choose one of the OneRoster 1.1 values for this field in the SIS.',
  'enum-case': 'the SIS spells this value with different capitals; correct it to silence this warning.',
  'role-mapped': 'the SIS sends a OneRoster 1.2 role; map it to a 1.1 role in the SIS to silence this.',
  'invalid-boolean': 'the SIS must send true or false here.',
  'boolean-numeric': 'the SIS sends 1/0 for a boolean; send true/false to silence this.',
  'invalid-type': 'the SIS sends the wrong kind of value for this field; report it to the SIS vendor.',
  'unknown-grade': 'use a CEDS grade level (KG, 01…12, PK, …) for the record in the SIS.',
  'grade-normalised': 'write the grade as a CEDS code (e.g. 09, KG) in the SIS to silence this.',
  'invalid-reference': 'link the record to an existing record (with its sourcedId) in the SIS.',
  'reference-type': 'the SIS sends a wrong reference type; report it to the SIS vendor.',
  'reference-bare-id': 'the SIS sends references as plain ids; report it to the SIS vendor.',
  'reference-sourceid-typo': 'the SIS writes "sourceId" for "sourcedId"; report it to the SIS vendor.',
  'single-for-array': 'the SIS sends one object where a list belongs; report it to the SIS vendor.',
  'invalid-user-id': 'give every user id entry a type and an identifier in the SIS.',
  'invalid-school-year': 'enter the school year as a four-digit year (e.g. 2027) in the SIS.',
  'school-year-normalised': 'enter the school year as its end year (e.g. 2027) in the SIS to silence this.',
  'invalid-metadata': 'the SIS sends metadata that is not an object; report it to the SIS vendor.',
};

export interface ReadResult<T> {
  /** The normalised record; absent when an `error` issue dropped it. */
  record?: T;
  issues: DataIssue[];
}

// ---------------------------------------------------------------------------------------------
// Vocabularies

interface Vocab {
  readonly label: string;
  readonly values: ReadonlySet<string>;
  readonly byLower: ReadonlyMap<string, string>;
}

function vocab(label: string, values: readonly string[]): Vocab {
  return { label, values: new Set(values), byLower: new Map(values.map((v) => [v.toLowerCase(), v])) };
}

const ROLE_VOCAB = vocab('role', ROLE_TYPES);
const ORG_TYPE_VOCAB = vocab('org type', ORG_TYPES);
const SESSION_TYPE_VOCAB = vocab('academic session type', SESSION_TYPES);
const CLASS_TYPE_VOCAB = vocab('class type', CLASS_TYPES);
const SEX_VOCAB = vocab('sex', SEXES);
const GUID_REF_TYPE_VOCAB = vocab('GUIDRef type', GUID_REF_TYPES);
const GRADE_VOCAB = vocab('grade', GRADES);

/** 1.2 user roles with a clear 1.1 equivalent (§3.5: 1.2 dropped `administrator` for users). */
const ROLES_1P2_TO_1P1: ReadonlyMap<string, string> = new Map([
  ['districtadministrator', 'administrator'],
  ['siteadministrator', 'administrator'],
  ['systemadministrator', 'administrator'],
  ['principal', 'administrator'],
]);

/**
 * Fields whose offending value may be copied into an issue. Everything else — names, emails,
 * phones, usernames, passwords, identifiers, titles (class titles often carry a teacher's name),
 * demographics and metadata — is personal or may be, and stays out of issues and logs.
 */
const VALUE_SAFE_FIELDS: ReadonlySet<string> = new Set([
  'sourcedId', 'status', 'dateLastModified', 'role', 'type', 'classType', 'grades', 'subjects', 'subjectCodes',
  'periods', 'enabledUser', 'primary', 'schoolYear', 'startDate', 'endDate', 'beginDate',
  'orgs', 'agents', 'school', 'class', 'user', 'course', 'terms', 'parent', 'children', 'org', 'resources', 'roles',
]);

// ---------------------------------------------------------------------------------------------
// Issue context

interface Ctx {
  entity: CollectionName;
  sourcedId: string | undefined;
  issues: DataIssue[];
  failed: boolean;
}

function topField(field: string): string {
  let end = field.length;
  const dot = field.indexOf('.');
  const bracket = field.indexOf('[');
  if (dot >= 0) end = dot;
  if (bracket >= 0 && bracket < end) end = bracket;
  return field.slice(0, end);
}

function showValue(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}

function report(ctx: Ctx, severity: Severity, rule: RuleCode, field: string, detail: string, value?: unknown): void {
  if (severity === 'error') ctx.failed = true;
  const issue: DataIssue = {
    severity,
    rule,
    entity: ctx.entity,
    field,
    message: `${ctx.entity} ${ctx.sourcedId ?? '(no sourcedId)'}: ${field} ${detail}. Fix at the SIS: ${RULE_FIX[rule]} [${rule}]`,
  };
  if (ctx.sourcedId !== undefined) issue.sourcedId = ctx.sourcedId;
  if (value !== undefined && VALUE_SAFE_FIELDS.has(topField(field))) issue.value = showValue(value);
  ctx.issues.push(issue);
}

// ---------------------------------------------------------------------------------------------
// Scalars

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Trim without allocating when there is nothing to trim. */
function trim(s: string): string {
  const n = s.length;
  if (n === 0) return s;
  const a = s.charCodeAt(0);
  const b = s.charCodeAt(n - 1);
  return a > 32 && b > 32 && a !== 160 && b !== 160 ? s : s.trim();
}

/** A string field, or undefined when absent (null, blank) or unreadable (reported). */
function readString(ctx: Ctx, o: Obj, key: string, required: boolean, field: string = key): string | undefined {
  const v = o[key];
  if (typeof v === 'string') {
    const s = trim(v);
    if (s !== '') return s;
  } else if (typeof v === 'number' && Number.isFinite(v)) {
    return String(v);
  } else if (v !== undefined && v !== null) {
    report(ctx, required ? 'error' : 'warning', 'invalid-type', field, `must be text, got ${Array.isArray(v) ? 'an array' : `a ${typeof v}`}`);
    return undefined;
  }
  if (required) report(ctx, 'error', 'required-field', field, 'is required');
  return undefined;
}

function readEnum(ctx: Ctx, o: Obj, key: string, voc: Vocab, required: boolean): string | undefined {
  const s = readString(ctx, o, key, required);
  if (s === undefined) return undefined;
  return checkEnum(ctx, s, key, voc, required);
}

function checkEnum(ctx: Ctx, s: string, field: string, voc: Vocab, required: boolean): string | undefined {
  if (voc.values.has(s)) return s;
  const fixed = voc.byLower.get(s.toLowerCase());
  if (fixed !== undefined) {
    report(ctx, 'warning', 'enum-case', field, `was corrected to '${fixed}'`, s);
    return fixed;
  }
  report(ctx, required ? 'error' : 'warning', 'invalid-enum', field, `is not a 1.1 ${voc.label}`, s);
  return undefined;
}

function readStatus(ctx: Ctx, o: Obj): 'active' | 'tobedeleted' | undefined {
  const v = o['status'];
  if (v === 'active' || v === 'tobedeleted') return v; // the common case, no allocation
  const s = readString(ctx, o, 'status', true);
  if (s === undefined) return undefined;
  const lower = s.toLowerCase();
  if (lower === 'active') return 'active';
  if (lower === 'tobedeleted' || lower === 'inactive') return 'tobedeleted';
  report(ctx, 'error', 'invalid-status', 'status', 'is not active or tobedeleted', s);
  return undefined;
}

function readDateTime(ctx: Ctx, o: Obj, key: string): string | undefined {
  const s = readString(ctx, o, key, true);
  if (s === undefined) return undefined;
  const norm = normalizeDateTime(s);
  if (norm === undefined) report(ctx, 'error', 'invalid-datetime', key, 'is not an ISO 8601 datetime', s);
  return norm;
}

function readDate(ctx: Ctx, o: Obj, key: string, required: boolean): string | undefined {
  const s = readString(ctx, o, key, required);
  if (s === undefined) return undefined;
  if (isIsoDate(s)) return s;
  if (s.length > 10 && parseInstant(s) !== undefined) {
    const date = s.slice(0, 10);
    report(ctx, 'warning', 'date-truncated', key, `held a datetime; kept the date ${key === 'birthDate' ? 'part' : date}`, s);
    return date;
  }
  report(ctx, required ? 'error' : 'warning', 'invalid-date', key, 'is not a YYYY-MM-DD date', s);
  return undefined;
}

/**
 * A boolean field. `fallback` is returned when the field is absent (undefined = leave it absent).
 * `required`: an unreadable value is an error rather than a dropped value.
 */
function readBool(ctx: Ctx, o: Obj, key: string, required: boolean, fallback?: boolean): boolean | undefined {
  const v = o[key];
  if (v === true || v === false) return v;
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'string') {
    const s = trim(v);
    if (s === '') return fallback;
    if (s.length === 4 || s.length === 5) {
      const lower = s.toLowerCase();
      if (lower === 'true') return true;
      if (lower === 'false') return false;
    }
    if (s === '1' || s === '0') {
      report(ctx, 'warning', 'boolean-numeric', key, `was sent as ${s}`, s);
      return s === '1';
    }
  } else if (v === 1 || v === 0) {
    report(ctx, 'warning', 'boolean-numeric', key, `was sent as ${v}`, v);
    return v === 1;
  }
  report(ctx, required ? 'error' : 'warning', 'invalid-boolean', key, 'is not true or false', v);
  return undefined;
}

/** A list of strings sent as an array or a comma-separated string; empty → undefined. */
function readStringList(ctx: Ctx, o: Obj, key: string): string[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  let out: string[];
  if (typeof v === 'string') {
    out = [];
    for (const part of v.split(',')) {
      const s = trim(part);
      if (s !== '') out.push(s);
    }
  } else if (Array.isArray(v)) {
    out = [];
    let bad = false;
    for (const el of v) {
      if (typeof el === 'string') {
        const s = trim(el);
        if (s !== '') out.push(s);
      } else if (typeof el === 'number' && Number.isFinite(el)) {
        out.push(String(el));
      } else if (el !== null && el !== undefined) {
        bad = true;
      }
    }
    if (bad) report(ctx, 'warning', 'invalid-type', key, 'holds items that are not text; they were dropped');
  } else if (typeof v === 'number' && Number.isFinite(v)) {
    out = [String(v)];
  } else {
    report(ctx, 'warning', 'invalid-type', key, 'must be a list or comma-separated text; it was dropped');
    return undefined;
  }
  return out.length > 0 ? out : undefined;
}

/** Normalises one grade; undefined when it cannot be mapped to the 1.1 CEDS list. */
function normaliseGrade(ctx: Ctx, g: string): string | undefined {
  if (GRADE_VOCAB.values.has(g)) return g;
  const byCase = GRADE_VOCAB.byLower.get(g.toLowerCase());
  if (byCase !== undefined) {
    report(ctx, 'warning', 'enum-case', 'grades', `value was corrected to '${byCase}'`, g);
    return byCase;
  }
  let fixed: string | undefined;
  if (g.length === 1 && g >= '1' && g <= '9') fixed = `0${g}`;
  else if (g === 'K' || g === 'k') fixed = 'KG';
  if (fixed !== undefined) {
    report(ctx, 'warning', 'grade-normalised', 'grades', `value was normalised to '${fixed}'`, g);
    return fixed;
  }
  report(ctx, 'warning', 'unknown-grade', 'grades', 'value is not a 1.1 grade level and was dropped', g);
  return undefined;
}

function readGrades(ctx: Ctx, o: Obj): string[] | undefined {
  const list = readStringList(ctx, o, 'grades');
  if (list === undefined) return undefined;
  let allValid = true;
  for (const g of list) if (!GRADE_VOCAB.values.has(g)) allValid = false;
  if (allValid) return list;
  const out: string[] = [];
  for (const g of list) {
    const n = normaliseGrade(ctx, g);
    if (n !== undefined) out.push(n);
  }
  return out.length > 0 ? out : undefined;
}

function readMetadata(ctx: Ctx, o: Obj): Obj | undefined {
  const v = o['metadata'];
  if (v === undefined || v === null) return undefined;
  if (isObj(v)) return v;
  report(ctx, 'warning', 'invalid-metadata', 'metadata', 'is not an object and was dropped');
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// References

function idText(v: unknown): string | undefined {
  if (typeof v === 'string') {
    const s = trim(v);
    return s === '' ? undefined : s;
  }
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/**
 * One GUIDRef. Problems inside it are warnings unless `required` (a required single reference
 * such as `enrollment.user`), where a missing id drops the record.
 */
function readRefValue(ctx: Ctx, v: unknown, field: string, implied: string, required: boolean): GuidRef | undefined {
  if (typeof v === 'string' || typeof v === 'number') {
    const id = idText(v);
    if (id === undefined) {
      if (required) report(ctx, 'error', 'required-field', field, 'is required');
      return undefined;
    }
    report(ctx, 'warning', 'reference-bare-id', field, 'was a plain id, not a GUIDRef object', id);
    return { sourcedId: id, type: implied };
  }
  if (!isObj(v)) {
    report(ctx, required ? 'error' : 'warning', 'invalid-type', field, 'must be a GUIDRef object');
    return undefined;
  }
  let id = idText(v['sourcedId']);
  if (id === undefined && v['sourcedId'] === undefined && v['sourceId'] !== undefined) {
    id = idText(v['sourceId']);
    if (id !== undefined) report(ctx, 'warning', 'reference-sourceid-typo', field, 'used sourceId instead of sourcedId', id);
  }
  if (id === undefined) {
    report(ctx, required ? 'error' : 'warning', 'invalid-reference', `${field}.sourcedId`, 'is missing or empty');
    return undefined;
  }
  let type = implied;
  const t = v['type'];
  if (typeof t === 'string' && t !== implied) {
    const s = trim(t);
    if (s === '') {
      // blank type: use the implied one, silently (same as missing)
    } else if (GUID_REF_TYPE_VOCAB.values.has(s)) {
      type = s;
    } else {
      const fixed = GUID_REF_TYPE_VOCAB.byLower.get(s.toLowerCase());
      if (fixed !== undefined) {
        report(ctx, 'warning', 'enum-case', `${field}.type`, `was corrected to '${fixed}'`, s);
        type = fixed;
      } else {
        report(ctx, 'warning', 'reference-type', `${field}.type`, `is not a GUIDRef type; '${implied}' was used`, s);
      }
    }
  }
  const ref: GuidRef = { sourcedId: id, type };
  const href = v['href'];
  if (typeof href === 'string') {
    const h = trim(href);
    if (h !== '') ref.href = h; // relative and `~/…` hrefs (Aeries) are kept as sent; never dereferenced
  }
  return ref;
}

function readRef(ctx: Ctx, o: Obj, key: string, implied: string, required: boolean): GuidRef | undefined {
  const v = o[key];
  if (v === undefined || v === null) {
    if (required) report(ctx, 'error', 'required-field', key, 'is required');
    return undefined;
  }
  return readRefValue(ctx, v, key, implied, required);
}

/** A GUIDRef list. `required` = must end up non-empty (bad items are dropped with warnings first). */
function readRefList(ctx: Ctx, o: Obj, key: string, implied: string, required: boolean): GuidRef[] | undefined {
  const v = o[key];
  let out: GuidRef[] | undefined;
  if (Array.isArray(v)) {
    out = [];
    for (let i = 0; i < v.length; i++) {
      const el: unknown = v[i];
      if (el === null || el === undefined) continue;
      const r = readRefValue(ctx, el, `${key}[${i}]`, implied, false);
      if (r !== undefined) out.push(r);
    }
  } else if (isObj(v)) {
    report(ctx, 'warning', 'single-for-array', key, 'held one object instead of a list');
    const r = readRefValue(ctx, v, key, implied, false);
    out = r === undefined ? [] : [r];
  } else if (typeof v === 'string') {
    out = [];
    for (const part of v.split(',')) {
      const id = trim(part);
      if (id !== '') out.push({ sourcedId: id, type: implied });
    }
    if (out.length > 0) report(ctx, 'warning', 'reference-bare-id', key, 'was plain ids, not GUIDRef objects', v);
  } else if (v !== undefined && v !== null) {
    report(ctx, required ? 'error' : 'warning', 'invalid-type', key, 'must be a list of GUIDRefs');
    return undefined;
  }
  if (out === undefined || out.length === 0) {
    if (required) report(ctx, 'error', 'required-field', key, 'must hold at least one reference');
    return undefined;
  }
  return out;
}

function readUserIds(ctx: Ctx, o: Obj): UserId[] | undefined {
  const v = o['userIds'];
  if (v === undefined || v === null) return undefined;
  const list = Array.isArray(v) ? v : isObj(v) ? [v] : undefined;
  if (list === undefined) {
    report(ctx, 'warning', 'invalid-type', 'userIds', 'must be a list of {type, identifier}; it was dropped');
    return undefined;
  }
  const out: UserId[] = [];
  for (let i = 0; i < list.length; i++) {
    const el: unknown = list[i];
    if (el === null || el === undefined) continue;
    const type = isObj(el) ? idText(el['type']) : undefined;
    const identifier = isObj(el) ? idText(el['identifier']) : undefined;
    if (type === undefined || identifier === undefined) {
      report(ctx, 'warning', 'invalid-user-id', `userIds[${i}]`, 'lacks a type or an identifier and was dropped');
      continue;
    }
    out.push({ type, identifier });
  }
  return out.length > 0 ? out : undefined;
}

// ---------------------------------------------------------------------------------------------
// Entities

type Rec = Record<string, unknown>;

/** The base fields every entity has (§3.2). Returns the record under construction. */
function readBase(ctx: Ctx, o: Obj): Rec {
  const rec: Rec = {
    sourcedId: ctx.sourcedId,
    status: readStatus(ctx, o),
    dateLastModified: readDateTime(ctx, o, 'dateLastModified'),
  };
  const metadata = readMetadata(ctx, o);
  if (metadata !== undefined) rec['metadata'] = metadata;
  return rec;
}

function set(rec: Rec, key: string, value: unknown): void {
  if (value !== undefined) rec[key] = value;
}

function readSchoolYear(ctx: Ctx, o: Obj): string | undefined {
  const s = readString(ctx, o, 'schoolYear', true);
  if (s === undefined) return undefined;
  const isYear = (t: string): boolean => t.length === 4 && t >= '0000' && t <= '9999' && !Number.isNaN(Number(t));
  if (isYear(s)) return s;
  // "2023-2024" or "2023-24": the spec asks for the year the school year ends (§3.2).
  const start = s.slice(0, 4);
  if (isYear(start) && s.charCodeAt(4) === 45) {
    const rest = s.slice(5);
    let end: string | undefined;
    if (rest.length === 4 && isYear(rest)) end = rest;
    else if (rest.length === 2 && isYear(`00${rest}`)) {
      const startYear = Number(start);
      let y = Math.floor(startYear / 100) * 100 + Number(rest);
      if (y < startYear) y += 100;
      end = String(y).padStart(4, '0');
    }
    if (end !== undefined) {
      report(ctx, 'warning', 'school-year-normalised', 'schoolYear', `was a range; kept the end year ${end}`, s);
      return end;
    }
  }
  report(ctx, 'error', 'invalid-school-year', 'schoolYear', 'is not a YYYY year', s);
  return undefined;
}

function readAcademicSession(ctx: Ctx, o: Obj): Rec {
  const rec = readBase(ctx, o);
  rec['title'] = readString(ctx, o, 'title', true);
  rec['startDate'] = readDate(ctx, o, 'startDate', true);
  rec['endDate'] = readDate(ctx, o, 'endDate', true);
  rec['type'] = readEnum(ctx, o, 'type', SESSION_TYPE_VOCAB, true);
  set(rec, 'parent', readRef(ctx, o, 'parent', 'academicSession', false));
  set(rec, 'children', readRefList(ctx, o, 'children', 'academicSession', false));
  rec['schoolYear'] = readSchoolYear(ctx, o);
  return rec;
}

function readOrg(ctx: Ctx, o: Obj): Rec {
  const rec = readBase(ctx, o);
  rec['name'] = readString(ctx, o, 'name', true);
  rec['type'] = readEnum(ctx, o, 'type', ORG_TYPE_VOCAB, true);
  set(rec, 'identifier', readString(ctx, o, 'identifier', false));
  set(rec, 'parent', readRef(ctx, o, 'parent', 'org', false));
  set(rec, 'children', readRefList(ctx, o, 'children', 'org', false));
  return rec;
}

function readCourse(ctx: Ctx, o: Obj): Rec {
  const rec = readBase(ctx, o);
  rec['title'] = readString(ctx, o, 'title', true);
  set(rec, 'schoolYear', readRef(ctx, o, 'schoolYear', 'academicSession', false));
  set(rec, 'courseCode', readString(ctx, o, 'courseCode', false));
  set(rec, 'grades', readGrades(ctx, o));
  set(rec, 'subjects', readStringList(ctx, o, 'subjects'));
  set(rec, 'org', readRef(ctx, o, 'org', 'org', false));
  set(rec, 'subjectCodes', readStringList(ctx, o, 'subjectCodes'));
  set(rec, 'resources', readRefList(ctx, o, 'resources', 'resource', false));
  return rec;
}

function readClass(ctx: Ctx, o: Obj): Rec {
  const rec = readBase(ctx, o);
  rec['title'] = readString(ctx, o, 'title', true);
  set(rec, 'classCode', readString(ctx, o, 'classCode', false));
  set(rec, 'classType', readEnum(ctx, o, 'classType', CLASS_TYPE_VOCAB, false));
  set(rec, 'location', readString(ctx, o, 'location', false));
  set(rec, 'grades', readGrades(ctx, o));
  set(rec, 'subjects', readStringList(ctx, o, 'subjects'));
  set(rec, 'course', readRef(ctx, o, 'course', 'course', false));
  rec['school'] = readRef(ctx, o, 'school', 'org', true);
  rec['terms'] = readRefList(ctx, o, 'terms', 'academicSession', true);
  set(rec, 'subjectCodes', readStringList(ctx, o, 'subjectCodes'));
  set(rec, 'periods', readStringList(ctx, o, 'periods'));
  set(rec, 'resources', readRefList(ctx, o, 'resources', 'resource', false));
  return rec;
}

/** The user's 1.1 role: `role`, or for a 1.2-shaped user the primary entry of `roles[]`. */
function readUserRole(ctx: Ctx, o: Obj): string | undefined {
  let field = 'role';
  let s: string | undefined;
  if (o['role'] === undefined && Array.isArray(o['roles'])) {
    const roles = (o['roles'] as unknown[]).filter(isObj);
    const primary = roles.find((r) => r['roleType'] === 'primary') ?? roles[0];
    if (primary !== undefined) {
      field = 'roles.role';
      s = readString(ctx, primary, 'role', true, field);
    } else {
      report(ctx, 'error', 'required-field', 'role', 'is required');
    }
  } else {
    s = readString(ctx, o, 'role', true);
  }
  if (s === undefined) return undefined;
  const mapped = ROLES_1P2_TO_1P1.get(s.toLowerCase());
  if (mapped !== undefined) {
    report(ctx, 'warning', 'role-mapped', field, `is a 1.2 role; read as '${mapped}'`, s);
    return mapped;
  }
  return checkEnum(ctx, s, field, ROLE_VOCAB, true);
}

/** The user's orgs: `orgs`, or for a 1.2-shaped user the `org` of each `roles[]` entry. */
function readUserOrgs(ctx: Ctx, o: Obj): GuidRef[] | undefined {
  if (o['orgs'] === undefined && Array.isArray(o['roles'])) {
    const orgs: unknown[] = [];
    const seen = new Set<string>();
    for (const r of o['roles'] as unknown[]) {
      if (!isObj(r) || r['org'] === undefined || r['org'] === null) continue;
      const org = r['org'];
      const id = isObj(org) ? idText(org['sourcedId']) : idText(org);
      if (id !== undefined && seen.has(id)) continue;
      if (id !== undefined) seen.add(id);
      orgs.push(org);
    }
    return readRefList(ctx, { orgs }, 'orgs', 'org', true);
  }
  return readRefList(ctx, o, 'orgs', 'org', true);
}

function readUser(ctx: Ctx, o: Obj): Rec {
  const rec = readBase(ctx, o);
  rec['username'] = readString(ctx, o, 'username', true);
  set(rec, 'userIds', readUserIds(ctx, o));
  rec['enabledUser'] = readBool(ctx, o, 'enabledUser', true, true);
  rec['givenName'] = readString(ctx, o, 'givenName', true);
  rec['familyName'] = readString(ctx, o, 'familyName', true);
  set(rec, 'middleName', readString(ctx, o, 'middleName', false));
  rec['role'] = readUserRole(ctx, o);
  set(rec, 'identifier', readString(ctx, o, 'identifier', false));
  set(rec, 'email', readString(ctx, o, 'email', false));
  set(rec, 'sms', readString(ctx, o, 'sms', false));
  set(rec, 'phone', readString(ctx, o, 'phone', false));
  set(rec, 'agents', readRefList(ctx, o, 'agents', 'user', false));
  rec['orgs'] = readUserOrgs(ctx, o);
  set(rec, 'grades', readGrades(ctx, o));
  set(rec, 'password', readString(ctx, o, 'password', false));
  return rec;
}

function readEnrollment(ctx: Ctx, o: Obj): Rec {
  const rec = readBase(ctx, o);
  rec['user'] = readRef(ctx, o, 'user', 'user', true);
  rec['class'] = readRef(ctx, o, 'class', 'class', true);
  rec['school'] = readRef(ctx, o, 'school', 'org', true);
  rec['role'] = readEnum(ctx, o, 'role', ROLE_VOCAB, true);
  set(rec, 'primary', readBool(ctx, o, 'primary', false));
  set(rec, 'beginDate', readDate(ctx, o, 'beginDate', false));
  set(rec, 'endDate', readDate(ctx, o, 'endDate', false));
  return rec;
}

const DEMOGRAPHIC_FLAGS = [
  'americanIndianOrAlaskaNative', 'asian', 'blackOrAfricanAmerican', 'nativeHawaiianOrOtherPacificIslander', 'white',
  'demographicRaceTwoOrMoreRaces', 'hispanicOrLatinoEthnicity',
] as const;

function readDemographics(ctx: Ctx, o: Obj): Rec {
  const rec = readBase(ctx, o);
  set(rec, 'birthDate', readDate(ctx, o, 'birthDate', false));
  set(rec, 'sex', readEnum(ctx, o, 'sex', SEX_VOCAB, false));
  for (const flag of DEMOGRAPHIC_FLAGS) set(rec, flag, readBool(ctx, o, flag, false));
  set(rec, 'countryOfBirthCode', readString(ctx, o, 'countryOfBirthCode', false));
  set(rec, 'stateOfBirthAbbreviation', readString(ctx, o, 'stateOfBirthAbbreviation', false));
  set(rec, 'cityOfBirth', readString(ctx, o, 'cityOfBirth', false));
  set(rec, 'publicSchoolResidenceStatus', readString(ctx, o, 'publicSchoolResidenceStatus', false));
  return rec;
}

const READERS: Record<CollectionName, (ctx: Ctx, o: Obj) => Rec> = {
  academicSessions: readAcademicSession,
  orgs: readOrg,
  courses: readCourse,
  classes: readClass,
  users: readUser,
  enrollments: readEnrollment,
  demographics: readDemographics,
};

/**
 * Reads one untrusted item of `collection` into the internal shape. `record` is present unless an
 * `error` issue dropped it; `issues` lists every problem found (all fields are checked, so one pass
 * shows an admin everything wrong with a record). See the module comment for the leniencies.
 */
export function readEntity<C extends CollectionName>(collection: C, raw: unknown): ReadResult<EntityByCollection[C]> {
  const ctx: Ctx = { entity: collection, sourcedId: undefined, issues: [], failed: false };
  if (!isObj(raw)) {
    report(ctx, 'error', 'not-an-object', '(record)', `is ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : `a ${typeof raw}`}, not an object`);
    return { issues: ctx.issues };
  }
  ctx.sourcedId = idText(raw['sourcedId']);
  if (ctx.sourcedId === undefined) report(ctx, 'error', 'missing-sourced-id', 'sourcedId', 'is missing or empty');
  const rec = READERS[collection](ctx, raw);
  if (ctx.failed) return { issues: ctx.issues };
  return { record: rec as unknown as EntityByCollection[C], issues: ctx.issues };
}
