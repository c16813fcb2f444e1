/**
 * The checks School Data Sync makes of a OneRoster 1.1 provider before and while it ingests from it
 * (`rostersync check`). They follow Microsoft's SDS Postman conformance collection and the SDS pages
 * (sds-notes §1.1–1.4, §6; the foundation issue's list):
 * - each endpoint answers 200 with `application/json` and its wrapper array (§1.1, §1.2);
 * - paging: `offset=2&limit=1` returns a record different from the first page's (§1.1);
 * - `filter=sourcedId='norecords'` answers 200 with `[]`, not 404 (§1.1);
 * - `X-Total-Count` on a paged read and on a by-id read (§1.1; the collection checks it although a
 *   comment there calls it optional, so it is a failing check here: consumers page by it);
 * - `dateLastModified` strictly `YYYY-MM-DDTHH:mm:ss.SSSZ`, and a delta query
 *   `dateLastModified>'T'` returns only records modified at or after T (§1.1);
 * - AND/OR and `~` filters, and the `email='…'` filter (§1.4, SDS Classic's teacher lookup);
 * - contacts: `role='guardian'` (or parent/relative) users with non-empty `agents` of string
 *   sourcedIds, whose agent is a `student` with agents of its own (§1.2), and (the seed) with
 *   familyName, givenName, email, and E.164 phone/sms — when the contacts toggle is on;
 * - user flags parse to SDS values (§1.3) — when the user-flags toggle is on;
 * - required fields per entity (§1.4) on a sample page of every endpoint, on the wire JSON;
 * - every response under 30 s (§1.1).
 * Courses are checked unless `courses: false`; demographics when the demographics toggle is on.
 *
 * Reasons name the request and the record (by sourcedId) and never carry personal values: the email
 * filter is shown masked.
 */
import { parseInstant, formatDateTime } from '../oneroster/dates.ts';
import { ORG_TYPES, ROLE_TYPES, type CollectionName } from '../oneroster/types.ts';
import { CONTACT_ROLES } from './contacts.ts';
import { checkEmail } from './emails.ts';
import { maskValue } from './masking.ts';
import { checkE164 } from './phones.ts';
import type { Toggles } from './toggles.ts';
import { USER_FLAGS_KEY, parseUserFlags } from './user-flags.ts';

/** The part of a response the checks need (what `OneRosterClient.getRaw` returns). */
export interface RawReply {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  json: unknown;
}

/**
 * The port the checks read through: a GET under the API root that does not interpret the status.
 * `OneRosterClient` (src/source/oneroster-client.ts) implements it with `getRaw`.
 */
export interface RawReader {
  getRaw(path: string, query?: Record<string, string | number>, opts?: { signal?: AbortSignal }): Promise<RawReply>;
}

export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  /** Stable id, e.g. `total-count`, `endpoint-users`. */
  id: string;
  title: string;
  status: CheckStatus;
  /** Why it failed or was skipped (for a pass: an optional note). */
  reason?: string;
  /** Wall time of the requests this check made (0 when it reused earlier responses only). */
  durationMs: number;
}

export interface ProviderCheckOptions {
  /** The optional-data toggles: contacts, demographics and user flags are checked only when on. */
  toggles: Toggles;
  /** Check `/courses` (SDS reads it when served). Default true. */
  courses?: boolean;
  /** Records per sample page. Default 100. */
  sampleSize?: number;
  /** SDS's response-time limit per request. Default 30 000 ms. */
  responseLimitMs?: number;
  signal?: AbortSignal;
  /** Monotonic clock in ms (tests). Default `performance.now`. */
  now?: () => number;
}

type Obj = Record<string, unknown>;

const REQUIRED_ENDPOINTS: readonly CollectionName[] = ['academicSessions', 'orgs', 'users', 'classes', 'enrollments'];
const ORG_REF_TYPES: ReadonlySet<string> = new Set([...ORG_TYPES, 'org']);
const ORG_TYPE_SET: ReadonlySet<string> = new Set(ORG_TYPES);
const SESSION_TYPE_SET: ReadonlySet<string> = new Set(['gradingPeriod', 'semester', 'schoolYear', 'term']);
const TERM_REF_TYPES: ReadonlySet<string> = new Set(['academicSession', 'term', 'gradingPeriod', 'semester', 'schoolYear']);
const ROLE_SET: ReadonlySet<string> = new Set(ROLE_TYPES);
const STATUS_SET: ReadonlySet<string> = new Set(['active', 'tobedeleted']);
/** Problems listed in one reason before "and N more". */
const MAX_LISTED = 3;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v.trim() !== '';
}

/** `YYYY-MM-DDTHH:mm:ss.SSSZ` exactly, and a real instant (SDS's Postman test parses it strictly). */
export function isStrictDateTime(v: unknown): boolean {
  if (typeof v !== 'string' || v.length !== 24) return false;
  const ms = parseInstant(v);
  return ms !== undefined && formatDateTime(ms) === v;
}

function isDate(v: unknown): boolean {
  return typeof v === 'string' && v.length === 10 && parseInstant(v) !== undefined;
}

function idOf(v: unknown): string {
  return isObj(v) && typeof v['sourcedId'] === 'string' ? v['sourcedId'] : '(no sourcedId)';
}

/** Human form of a request: path plus the unencoded query, as people read it. */
function describe(path: string, query: Record<string, string | number>): string {
  const q = Object.entries(query).map(([k, v]) => `${k}=${v}`).join('&');
  return q === '' ? path : `${path}?${q}`;
}

function listReasons(problems: string[], what = 'problems'): string {
  const shown = problems.slice(0, MAX_LISTED).join('; ');
  return problems.length > MAX_LISTED ? `${shown} (and ${problems.length - MAX_LISTED} more ${what})` : shown;
}

// ---------------------------------------------------------------------------------------------
// Required fields on the wire (sds-notes §1.4)

function checkRef(problems: string[], prefix: string, rec: Obj, key: string, types: ReadonlySet<string> | string): void {
  const r = rec[key];
  if (!isObj(r)) {
    problems.push(`${prefix}: ${key} missing`);
    return;
  }
  if (!nonEmptyString(r['sourcedId'])) problems.push(`${prefix}: ${key}.sourcedId missing or not a string`);
  const t = r['type'];
  const ok = typeof types === 'string' ? t === types : typeof t === 'string' && types.has(t);
  if (!ok) problems.push(`${prefix}: ${key}.type ${JSON.stringify(t ?? null)} is not ${typeof types === 'string' ? `"${types}"` : `one of ${[...types].join(', ')}`}`);
}

function checkRefList(problems: string[], prefix: string, rec: Obj, key: string, types: ReadonlySet<string>): void {
  const list = rec[key];
  if (!Array.isArray(list) || list.length === 0) {
    problems.push(`${prefix}: ${key} missing or empty`);
    return;
  }
  checkRef(problems, prefix, { [key]: list[0] }, key, types);
}

/**
 * §1.4 problems of one wire record (`"users stu-1: givenName missing"`); empty when it passes.
 * Exported for tests and for `rostersync check --json` consumers who want to re-run it on a dump.
 */
export function requiredFieldProblems(collection: CollectionName, rec: unknown): string[] {
  const problems: string[] = [];
  const prefix = `${collection} ${idOf(rec)}`;
  if (!isObj(rec)) return [`${collection}: an item is not a JSON object`];
  const str = (key: string): void => {
    if (!nonEmptyString(rec[key])) problems.push(`${prefix}: ${key} missing or empty`);
  };
  const oneOf = (key: string, set: ReadonlySet<string>): void => {
    const v = rec[key];
    if (!nonEmptyString(v)) problems.push(`${prefix}: ${key} missing or empty`);
    else if (!set.has(v)) problems.push(`${prefix}: ${key} "${v.slice(0, 40)}" is not one of ${[...set].join(', ')}`);
  };
  str('sourcedId');
  if (collection !== 'demographics') oneOf('status', STATUS_SET);
  if (rec['dateLastModified'] === undefined || rec['dateLastModified'] === null) problems.push(`${prefix}: dateLastModified missing`);
  switch (collection) {
    case 'academicSessions': {
      str('title');
      oneOf('type', SESSION_TYPE_SET);
      const y = rec['schoolYear'];
      if (typeof y !== 'string' || y.length !== 4 || !/^\d{4}$/.test(y)) problems.push(`${prefix}: schoolYear ${JSON.stringify(y ?? null)} is not a 4-digit year string`);
      for (const k of ['startDate', 'endDate']) if (!isDate(rec[k])) problems.push(`${prefix}: ${k} ${JSON.stringify(rec[k] ?? null)} is not YYYY-MM-DD`);
      break;
    }
    case 'orgs':
      str('name');
      oneOf('type', ORG_TYPE_SET);
      str('identifier');
      break;
    case 'users':
      str('username');
      str('givenName');
      str('identifier');
      checkRefList(problems, prefix, rec, 'orgs', ORG_REF_TYPES);
      break;
    case 'classes':
      str('title');
      checkRef(problems, prefix, rec, 'school', ORG_REF_TYPES);
      checkRefList(problems, prefix, rec, 'terms', TERM_REF_TYPES);
      break;
    case 'enrollments':
      oneOf('role', ROLE_SET);
      checkRef(problems, prefix, rec, 'school', ORG_REF_TYPES);
      checkRef(problems, prefix, rec, 'class', 'class');
      checkRef(problems, prefix, rec, 'user', 'user');
      break;
    case 'courses': {
      str('title');
      const org = rec['org'];
      if (!isObj(org) || !nonEmptyString(org['sourcedId'])) problems.push(`${prefix}: org.sourcedId missing`);
      break;
    }
    case 'demographics':
      break;
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Running

interface Fetched {
  /** Undefined when the request threw (see `error`). */
  reply?: RawReply;
  error?: string;
  label: string;
  ms: number;
}

/** Per-run state: the reader, timings and the sample pages shared by several checks. */
class Probe {
  readonly timings: Array<{ label: string; ms: number }> = [];
  readonly samples = new Map<CollectionName, { fetched: Fetched; items?: unknown[] }>();
  private spent = 0;

  constructor(
    private readonly reader: RawReader,
    private readonly opts: Required<Pick<ProviderCheckOptions, 'responseLimitMs' | 'now' | 'sampleSize'>> & { signal?: AbortSignal },
  ) {}

  get sampleSize(): number {
    return this.opts.sampleSize;
  }

  /** Time spent in requests since the last call. */
  takeSpent(): number {
    const s = this.spent;
    this.spent = 0;
    return s;
  }

  /** One GET. `label` overrides the request's description in reasons (to mask a personal filter value). */
  async get(path: string, query: Record<string, string | number> = {}, label = describe(path, query)): Promise<Fetched> {
    // A request still running past the limit already failed SDS's check; abort it a little later so a
    // hung provider cannot hang the whole check run.
    const timeout = AbortSignal.timeout(this.opts.responseLimitMs + 5_000);
    const signal = this.opts.signal !== undefined ? AbortSignal.any([this.opts.signal, timeout]) : timeout;
    const started = this.opts.now();
    let out: Fetched;
    try {
      const reply = await this.reader.getRaw(path, query, { signal });
      out = { reply, label, ms: this.opts.now() - started };
    } catch (err) {
      if (this.opts.signal?.aborted === true) throw err;
      const ms = this.opts.now() - started;
      const message = timeout.aborted ? `no response within ${Math.round((this.opts.responseLimitMs + 5_000) / 1000)} s` : err instanceof Error ? err.message : String(err);
      out = { error: message, label, ms };
    }
    this.spent += out.ms;
    this.timings.push({ label, ms: out.ms });
    return out;
  }

  /** The array under `key` of a successful JSON reply, or a reason why there is none. */
  static list(f: Fetched, key: string): { items: unknown[] } | { problem: string } {
    if (f.reply === undefined) return { problem: `${f.label} failed: ${f.error ?? 'no response'}` };
    const { status, json } = f.reply;
    if (status !== 200) return { problem: `${f.label} answered HTTP ${status}, expected 200` };
    if (!isObj(json)) return { problem: `${f.label} answered 200 but the body is not a JSON object` };
    const v = json[key];
    if (!Array.isArray(v)) return { problem: `${f.label} answered 200 without a "${key}" array` };
    return { items: v };
  }

  async sample(collection: CollectionName): Promise<{ fetched: Fetched; items?: unknown[] }> {
    const have = this.samples.get(collection);
    if (have !== undefined) return have;
    const fetched = await this.get(`/${collection}`, { offset: 0, limit: this.opts.sampleSize, filter: "status='active'" });
    const l = Probe.list(fetched, collection);
    const s = 'items' in l ? { fetched, items: l.items } : { fetched };
    this.samples.set(collection, s);
    return s;
  }
}

type Outcome = { status: CheckStatus; reason?: string };
const pass = (reason?: string): Outcome => (reason === undefined ? { status: 'pass' } : { status: 'pass', reason });
const fail = (reason: string): Outcome => ({ status: 'fail', reason });
const skip = (reason: string): Outcome => ({ status: 'skip', reason });

function contentTypeProblem(f: Fetched): string | undefined {
  const ct = f.reply?.headers['content-type'];
  if (ct === undefined) return `Content-Type missing on ${f.label}, expected application/json`;
  const media = ct.split(';', 1)[0]!.trim().toLowerCase();
  return media === 'application/json' ? undefined : `Content-Type is "${ct.slice(0, 60)}" on ${f.label}, expected application/json`;
}

function totalCountProblem(f: Fetched): string | undefined {
  if (f.reply === undefined) return `${f.label} failed: ${f.error ?? 'no response'}`;
  const v = f.reply.headers['x-total-count'];
  if (v === undefined) return `X-Total-Count missing on ${f.label}`;
  if (!/^\s*\d+\s*$/.test(v)) return `X-Total-Count "${v.slice(0, 30)}" on ${f.label} is not a whole number`;
  return undefined;
}

/** Users of the sample page (parsed objects), or undefined when the users sample failed. */
async function sampleUsers(probe: Probe): Promise<Obj[] | undefined> {
  const s = await probe.sample('users');
  return s.items?.filter(isObj);
}

const NO_USERS = 'the /users sample page could not be read (see endpoint-users)';

async function checkEndpoint(probe: Probe, collection: CollectionName): Promise<Outcome> {
  const s = await probe.sample(collection);
  const l = Probe.list(s.fetched, collection);
  if ('problem' in l) return fail(l.problem);
  const ct = contentTypeProblem(s.fetched);
  return ct === undefined ? pass() : fail(ct);
}

async function checkPaging(probe: Probe): Promise<Outcome> {
  const first = await probe.get('/users', { offset: 0, limit: 1 });
  const third = await probe.get('/users', { offset: 2, limit: 1 });
  const a = Probe.list(first, 'users');
  const b = Probe.list(third, 'users');
  if ('problem' in a) return fail(a.problem);
  if ('problem' in b) return fail(b.problem);
  if (a.items.length > 1) return fail(`${first.label} returned ${a.items.length} records; limit is not honoured`);
  if (b.items.length === 0) {
    const total = Number(third.reply?.headers['x-total-count']);
    return Number.isFinite(total) && total < 3 ? skip('fewer than 3 users; paging cannot be tested') : fail(`${third.label} returned no record`);
  }
  const idA = idOf(a.items[0]);
  const idB = idOf(b.items[0]);
  if (idA === idB) return fail(`${third.label} returned the same record (${idA}) as ${first.label}: the provider ignores offset`);
  return pass();
}

async function checkNoRecords(probe: Probe): Promise<Outcome> {
  const problems: string[] = [];
  for (const c of REQUIRED_ENDPOINTS) {
    const f = await probe.get(`/${c}`, { filter: "sourcedId='norecords'" });
    const l = Probe.list(f, c);
    if ('problem' in l) problems.push(`${l.problem} (SDS expects 200 with an empty "${c}" array, not an error)`);
    else if (l.items.length > 0) problems.push(`${f.label} returned ${l.items.length} record(s), expected none`);
  }
  return problems.length === 0 ? pass() : fail(listReasons(problems));
}

async function checkTotalCount(probe: Probe): Promise<Outcome> {
  const problems: string[] = [];
  const paged = await probe.get('/users', { offset: 2, limit: 1 });
  const p1 = totalCountProblem(paged);
  if (p1 !== undefined) problems.push(p1);
  const users = await sampleUsers(probe);
  const id = users?.[0]?.['sourcedId'];
  if (typeof id !== 'string') problems.push(`no user to read by id (${NO_USERS})`);
  else {
    const one = await probe.get(`/users/${encodeURIComponent(id)}`);
    const p2 = totalCountProblem(one);
    if (p2 !== undefined) problems.push(p2);
  }
  return problems.length === 0 ? pass() : fail(problems.join('; '));
}

async function checkDateFormat(probe: Probe): Promise<Outcome> {
  const problems: string[] = [];
  let checked = 0;
  for (const [c, s] of probe.samples) {
    for (const rec of s.items ?? []) {
      if (!isObj(rec)) continue;
      checked++;
      const v = rec['dateLastModified'];
      if (!isStrictDateTime(v)) problems.push(`${c} ${idOf(rec)}: dateLastModified ${JSON.stringify(v ?? null).slice(0, 40)} is not YYYY-MM-DDTHH:mm:ss.SSSZ`);
    }
  }
  if (checked === 0) return skip('no sample page could be read');
  return problems.length === 0 ? pass() : fail(listReasons(problems, 'records'));
}

async function checkDelta(probe: Probe): Promise<Outcome> {
  const users = await sampleUsers(probe);
  if (users === undefined) return skip(NO_USERS);
  const stamps = users.map((u) => (typeof u['dateLastModified'] === 'string' ? parseInstant(u['dateLastModified']) : undefined)).filter((x): x is number => x !== undefined).sort((x, y) => x - y);
  if (stamps.length === 0) return skip('no user in the sample has a readable dateLastModified');
  // The median sample stamp: some sampled records are newer (the answer must not be empty), some older.
  const t = stamps[Math.floor((stamps.length - 1) / 2)]!;
  const newer = stamps.some((x) => x > t);
  const tText = formatDateTime(t);
  const f = await probe.get('/users', { offset: 0, limit: probe.sampleSize, filter: `dateLastModified>'${tText}'` });
  const l = Probe.list(f, 'users');
  if ('problem' in l) return fail(l.problem);
  const problems: string[] = [];
  for (const rec of l.items) {
    const v = isObj(rec) ? rec['dateLastModified'] : undefined;
    const ms = typeof v === 'string' ? parseInstant(v) : undefined;
    if (ms === undefined || ms < t) problems.push(`users ${idOf(rec)} has dateLastModified ${JSON.stringify(v ?? null).slice(0, 40)}, before ${tText}`);
  }
  if (problems.length > 0) return fail(`${f.label} returned records modified before the filter time: ${listReasons(problems, 'records')}`);
  if (newer && l.items.length === 0) return fail(`${f.label} returned nothing although the sample has users modified after ${tText}: the delta filter is not applied correctly`);
  return pass();
}

async function checkFilters(probe: Probe): Promise<Outcome> {
  const users = await sampleUsers(probe);
  if (users === undefined || users.length === 0) return skip(users === undefined ? NO_USERS : 'no users to filter');
  const problems: string[] = [];
  const ids = users.map((u) => u['sourcedId']).filter((x): x is string => typeof x === 'string' && !x.includes("'"));
  // AND: role and status.
  const role = users.some((u) => u['role'] === 'student') ? 'student' : String(users[0]!['role'] ?? 'student');
  const and = await probe.get('/users', { offset: 0, limit: probe.sampleSize, filter: `role='${role}' AND status='active'` });
  const la = Probe.list(and, 'users');
  if ('problem' in la) problems.push(la.problem);
  else if (la.items.length === 0) problems.push(`${and.label} returned nothing although the sample has active ${role}s`);
  else {
    const wrong = la.items.find((u) => !isObj(u) || u['role'] !== role || u['status'] !== 'active');
    if (wrong !== undefined) problems.push(`${and.label} returned users ${idOf(wrong)}, which does not match both conditions`);
  }
  // OR: two sourcedIds.
  if (ids.length >= 2) {
    const [x, y] = [ids[0]!, ids[ids.length - 1]!];
    const or = await probe.get('/users', { filter: `sourcedId='${x}' OR sourcedId='${y}'` });
    const lo = Probe.list(or, 'users');
    if ('problem' in lo) problems.push(lo.problem);
    else {
      const got = new Set(lo.items.map(idOf));
      if (!got.has(x) || !got.has(y) || got.size !== 2) problems.push(`${or.label} returned [${[...got].slice(0, 5).join(', ')}], expected exactly ${x} and ${y}`);
    }
  }
  // ~ (contains): the sourcedId itself must be found, and everything returned must contain it.
  if (ids.length >= 1) {
    const x = ids[0]!;
    const like = await probe.get('/users', { offset: 0, limit: probe.sampleSize, filter: `sourcedId~'${x}'` });
    const ll = Probe.list(like, 'users');
    if ('problem' in ll) problems.push(ll.problem);
    else {
      const got = ll.items.map(idOf);
      if (!got.includes(x)) problems.push(`${like.label} did not return ${x}`);
      const stray = got.find((g) => !g.toLowerCase().includes(x.toLowerCase()));
      if (stray !== undefined) problems.push(`${like.label} returned ${stray}, which does not contain "${x}"`);
    }
  }
  return problems.length === 0 ? pass() : fail(listReasons(problems));
}

async function checkEmailFilter(probe: Probe): Promise<Outcome> {
  const users = await sampleUsers(probe);
  if (users === undefined) return skip(NO_USERS);
  const user = users.find((u) => nonEmptyString(u['email']) && !(u['email'] as string).includes("'") && typeof u['sourcedId'] === 'string');
  if (user === undefined) return skip('no user in the sample has an email');
  const email = user['email'] as string;
  const id = user['sourcedId'] as string;
  const f = await probe.get('/users', { filter: `email='${email}'` }, `/users?filter=email='${maskValue('email', email)}'`);
  const l = Probe.list(f, 'users');
  if ('problem' in l) return fail(l.problem);
  if (!l.items.some((u) => idOf(u) === id)) return fail(`${f.label} (the email of users ${id}) did not return ${id}`);
  return pass();
}

async function checkContacts(probe: Probe): Promise<Outcome> {
  // SDS's collection asks for guardian and says to substitute parent or relative when the SIS uses
  // those; SIS mix them, so all three are read and every contact found is checked.
  const items: Obj[] = [];
  const labels: string[] = [];
  for (const role of ['guardian', 'parent', 'relative']) {
    const f = await probe.get('/users', { offset: 0, limit: probe.sampleSize, filter: `role='${role}'` });
    const l = Probe.list(f, 'users');
    if ('problem' in l) return fail(l.problem);
    labels.push(f.label);
    for (const x of l.items) if (isObj(x)) items.push(x);
  }
  if (items.length === 0) return fail(`no contacts: ${labels.join(', ')} all returned no users`);
  const found = { items, label: labels.join(' / ') };
  const problems: string[] = [];
  for (const c of found.items) {
    const role = c['role'];
    if (typeof role !== 'string' || !CONTACT_ROLES.has(role)) problems.push(`users ${idOf(c)} returned by ${found.label} has role ${JSON.stringify(role ?? null)}`);
    const agents = c['agents'];
    if (!Array.isArray(agents) || agents.length === 0) problems.push(`contact ${idOf(c)} has no agents (the students it is a contact for)`);
    else if (!agents.every((a) => isObj(a) && nonEmptyString(a['sourcedId']))) problems.push(`contact ${idOf(c)} has agents without a string sourcedId`);
    // The seed: "familyName, givenName, and email are required for users that have contact/guardian roles",
    // and "Expect phone and sms to be in E.164 and + must be included".
    for (const k of ['familyName', 'givenName', 'email']) if (!nonEmptyString(c[k])) problems.push(`contact ${idOf(c)}: ${k} missing (required for contacts)`);
    if (nonEmptyString(c['email']) && checkEmail(c['email'].trim()) === 'invalid') problems.push(`contact ${idOf(c)}: email is not a valid address`);
    for (const k of ['phone', 'sms']) {
      const v = c[k];
      if (v === undefined || v === null || v === '') continue;
      const r = typeof v === 'string' ? checkE164(v) : { ok: false as const, reason: 'is not text' };
      if (!r.ok) problems.push(`contact ${idOf(c)}: ${k} ${r.reason}`);
    }
  }
  if (problems.length > 0) return fail(listReasons(problems));
  // The reverse link: the first contact's first agent must be a student who has agents too.
  const contact = found.items[0]!;
  const agentId = ((contact['agents'] as Obj[])[0]!['sourcedId']) as string;
  const f = await probe.get(`/users/${encodeURIComponent(agentId)}`);
  if (f.reply === undefined) return fail(`${f.label} failed: ${f.error ?? 'no response'}`);
  if (f.reply.status !== 200) return fail(`${f.label} (agent of contact ${idOf(contact)}) answered HTTP ${f.reply.status}, expected 200`);
  const student = isObj(f.reply.json) ? f.reply.json['user'] : undefined;
  if (!isObj(student)) return fail(`${f.label} answered 200 without a "user" object`);
  if (student['role'] !== 'student') return fail(`${f.label} (agent of contact ${idOf(contact)}) has role ${JSON.stringify(student['role'] ?? null)}, expected student`);
  const back = student['agents'];
  if (!Array.isArray(back) || back.length === 0) return fail(`student ${agentId} (agent of contact ${idOf(contact)}) has no agents; SDS reads relationships from the student's agents`);
  return pass();
}

async function checkUserFlags(probe: Probe): Promise<Outcome> {
  const users = await sampleUsers(probe);
  if (users === undefined) return skip(NO_USERS);
  // Flags live on students; the first /users page is often all contacts or staff (sorted by
  // sourcedId), so also look at a /students page.
  const students = await probe.get('/students', { offset: 0, limit: probe.sampleSize, filter: "status='active'" });
  const studentList = Probe.list(students, 'users');
  if (!('problem' in studentList)) users.push(...studentList.items.filter(isObj));
  const problems: string[] = [];
  let flagged = 0;
  for (const u of users) {
    const meta = u['metadata'];
    if (!isObj(meta) || meta[USER_FLAGS_KEY] === undefined) continue;
    flagged++;
    const v = meta[USER_FLAGS_KEY];
    if (u['role'] !== 'student') problems.push(`users ${idOf(u)} (role ${String(u['role'])}) carries user flags; they apply to students only`);
    else if (typeof v !== 'string') problems.push(`users ${idOf(u)}: metadata.${USER_FLAGS_KEY} is not comma-separated text`);
    else for (const x of parseUserFlags(v).unknown) problems.push(`users ${idOf(u)}: "${x.slice(0, 40)}" is not an SDS user flag`);
  }
  if (problems.length > 0) return fail(listReasons(problems));
  return pass(flagged === 0 ? `no user in the /users and /students samples carries metadata.${USER_FLAGS_KEY}` : `${flagged} sampled users carry valid flags`);
}

async function checkRequiredFields(probe: Probe): Promise<Outcome> {
  const problems: string[] = [];
  let checked = 0;
  for (const [c, s] of probe.samples) {
    for (const rec of s.items ?? []) {
      checked++;
      problems.push(...requiredFieldProblems(c, rec));
    }
  }
  if (checked === 0) return skip('no sample page could be read');
  return problems.length === 0 ? pass() : fail(listReasons(problems));
}

async function checkResponseTime(probe: Probe, limitMs: number): Promise<Outcome> {
  if (probe.timings.length === 0) return skip('no request was made');
  const slow = probe.timings.filter((t) => t.ms >= limitMs).sort((a, b) => b.ms - a.ms);
  if (slow.length === 0) {
    const max = Math.max(...probe.timings.map((t) => t.ms));
    return pass(`slowest of ${probe.timings.length} responses: ${(max / 1000).toFixed(2)} s`);
  }
  return fail(listReasons(slow.map((t) => `${t.label} took ${(t.ms / 1000).toFixed(1)} s (limit ${limitMs / 1000} s)`), 'slow responses'));
}

interface CheckDef {
  id: string;
  title: string;
  run: () => Promise<Outcome>;
}

/**
 * Runs every provider check against one OneRoster API and returns one result per check, in a fixed
 * order. Never throws for provider problems (they are failed checks); rethrows only when `signal`
 * aborts. Requests are serial, as SDS makes them.
 */
export async function runProviderChecks(reader: RawReader, options: ProviderCheckOptions): Promise<CheckResult[]> {
  const limitMs = options.responseLimitMs ?? 30_000;
  const now = options.now ?? (() => performance.now());
  const probe = new Probe(reader, {
    responseLimitMs: limitMs,
    now,
    sampleSize: options.sampleSize ?? 100,
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  });
  const { toggles } = options;
  const withCourses = options.courses ?? true;
  const q = (c: string): string => `GET /${c}?offset=0&limit=${probe.sampleSize}&filter=status='active'`;

  const endpoint = (c: CollectionName, enabled: boolean, off: string): CheckDef => ({
    id: `endpoint-${c}`,
    title: `${q(c)} answers 200 application/json with a "${c}" array`,
    run: () => (enabled ? checkEndpoint(probe, c) : Promise.resolve(skip(off))),
  });
  const optional = (enabled: boolean, off: string, run: () => Promise<Outcome>): (() => Promise<Outcome>) => () => (enabled ? run() : Promise.resolve(skip(off)));

  const checks: CheckDef[] = [
    ...REQUIRED_ENDPOINTS.map((c) => endpoint(c, true, '')),
    endpoint('courses', withCourses, 'courses are not checked for this connection'),
    endpoint('demographics', toggles.demographics, 'the demographics toggle is off'),
    { id: 'paging', title: 'offset=2&limit=1 returns a record different from the first page', run: () => checkPaging(probe) },
    { id: 'no-records', title: "filter=sourcedId='norecords' answers 200 with an empty array on every required endpoint", run: () => checkNoRecords(probe) },
    { id: 'total-count', title: 'X-Total-Count is sent on a paged read and on a read by id', run: () => checkTotalCount(probe) },
    { id: 'date-format', title: 'dateLastModified is YYYY-MM-DDTHH:mm:ss.SSSZ on every sampled record', run: () => checkDateFormat(probe) },
    { id: 'delta', title: "filter=dateLastModified>'T' returns only records modified at or after T", run: () => checkDelta(probe) },
    { id: 'filters', title: 'AND, OR and ~ (contains) filters work', run: () => checkFilters(probe) },
    { id: 'email-filter', title: "filter=email='…' finds that user", run: () => checkEmailFilter(probe) },
    { id: 'contacts', title: "role='guardian' (or parent/relative) users have student agents (linked back), names, email and E.164 phones", run: optional(toggles.contacts, 'the contacts toggle is off', () => checkContacts(probe)) },
    { id: 'user-flags', title: `metadata.${USER_FLAGS_KEY} holds only SDS user flags, on students`, run: optional(toggles.userFlags, 'the user-flags toggle is off', () => checkUserFlags(probe)) },
    { id: 'required-fields', title: 'Required fields per entity (SDS provider tests) on a sample page of each endpoint', run: () => checkRequiredFields(probe) },
    { id: 'response-time', title: `Every response arrives within ${limitMs / 1000} s`, run: () => checkResponseTime(probe, limitMs) },
  ];

  const results: CheckResult[] = [];
  let unreachable: string | undefined;
  for (const def of checks) {
    if (options.signal?.aborted === true) throw options.signal.reason;
    let outcome: Outcome;
    probe.takeSpent();
    if (unreachable !== undefined && def.id !== 'response-time') outcome = skip(unreachable);
    else outcome = await def.run();
    const r: CheckResult = { id: def.id, title: def.title, status: outcome.status, durationMs: Math.round(probe.takeSpent()) };
    if (outcome.reason !== undefined) r.reason = outcome.reason;
    results.push(r);
    // When no required endpoint can be read at all (wrong URL, credentials), every later check would
    // fail for the same reason: say so once and skip them.
    if (def.id === `endpoint-${REQUIRED_ENDPOINTS[REQUIRED_ENDPOINTS.length - 1]}` && REQUIRED_ENDPOINTS.every((c) => probe.samples.get(c)?.items === undefined)) {
      unreachable = 'not run: none of the required endpoints could be read (see the endpoint checks)';
    }
  }
  return results;
}
