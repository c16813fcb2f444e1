/**
 * The School Data Sync validation layer: SDS's own rules, applied to records ALREADY read by
 * `readEntity` (src/oneroster/reader.ts), which did the generic OneRoster 1.1 work (lenient types,
 * enums matched case-insensitively and stored in their 1.1 spelling, booleans, ISO 8601 dates, grade
 * leading zeros, 1.1 required fields). This layer adds what SDS checks on top (sds-notes §1.2–1.4, §3):
 * - required fields per entity as SDS's provider tests check them (§1.4): org `identifier`, user
 *   `identifier`, course `org`, …;
 * - emails lower-cased and validated (§3.1);
 * - contacts (§1.2, the seed): `familyName`, `givenName`, `email` required; `phone`/`sms` E.164 with
 *   `+`; reverse agents (a contact's own `agents`) filtered out of relationships and counted;
 * - user flags (`metadata."microsoft.userFlags"`, §1.3): normalised; unknown values and flags on
 *   non-students are warnings;
 * - the optional-data toggles: with a toggle off that data is not ingested at all.
 * Semantics (§3.2): an `error` drops the record; a `warning` drops the value and keeps the record.
 * Every message names the entity, sourcedId, field and says what to fix AT THE SIS; personal values
 * are masked (`maskValue`).
 *
 * Records marked `tobedeleted` are passed through unchecked: a deletion needs only its sourcedId, and
 * dropping one for a missing identifier would keep a deleted student alive downstream.
 *
 * Hot path (~1.5M records per `large` run): no regexes, no closures per record, copy-on-write only
 * when a value is fixed or dropped, phone parsing only for contacts, user-flag parses memoised.
 */
import type { DataIssue, Severity } from '../oneroster/issues.ts';
import type { CollectionName, EntityByCollection, GuidRef, Metadata, User } from '../oneroster/types.ts';
import { isContactRole } from './contacts.ts';
import { checkEmail } from './emails.ts';
import { maskValue } from './masking.ts';
import { checkE164, type PhoneCheck } from './phones.ts';
import type { Toggles } from './toggles.ts';
import { USER_FLAGS, USER_FLAGS_FIELD, USER_FLAGS_KEY, parseUserFlags } from './user-flags.ts';

/** One rule of the catalogue: its severity, what it means, and what to fix at the SIS. */
export interface SdsRule {
  severity: Severity;
  description: string;
  /** The general fix, said to the person who maintains the SIS data. */
  fix: string;
}

/** Every rule code this module and `checkReferences` emit. Codes are stable (reports group by them). */
export const SDS_RULES = {
  'sds-required-field': {
    severity: 'error',
    description: 'A field School Data Sync requires (its provider tests, sds-notes §1.4) is missing or empty; the record was dropped.',
    fix: 'fill in the field for this record in the SIS (or in the SIS\'s OneRoster field mapping).',
  },
  'contact-required-field': {
    severity: 'error',
    description: 'A contact (parent, guardian or relative) lacks familyName, givenName or email, which SDS requires of contacts; the contact was dropped.',
    fix: 'enter the contact\'s first name, last name and email address in the SIS.',
  },
  'contact-invalid-email': {
    severity: 'error',
    description: 'A contact\'s email, which SDS requires of contacts, is not a valid address; the contact was dropped.',
    fix: 'correct the contact\'s email address in the SIS (one address, like name@example.org).',
  },
  'invalid-email': {
    severity: 'warning',
    description: 'An optional email is not a valid address (RFC 5322 addr-spec); the value was dropped.',
    fix: 'correct or clear the email address in the SIS (one address, like name@example.org).',
  },
  'invalid-phone': {
    severity: 'warning',
    description: 'A contact\'s phone or sms is not E.164 with the leading + (e.g. +12125550123) or not a valid number; the value was dropped.',
    fix: 'store the number with "+" and the country code and no spaces or punctuation, e.g. +12125550123.',
  },
  'unknown-user-flag': {
    severity: 'warning',
    description: `A value of metadata.${USER_FLAGS_KEY} is not an SDS user flag (${USER_FLAGS.join(', ')}); that value was dropped.`,
    fix: `use only the SDS flag values (${USER_FLAGS.join(', ')}), comma-separated, in the user-flag export.`,
  },
  'invalid-user-flags': {
    severity: 'warning',
    description: `metadata.${USER_FLAGS_KEY} is not comma-separated text; the flags were dropped.`,
    fix: `send the flags as one comma-separated text value, e.g. "freeLunch,IEP".`,
  },
  'user-flags-not-student': {
    severity: 'warning',
    description: 'User flags were sent for a user who is not a student; SDS applies flags to students only, so they were dropped.',
    fix: 'send program flags on student records only.',
  },
  'dangling-reference': {
    severity: 'error',
    description: 'A required reference points at a record that was not received (or was dropped by an error); the record was dropped.',
    fix: 'make sure the referenced record exists, is active and is shared with this OneRoster client, or correct the reference.',
  },
  'dangling-reference-dropped': {
    severity: 'warning',
    description: 'An optional reference (or one entry of a reference list) points at a record that was not received; that reference was dropped.',
    fix: 'make sure the referenced record exists and is shared with this OneRoster client, or remove the reference.',
  },
  'demographics-without-user': {
    severity: 'error',
    description: 'A demographics record\'s sourcedId matches no user (demographics share their user\'s sourcedId); it was dropped.',
    fix: 'give each demographics record the sourcedId of its user, and make sure that user is exported.',
  },
} as const satisfies Record<string, SdsRule>;

export type SdsRuleCode = keyof typeof SDS_RULES;

/**
 * Failures that stop a run (status `failed`) rather than drop records (issue 5; sds-notes §3.3), keyed
 * by the `SourceError` code that signals them (src/source/errors.ts).
 */
export const CATASTROPHIC_RULES: Readonly<Record<string, { rule: string; description: string; fix: string }>> = {
  auth_failed: { rule: 'auth-failed', description: 'The provider rejected the credentials.', fix: 'check the client ID, client secret and token URL with the SIS vendor.' },
  forbidden: { rule: 'access-denied', description: 'The provider refused access to a required endpoint.', fix: 'grant this OneRoster client access to every required endpoint (and scope) in the SIS.' },
  endpoint_missing: { rule: 'required-endpoint-missing', description: 'A required endpoint answered 404.', fix: 'check the Web access URL; the SIS must serve /academicSessions, /orgs, /users, /classes and /enrollments.' },
  bad_envelope: { rule: 'invalid-response', description: 'A response was not JSON or lacked its wrapper key (e.g. {"users": [...]}).', fix: 'check that the Web access URL points at the OneRoster API, not a login page; report the malformed response to the SIS vendor.' },
};

/** Required fields per entity as SDS's provider tests check them (sds-notes §1.4), in internal-shape names. */
export const SDS_REQUIRED_FIELDS: Readonly<Record<CollectionName, readonly string[]>> = {
  academicSessions: ['sourcedId', 'status', 'title', 'type', 'schoolYear', 'startDate', 'endDate', 'dateLastModified'],
  orgs: ['sourcedId', 'status', 'name', 'type', 'identifier', 'dateLastModified'],
  users: ['sourcedId', 'status', 'username', 'givenName', 'identifier', 'orgs', 'dateLastModified'],
  classes: ['sourcedId', 'status', 'title', 'school', 'terms', 'dateLastModified'],
  enrollments: ['sourcedId', 'status', 'role', 'school', 'class', 'user', 'dateLastModified'],
  courses: ['sourcedId', 'status', 'title', 'org', 'dateLastModified'],
  demographics: ['sourcedId', 'dateLastModified'],
};

/** Extra fields SDS requires of contacts (the seed: "familyName, givenName, and email are required"). */
export const CONTACT_REQUIRED_FIELDS: readonly string[] = ['familyName', 'givenName', 'email'];

/** Field-specific fixes for required-field issues (entity.field → fix). */
const FIELD_FIX: Readonly<Record<string, string>> = {
  'orgs.identifier': 'give every org its identifier (e.g. the state or district school code) in the SIS.',
  'users.identifier': 'give every user an identifier (the SIS\'s student or staff number) in the SIS.',
  'users.username': 'give every user a username (usually the sign-in name) in the SIS.',
  'users.givenName': 'enter the user\'s first name in the SIS.',
  'users.familyName': 'enter the contact\'s last name in the SIS.',
  'users.email': 'enter the contact\'s email address in the SIS.',
  'users.orgs': 'link every user to at least one school or the district in the SIS.',
  'courses.org': 'link every course to the school or district that offers it in the SIS.',
  'classes.school': 'link every class to its school in the SIS.',
  'classes.terms': 'link every class to at least one term or grading period in the SIS.',
};

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);
}

/** Pushes one issue. `detail` continues "entity id: field …"; `value` is masked when personal. */
function pushIssue(
  issues: DataIssue[],
  rule: SdsRuleCode,
  entity: string,
  sourcedId: string,
  field: string,
  detail: string,
  value?: string,
  fix?: string,
): void {
  const r = SDS_RULES[rule];
  const issue: DataIssue = {
    severity: r.severity,
    rule,
    entity,
    sourcedId,
    field,
    message: `${entity} ${sourcedId}: ${field} ${detail}. Fix at the SIS: ${fix ?? r.fix} [${rule}]`,
  };
  if (value !== undefined) issue.value = maskValue(field, value);
  issues.push(issue);
}

/** Counters of what the rules filtered without reporting an issue. */
export interface SdsStats {
  /** Records not ingested because their optional-data toggle is off. */
  skippedByToggle: { contacts: number; demographics: number };
  /** Entries of contacts' own `agents` seen: reverse data, never a relationship (kept on the record). */
  reverseAgentsFiltered: number;
  /** Contacts that carried reverse agents. */
  contactsWithReverseAgents: number;
  /** User-flag values ignored because the user-flags toggle is off. */
  flagsIgnoredByToggle: number;
  /** Students' `agents` lists ignored because the contacts toggle is off. */
  agentsIgnoredByToggle: number;
  /** Emails lower-cased. */
  emailsLowercased: number;
}

export interface SdsValidatorOptions {
  toggles: Toggles;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Applies the SDS rules to records of one run. Stateless apart from `stats`, so one instance serves a
 * whole run (or one page). Not thread-shared: give each worker its own.
 */
export class SdsValidator {
  readonly stats: SdsStats = {
    skippedByToggle: { contacts: 0, demographics: 0 },
    reverseAgentsFiltered: 0,
    contactsWithReverseAgents: 0,
    flagsIgnoredByToggle: 0,
    agentsIgnoredByToggle: 0,
    emailsLowercased: 0,
  };
  private readonly toggles: Toggles;

  constructor(options: SdsValidatorOptions) {
    this.toggles = options.toggles;
  }

  /**
   * Whether a record of this collection is ingested at all under the toggles: demographics only with
   * the demographics toggle, contact users only with the contacts toggle. Pure (no counting).
   */
  ingests(collection: CollectionName, record: object): boolean {
    if (collection === 'demographics') return this.toggles.demographics;
    if (collection === 'users' && !this.toggles.contacts) {
      const role = (record as { role?: unknown }).role;
      return typeof role !== 'string' || !isContactRole(role);
    }
    return true;
  }

  /**
   * Checks one record (already read by `readEntity`), appending issues to `issues`. Returns the record
   * to keep (the same object, or a fixed shallow copy when a value was normalised or dropped), or
   * undefined when it is dropped: either an `error` issue was appended, or (with no new issue) its
   * optional-data toggle is off (counted in `stats.skippedByToggle`). The input is never mutated.
   */
  check<C extends CollectionName>(collection: C, record: EntityByCollection[C], issues: DataIssue[]): EntityByCollection[C] | undefined {
    if (collection === 'users') return this.checkUser(record as User, issues) as EntityByCollection[C] | undefined;
    if (collection === 'demographics' && !this.toggles.demographics) {
      this.stats.skippedByToggle.demographics++;
      return undefined;
    }
    if (record.status === 'tobedeleted') return record;
    return this.checkRequired(collection, record as unknown as Record<string, unknown>, record.sourcedId, issues) ? record : undefined;
  }

  /** SDS required fields; true when all present (errors appended otherwise). */
  private checkRequired(collection: CollectionName, rec: Record<string, unknown>, id: string, issues: DataIssue[]): boolean {
    let ok = true;
    for (const f of SDS_REQUIRED_FIELDS[collection]) {
      if (!isEmpty(rec[f])) continue;
      ok = false;
      pushIssue(issues, 'sds-required-field', collection, id, f, 'is required by School Data Sync but is missing or empty; the record was dropped', undefined, FIELD_FIX[`${collection}.${f}`]);
    }
    return ok;
  }

  private checkUser(u: User, issues: DataIssue[]): User | undefined {
    const contact = isContactRole(u.role);
    if (contact && !this.toggles.contacts) {
      this.stats.skippedByToggle.contacts++;
      return undefined;
    }
    if (u.status === 'tobedeleted') return u;
    const id = u.sourcedId;
    let out: Mutable<User> | undefined; // the copy, made on the first fix
    let ok = this.checkRequired('users', u as unknown as Record<string, unknown>, id, issues);

    // Email: lower-cased and validated (§3.1); required for contacts (the seed).
    const email = u.email;
    if (email === undefined || email === '') {
      if (contact) {
        ok = false;
        pushIssue(issues, 'contact-required-field', 'users', id, 'email', 'is required for contacts but is missing; the contact was dropped', undefined, FIELD_FIX['users.email']);
      }
    } else {
      const c = checkEmail(email);
      if (c === 'lower') {
        out ??= { ...u };
        out.email = email.toLowerCase();
        this.stats.emailsLowercased++;
      } else if (c === 'invalid') {
        if (contact) {
          ok = false;
          pushIssue(issues, 'contact-invalid-email', 'users', id, 'email', 'is not a valid email address, and contacts require one; the contact was dropped', email);
        } else {
          pushIssue(issues, 'invalid-email', 'users', id, 'email', 'is not a valid email address; the value was dropped', email);
          out ??= { ...u };
          delete out.email;
        }
      }
    }

    if (contact) {
      if (isEmpty(u.familyName)) {
        ok = false;
        pushIssue(issues, 'contact-required-field', 'users', id, 'familyName', 'is required for contacts but is missing; the contact was dropped', undefined, FIELD_FIX['users.familyName']);
      }
      // givenName is already an SDS required field of every user (reported above).
      // Phone parsing is the costliest rule (~8 µs a number with the full metadata); sms is often the
      // same number as phone, so its result is reused.
      let phoneCheck: PhoneCheck | undefined;
      for (const f of ['phone', 'sms'] as const) {
        const v = u[f];
        if (v === undefined) continue;
        const r = f === 'sms' && phoneCheck !== undefined && v === u.phone ? phoneCheck : checkE164(v);
        if (f === 'phone') phoneCheck = r;
        if (r.ok) continue;
        pushIssue(issues, 'invalid-phone', 'users', id, f, `${r.reason}; SDS expects E.164 with the leading + (e.g. +12125550123); the value was dropped`, v);
        out ??= { ...u };
        delete out[f];
      }
      // Reverse data (the seed): a contact's own agents are filtered out of the relationships and
      // counted; relationships come from the students' agents only (sds-csv.ts). The record keeps
      // them: OneRoster requires a parent's agents ("a user of role 'parent' MUST have agents that
      // are of type 'student'", sds-notes §1.2), and the re-served API must pass the same check.
      if (u.agents !== undefined) {
        this.stats.reverseAgentsFiltered += u.agents.length;
        this.stats.contactsWithReverseAgents++;
      }
    } else if (u.agents !== undefined && !this.toggles.contacts) {
      // With the contacts toggle off relationships are not ingested either.
      this.stats.agentsIgnoredByToggle++;
      out ??= { ...u };
      delete out.agents;
    }

    const meta = u.metadata;
    if (meta !== undefined && meta[USER_FLAGS_KEY] !== undefined) {
      const next = this.userFlags(u, meta[USER_FLAGS_KEY], issues);
      if (next !== meta[USER_FLAGS_KEY]) {
        out ??= { ...u };
        const m: Metadata = { ...meta };
        if (next === undefined) delete m[USER_FLAGS_KEY];
        else m[USER_FLAGS_KEY] = next;
        if (Object.keys(m).length === 0) delete out.metadata;
        else out.metadata = m;
      }
    }
    return ok ? (out ?? u) : undefined;
  }

  /** The flags value to keep (the input when unchanged), or undefined to drop it. */
  private userFlags(u: User, raw: unknown, issues: DataIssue[]): unknown {
    if (!this.toggles.userFlags) {
      this.stats.flagsIgnoredByToggle++;
      return undefined;
    }
    if (raw === null) return undefined;
    if (u.role !== 'student') {
      pushIssue(issues, 'user-flags-not-student', 'users', u.sourcedId, USER_FLAGS_FIELD, `was sent for a user whose role is ${u.role}; flags apply to students only and were dropped`);
      return undefined;
    }
    if (typeof raw !== 'string') {
      pushIssue(issues, 'invalid-user-flags', 'users', u.sourcedId, USER_FLAGS_FIELD, `is ${Array.isArray(raw) ? 'a list' : `a ${typeof raw}`}, not comma-separated text; the flags were dropped`);
      return undefined;
    }
    const parsed = parseUserFlags(raw);
    for (const unknown of parsed.unknown) {
      pushIssue(issues, 'unknown-user-flag', 'users', u.sourcedId, USER_FLAGS_FIELD, `holds "${unknown.length > 40 ? `${unknown.slice(0, 37)}...` : unknown}", which is not an SDS user flag; that value was dropped`, unknown);
    }
    return parsed.normalised === raw ? raw : parsed.normalised;
  }
}

/** Result of `applySdsRules`. */
export interface SdsResult<T> {
  /** The record to keep (maybe a fixed copy); absent when dropped. */
  record?: T;
  issues: DataIssue[];
  /** True when the record was not ingested because its optional-data toggle is off (not an issue). */
  skipped: boolean;
}

/**
 * One-record convenience over `SdsValidator` (tests, small callers). A run should keep one validator
 * and pass its page's issue list, to avoid the per-record allocations.
 */
export function applySdsRules<C extends CollectionName>(collection: C, record: EntityByCollection[C], options: SdsValidatorOptions): SdsResult<EntityByCollection[C]> {
  const v = new SdsValidator(options);
  const issues: DataIssue[] = [];
  const kept = v.check(collection, record, issues);
  const out: SdsResult<EntityByCollection[C]> = { issues, skipped: kept === undefined && !issues.some((i) => i.severity === 'error') };
  if (kept !== undefined) out.record = kept;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Referential integrity

/** One GUIDRef field that must resolve to a record of `target` (issue 5 "Referential integrity"). */
export interface ReferenceRule {
  /** Field of the internal shape; `sourcedId` for demographics (they share their user's id). */
  field: string;
  target: CollectionName;
  /** The field holds a list of GUIDRefs. */
  list: boolean;
  /** Required refs drop the record (error); optional ones drop the value (warning). */
  required: boolean;
  /** Severity when the reference (for a required list: every entry) is unresolved. */
  severity: Severity;
  /** Rule code of that issue. */
  rule: SdsRuleCode;
}

function ref(field: string, target: CollectionName, required: boolean, list = false, rule?: SdsRuleCode): ReferenceRule {
  return Object.freeze({ field, target, list, required, severity: required ? 'error' : 'warning', rule: rule ?? (required ? 'dangling-reference' : 'dangling-reference-dropped') });
}

/**
 * Which references must resolve, per entity: class → school, terms (required), course (optional);
 * enrollment → class, user, school; user → orgs (required), agents (optional); course → org
 * (required, SDS tests it), schoolYear (optional); academic session → parent (optional); demographics →
 * the user with the same sourcedId (required). For a required list, unresolved entries are dropped
 * with a warning and the record is dropped (error) only when none resolves.
 */
export const REFERENCE_RULES: Readonly<Record<CollectionName, readonly ReferenceRule[]>> = {
  academicSessions: [ref('parent', 'academicSessions', false)],
  orgs: [],
  courses: [ref('org', 'orgs', true), ref('schoolYear', 'academicSessions', false)],
  classes: [ref('school', 'orgs', true), ref('terms', 'academicSessions', true, true), ref('course', 'courses', false)],
  users: [ref('orgs', 'orgs', true, true), ref('agents', 'users', false, true)],
  enrollments: [ref('class', 'classes', true), ref('user', 'users', true), ref('school', 'orgs', true)],
  demographics: [ref('sourcedId', 'users', true, false, 'demographics-without-user')],
};

export interface ReferenceCheckOptions {
  /**
   * Collections this run ingests. References into any other collection are not checked (a provider
   * without /courses would otherwise make every class warn). Default: all.
   */
  ingested?: ReadonlySet<CollectionName>;
}

const TARGET_LABEL: Readonly<Record<CollectionName, string>> = {
  academicSessions: 'academic session',
  orgs: 'org',
  courses: 'course',
  classes: 'class',
  users: 'user',
  enrollments: 'enrollment',
  demographics: 'demographics record',
};

/**
 * Applies `REFERENCE_RULES` to one record given a lookup of the records kept so far (`exists`), which
 * the sync engine answers from its staging area. Returns the record (or a copy with unresolved optional
 * references dropped), or undefined when a required reference does not resolve (error appended).
 * Records marked `tobedeleted` are not checked.
 */
export function checkReferences<C extends CollectionName>(
  collection: C,
  record: EntityByCollection[C],
  exists: (target: CollectionName, sourcedId: string) => boolean,
  issues: DataIssue[],
  options: ReferenceCheckOptions = {},
): EntityByCollection[C] | undefined {
  if (record.status === 'tobedeleted') return record;
  const rec = record as unknown as Record<string, unknown>;
  const id = record.sourcedId;
  let out: Record<string, unknown> | undefined;
  let ok = true;
  for (const r of REFERENCE_RULES[collection]) {
    if (options.ingested !== undefined && !options.ingested.has(r.target)) continue;
    const label = TARGET_LABEL[r.target];
    if (r.field === 'sourcedId') {
      if (!exists(r.target, id)) {
        ok = false;
        pushIssue(issues, r.rule, collection, id, 'sourcedId', `matches no ${label}; the record was dropped`, id);
      }
      continue;
    }
    const v = rec[r.field];
    if (v === undefined) continue; // absence is the required-field rules' business
    if (!r.list) {
      const target = (v as GuidRef).sourcedId;
      if (exists(r.target, target)) continue;
      if (r.required) {
        ok = false;
        pushIssue(issues, r.rule, collection, id, `${r.field}.sourcedId`, `points at ${label} ${target}, which was not received or was dropped; the record was dropped`, target);
      } else {
        pushIssue(issues, r.rule, collection, id, `${r.field}.sourcedId`, `points at ${label} ${target}, which was not received; the reference was dropped`, target);
        out ??= { ...rec };
        delete out[r.field];
      }
      continue;
    }
    const refs = v as readonly GuidRef[];
    let bad = 0;
    for (const x of refs) if (!exists(r.target, x.sourcedId)) bad++;
    if (bad === 0) continue;
    if (r.required && bad === refs.length) {
      ok = false;
      pushIssue(issues, 'dangling-reference', collection, id, `${r.field}`, `points only at ${label}s that were not received or were dropped (${refs.slice(0, 3).map((x) => x.sourcedId).join(', ')}${refs.length > 3 ? ', …' : ''}); the record was dropped`, refs[0]?.sourcedId);
      continue;
    }
    const kept: GuidRef[] = [];
    for (let i = 0; i < refs.length; i++) {
      const x = refs[i]!;
      if (exists(r.target, x.sourcedId)) kept.push(x);
      else pushIssue(issues, 'dangling-reference-dropped', collection, id, `${r.field}[${i}].sourcedId`, `points at ${label} ${x.sourcedId}, which was not received; that reference was dropped`, x.sourcedId);
    }
    out ??= { ...rec };
    if (kept.length > 0) out[r.field] = kept;
    else delete out[r.field];
  }
  if (!ok) return undefined;
  return (out ?? rec) as unknown as EntityByCollection[C];
}

// ---------------------------------------------------------------------------------------------
// Run status

/** How a run ended (sds-notes §3.2); `held` (safeguards) is decided elsewhere. */
export type RunStatus = 'completed' | 'completedWithWarnings' | 'completedWithErrors' | 'failed';

/**
 * The run status from its issue counts: `failed` when a catastrophic failure stopped it, else
 * `completedWithErrors` when any record was dropped, else `completedWithWarnings` when any value was,
 * else `completed`.
 */
export function runStatus(counts: { errors: number; warnings: number; failed?: boolean }): RunStatus {
  if (counts.failed === true) return 'failed';
  if (counts.errors > 0) return 'completedWithErrors';
  if (counts.warnings > 0) return 'completedWithWarnings';
  return 'completed';
}
