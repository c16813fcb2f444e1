/**
 * OneRoster status information (`imsx_StatusInfo`) — oneroster-spec-notes §2.6.
 *
 * Servers: 1.1 bodies carry a `statusInfoSet` array — on failures alone, or beside the data as
 * warnings (unknown sort or selection field). 1.2 failures are a bare `imsx_StatusInfo` object
 * with a capital-C `imsx_CodeMinor`, and 1.2 success bodies carry none.
 * Clients: real providers deviate in every direction (flat string codeMinor, lower-case keys,
 * missing fields), so `readStatusInfo` reads whatever it is given.
 */

export type CodeMajor = 'success' | 'processing' | 'failure' | 'unsupported';
export type ImsxSeverity = 'status' | 'warning' | 'error';

/** The codeMinor values Rostersync emits (1.1 spelling; `invaliddata` as in OAS11/OAS12). */
export type CodeMinor =
  | 'fullsuccess'
  | 'invalid_sort_field'
  | 'invalid_selection_field'
  | 'invalid_blank_selection_field'
  | 'invalid_filter_field'
  | 'invaliddata'
  | 'unauthorisedrequest'
  | 'forbidden'
  | 'unknownobject'
  | 'server_busy'
  | 'internal_server_error';

export interface CodeMinorField {
  imsx_codeMinorFieldName: string;
  imsx_codeMinorFieldValue: string;
}

/** One 1.1 `statusInfoSet` entry as Rostersync writes it. */
export interface StatusInfo {
  imsx_codeMajor: CodeMajor;
  imsx_severity: ImsxSeverity;
  imsx_description: string;
  imsx_codeMinor: { imsx_codeMinorField: CodeMinorField[] };
}

/** A 1.2 failure body: bare `imsx_StatusInfo` with capital-C `imsx_CodeMinor` (OAS12, additionalProperties false). */
export interface StatusInfo12 {
  imsx_codeMajor: CodeMajor;
  imsx_severity: ImsxSeverity;
  imsx_description: string;
  imsx_CodeMinor: { imsx_codeMinorField: CodeMinorField[] };
}

function codeMinorObject(value: string): { imsx_codeMinorField: CodeMinorField[] } {
  return { imsx_codeMinorField: [{ imsx_codeMinorFieldName: 'TargetEndSystem', imsx_codeMinorFieldValue: value }] };
}

/** Builds one status entry. */
export function statusInfo(codeMajor: CodeMajor, severity: ImsxSeverity, codeMinor: CodeMinor | string, description: string): StatusInfo {
  return {
    imsx_codeMajor: codeMajor,
    imsx_severity: severity,
    imsx_description: description,
    imsx_codeMinor: codeMinorObject(codeMinor),
  };
}

/** Wraps entries as a 1.1 `statusInfoSet` body fragment; spread it next to the data for warnings. */
export function statusInfoSet(entries: StatusInfo[]): { statusInfoSet: StatusInfo[] } {
  return { statusInfoSet: entries };
}

/**
 * A 1.1 success/warning entry, e.g. for an unknown sort field (data in default order) or an unknown
 * selection field (all fields returned). The spec asks the description to name the supplied field.
 */
export function warningStatus(codeMinor: 'invalid_sort_field' | 'invalid_selection_field' | (string & {}), description: string): StatusInfo {
  return statusInfo('success', 'warning', codeMinor, description);
}

/** A complete 1.1 failure body: `{ statusInfoSet: [ failure/error/codeMinor ] }`. */
export function failureBody(codeMinor: CodeMinor | (string & {}), description: string): { statusInfoSet: StatusInfo[] } {
  return statusInfoSet([statusInfo('failure', 'error', codeMinor, description)]);
}

/** A complete 1.2 failure body (bare `imsx_StatusInfo`). 1.2 has no `invalid_blank_selection_field`/`invalid_sort_field`. */
export function failureBody12(codeMinor: CodeMinor | (string & {}), description: string): StatusInfo12 {
  return {
    imsx_codeMajor: 'failure',
    imsx_severity: 'error',
    imsx_description: description,
    imsx_CodeMinor: codeMinorObject(codeMinor),
  };
}

/**
 * HTTP status per codeMinor (the 1.1 table via go-oneroster and RICOne, plus the 1.2 names and
 * the spaced 1.1 spellings `full success`, `invalid data`, `unknown object`, `unauthorized`).
 */
export const CODE_MINOR_HTTP_STATUS: Readonly<Record<string, number>> = {
  fullsuccess: 200,
  'full success': 200,
  invalid_sort_field: 200,
  invalid_selection_field: 200,
  invaliddata: 400,
  'invalid data': 400,
  invalid_data: 400,
  invalid_filter_field: 400,
  invalid_blank_selection_field: 400,
  unauthorisedrequest: 401,
  unauthorizedrequest: 401,
  unauthorized: 401,
  unauthorised: 401,
  forbidden: 403,
  unknownobject: 404,
  'unknown object': 404,
  server_busy: 429,
  internal_server_error: 500,
};

/**
 * HTTP status for a codeMinor under 1.1 rules; unknown values map to 500 as in the spec table.
 * Pass `version: '1.2'` to make `invalid_selection_field` a 400 (1.2 rejects unknown fields, §2.2).
 */
export function httpStatusForCodeMinor(codeMinor: string, version: '1.1' | '1.2' = '1.1'): number {
  if (version === '1.2' && codeMinor === 'invalid_selection_field') return 400;
  return CODE_MINOR_HTTP_STATUS[codeMinor] ?? 500;
}

/** What a client can learn from a status body, whatever its dialect. */
export interface ReadStatus {
  codeMajor?: string;
  severity?: string;
  codeMinor?: string;
  description?: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Looks a key up ignoring case and an optional `imsx_` prefix (`imsx_CodeMinor`, `imsx_codeMinor`, `codeMinor`). */
function pick(obj: Record<string, unknown>, name: string): unknown {
  const want = name.toLowerCase();
  for (const key of Object.keys(obj)) {
    const k = key.toLowerCase();
    if (k === want || k === `imsx_${want}`) return obj[key];
  }
  return undefined;
}

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() === '' ? undefined : v.trim();
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function readCodeMinor(v: unknown): string | undefined {
  const direct = text(v);
  if (direct !== undefined) return direct;
  if (Array.isArray(v)) {
    for (const el of v) {
      const r = readCodeMinor(el);
      if (r !== undefined) return r;
    }
    return undefined;
  }
  if (!isRecord(v)) return undefined;
  const fields = pick(v, 'codeMinorField');
  if (fields !== undefined) return readCodeMinor(fields);
  const value = pick(v, 'codeMinorFieldValue');
  if (value !== undefined) return text(value);
  return undefined;
}

function readEntry(v: unknown): ReadStatus | undefined {
  if (!isRecord(v)) return undefined;
  const out: ReadStatus = {};
  const codeMajor = text(pick(v, 'codeMajor'));
  const severity = text(pick(v, 'severity'));
  const description = text(pick(v, 'description'));
  const codeMinor = readCodeMinor(pick(v, 'codeMinor'));
  if (codeMajor !== undefined) out.codeMajor = codeMajor;
  if (severity !== undefined) out.severity = severity;
  if (description !== undefined) out.description = description;
  if (codeMinor !== undefined) out.codeMinor = codeMinor;
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Reads status information from any OneRoster response body, leniently: a 1.1 `statusInfoSet`
 * (array, or a single object; the first failure entry wins, else the first entry), a 1.2 bare
 * `imsx_StatusInfo`, a body wrapped as `{ imsx_StatusInfo: {...} }` / `{ imsx_statusInfo: {...} }`,
 * with `imsx_CodeMinor` or `imsx_codeMinor`, as an object (`imsx_codeMinorField[]`) or a flat string.
 * Returns undefined when the body holds nothing recognisable.
 */
export function readStatusInfo(body: unknown): ReadStatus | undefined {
  if (!isRecord(body)) return undefined;
  const set = pick(body, 'statusInfoSet');
  if (set !== undefined) {
    const entries = (Array.isArray(set) ? set : [set]).map(readEntry).filter((e): e is ReadStatus => e !== undefined);
    const failure = entries.find((e) => e.codeMajor?.toLowerCase() === 'failure');
    const first = failure ?? entries[0];
    if (first !== undefined) return first;
  }
  const wrapped = pick(body, 'statusInfo');
  if (wrapped !== undefined) {
    const inner = Array.isArray(wrapped) ? readStatusInfo({ statusInfoSet: wrapped }) : readEntry(wrapped);
    if (inner !== undefined) return inner;
  }
  const bare = readEntry(body);
  // A data body has no status keys at all; only report when a status key is really there.
  return bare !== undefined && (bare.codeMajor !== undefined || bare.codeMinor !== undefined || bare.severity !== undefined)
    ? bare
    : undefined;
}
