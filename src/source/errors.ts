/**
 * Typed operational failures of `source/` (DESIGN.md "Conventions": expected data problems are values,
 * operational failures are typed errors with stable codes mapped to HTTP status in one place).
 *
 * Every message is written for a district admin: it says what failed and what to check. Messages carry
 * URL paths (never query strings, which may hold filter values such as e-mail addresses), HTTP statuses,
 * and the provider's own error code/description. They never carry secrets, tokens or record contents.
 */

export const SOURCE_ERROR_CODES = [
  /** Credentials rejected (token endpoint, or the API answered 401 even after a token refresh / with OAuth 1.0a). */
  'auth_failed',
  /** 403: authenticated, but not allowed (usually a missing OAuth scope or a provider-side permission). */
  'forbidden',
  /** 404 on a collection: the provider does not serve that endpoint (e.g. /demographics). */
  'endpoint_missing',
  /** 2xx whose body is not JSON, or lacks the expected wrapper key (`{"users": [...]}`). */
  'bad_envelope',
  /** Other 4xx (bad filter, bad limit, …), with the provider's imsx description when present. */
  'bad_request',
  /** Non-retryable 5xx (500, 501, …). 502/503/504 are retried and end as `too_many_retries`. */
  'server_error',
  /** A status we do not handle at all (1xx/3xx: we do not follow redirects with credentials attached). */
  'unexpected_status',
  /** Retryable failures (429, 502–504, resets, timeouts) went on past the attempt or elapsed-time cap. */
  'too_many_retries',
  /** One attempt took longer than `timeouts.requestMs` / `timeouts.connectMs` (retryable; see `too_many_retries`). */
  'timeout',
  /** A network failure: DNS, refused connection, TLS, reset (resets are retryable; see `too_many_retries`). */
  'network',
  /** Paging did not converge: same page twice, or more than `maxPages` pages. */
  'paging_loop',
  /** The connection settings are invalid (see `problems`). */
  'invalid_config',
  /** The caller aborted the read through its AbortSignal. */
  'aborted',
] as const;

export type SourceErrorCode = (typeof SOURCE_ERROR_CODES)[number];

/** One invalid connection setting (for `invalid_config`). `field` is a dotted path like `auth.tokenUrl`. */
export interface ConfigProblem {
  field: string;
  message: string;
}

/** The provider's status information from an error body (1.1 `statusInfoSet` or 1.2 `imsx_StatusInfo`). */
export interface ImsxStatus {
  codeMajor?: string;
  severity?: string;
  codeMinor?: string;
  description?: string;
}

export interface SourceErrorDetails {
  /** HTTP status of the (last) response, when there was one. */
  status?: number;
  /** URL path relative to the API root (e.g. `/users`) or the token endpoint's path. Never a query string. */
  path?: string;
  /** Parsed provider status info, when the error body carried one. */
  imsx?: ImsxStatus;
  /** For `invalid_config`: every bad field. */
  problems?: ConfigProblem[];
  /** HTTP attempts made before giving up (retries included). */
  attempts?: number;
  /** Whether the failure is transient (the HTTP layer retries these). */
  retryable?: boolean;
  cause?: unknown;
}

/**
 * The one error type `source/` throws. `code` is stable (callers switch on it, `http/` maps it to a status);
 * `message` is for people.
 */
export class SourceError extends Error {
  override readonly name = 'SourceError';
  readonly code: SourceErrorCode;
  readonly status?: number;
  readonly path?: string;
  readonly imsx?: ImsxStatus;
  readonly problems?: ConfigProblem[];
  readonly attempts?: number;
  readonly retryable: boolean;

  constructor(code: SourceErrorCode, message: string, details: SourceErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    if (details.status !== undefined) this.status = details.status;
    if (details.path !== undefined) this.path = details.path;
    if (details.imsx !== undefined) this.imsx = details.imsx;
    if (details.problems !== undefined) this.problems = details.problems;
    if (details.attempts !== undefined) this.attempts = details.attempts;
    this.retryable = details.retryable ?? false;
  }

  /** A log-safe plain object (no cause chain objects, no secrets: messages never contain any). */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { name: this.name, code: this.code, message: this.message };
    if (this.status !== undefined) out['status'] = this.status;
    if (this.path !== undefined) out['path'] = this.path;
    if (this.imsx !== undefined) out['imsx'] = this.imsx;
    if (this.problems !== undefined) out['problems'] = this.problems;
    if (this.attempts !== undefined) out['attempts'] = this.attempts;
    return out;
  }
}

/** True when `err` is a SourceError, optionally with one of `codes`. */
export function isSourceError(err: unknown, ...codes: SourceErrorCode[]): err is SourceError {
  return err instanceof SourceError && (codes.length === 0 || codes.includes(err.code));
}

const EMAIL_RE = /[^\s@"'<>()]+@[^\s@"'<>()]+\.[a-z]{2,}/gi;

/**
 * Shortens provider-supplied text (imsx descriptions, OAuth `error_description`) for messages and masks
 * anything that looks like an e-mail address: providers sometimes echo the filter value or the user they
 * could not find, and student data never goes into our errors or logs.
 */
export function sanitizeProviderText(text: string, secrets: readonly string[] = [], max = 300): string {
  let out = text.replace(/\s+/g, ' ').trim();
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('***');
  out = out.replace(EMAIL_RE, '<email>');
  return out.length > max ? `${out.slice(0, max - 1)}…` : out;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

/** 1.2 `imsx_CodeMinor: {imsx_codeMinorField: [{imsx_codeMinorFieldValue}]}`, or a bare string (1.1, Ed-Fi). */
function codeMinorOf(v: unknown): string | undefined {
  if (typeof v === 'string') return str(v);
  if (v === null || typeof v !== 'object') return undefined;
  const fields = (v as Record<string, unknown>)['imsx_codeMinorField'];
  const list = Array.isArray(fields) ? fields : fields !== undefined ? [fields] : [];
  const values: string[] = [];
  for (const f of list) {
    if (f !== null && typeof f === 'object') {
      const value = str((f as Record<string, unknown>)['imsx_codeMinorFieldValue']);
      if (value !== undefined) values.push(value);
    } else if (typeof f === 'string') values.push(f);
  }
  return values.length > 0 ? values.join(',') : undefined;
}

function statusOf(o: Record<string, unknown>): ImsxStatus | undefined {
  const out: ImsxStatus = {};
  const codeMajor = str(o['imsx_codeMajor']);
  const severity = str(o['imsx_severity']);
  const codeMinor = codeMinorOf(o['imsx_CodeMinor'] ?? o['imsx_codeMinor']);
  const description = str(o['imsx_description']);
  if (codeMajor !== undefined) out.codeMajor = codeMajor;
  if (severity !== undefined) out.severity = severity;
  if (codeMinor !== undefined) out.codeMinor = codeMinor;
  if (description !== undefined) out.description = sanitizeProviderText(description);
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Reads the provider's status info from a parsed body, leniently (oneroster-spec-notes §2.6):
 * 1.1 `{"statusInfoSet": [{...}]}` (array or single object), 1.2 bare `{imsx_codeMajor, …}`, or a
 * `{"imsx_StatusInfo": {...}}` / `{"imsx_statusInfo": {...}}` wrapper; codeMinor as the 1.2 object, a
 * flat string, `imsx_CodeMinor` or `imsx_codeMinor`. Returns the first failure entry, else the first entry.
 */
export function parseImsxStatus(body: unknown): ImsxStatus | undefined {
  return parseImsxStatuses(body).find((s) => s.codeMajor === 'failure') ?? parseImsxStatuses(body)[0];
}

/** Every status-info entry of a body (see `parseImsxStatus`). */
export function parseImsxStatuses(body: unknown): ImsxStatus[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return [];
  const o = body as Record<string, unknown>;
  const candidates: unknown[] = [];
  for (const key of ['statusInfoSet', 'imsx_StatusInfo', 'imsx_statusInfo', 'imsx_statusInfoSet']) {
    const v = o[key];
    if (Array.isArray(v)) candidates.push(...v);
    else if (v !== undefined) candidates.push(v);
  }
  candidates.push(o);
  const out: ImsxStatus[] = [];
  for (const c of candidates) {
    if (c !== null && typeof c === 'object' && !Array.isArray(c)) {
      const s = statusOf(c as Record<string, unknown>);
      if (s !== undefined) out.push(s);
    }
  }
  return out;
}

/** " (provider says: invalid_filter_field: Unknown filter field: foo)" or "" — appended to messages. */
export function describeImsx(imsx: ImsxStatus | undefined): string {
  if (imsx === undefined) return '';
  const parts = [imsx.codeMinor, imsx.description].filter((p): p is string => p !== undefined);
  return parts.length > 0 ? ` (provider says: ${parts.join(': ')})` : '';
}
