/**
 * Deliberately dirty data, with exact bookkeeping.
 *
 * Each DirtyKind breaks one rule a School-Data-Sync-style consumer checks (sds-notes §1.4 required
 * fields, §3.1 E.164 phones and case-insensitive enums, §1.3 the user-flag list; referential
 * integrity; unique sourcedIds). For each kind, exactly `round(rate × eligible)` records are
 * chosen by selection sampling from a stream of their own, so the selection is deterministic and
 * never moves a clean record. A record is made dirty in at most one way (kinds are applied in
 * DIRTY_KINDS order and later kinds skip records already chosen), so a consumer test can assert
 * that it reported exactly `District.stats().dirtyRecords`, one issue per entry.
 *
 * What is not counted: consequences a consumer may derive (e.g. if it drops a class without a
 * school, that class's enrollments become orphans in *its* store). Only the primary breakage is
 * listed.
 */
import type { AnyEntity, Class, CollectionName, Enrollment, GuidRef, User } from '../oneroster/types.ts';
import type { CollectionStore, Stores } from './generator.ts';
import { USER_FLAGS_KEY, guidRef } from './generator.ts';
import { Rng } from './random.ts';

export const DIRTY_KINDS = [
  'missing-required-field',
  'bad-phone',
  'unknown-flag',
  'dangling-reference',
  'duplicate-sourced-id',
  'wrong-enum-case',
] as const;
export type DirtyKind = (typeof DIRTY_KINDS)[number];

export interface DirtyRecord {
  kind: DirtyKind;
  collection: CollectionName;
  sourcedId: string;
  /** Dotted field path of the broken value, in the style of DataIssue.field. */
  field?: string;
}

/** Roles of contacts (sds-notes §2.6), compared case-insensitively. */
export const CONTACT_ROLES: ReadonlySet<string> = new Set(['guardian', 'parent', 'relative']);

/** Flags that look plausible but are not in the SDS list (none matches a known flag case-insensitively). */
export const UNKNOWN_FLAGS: readonly string[] = ['superStar', 'honorRoll', 'title1', 'busRider', 'athlete'];

/** Key of a record in the dirty ledger. */
export function dirtyKey(collection: CollectionName, sourcedId: string): string {
  return `${collection}\u0000${sourcedId}`;
}

interface Candidate {
  collection: CollectionName;
  record: AnyEntity;
}

/**
 * Applies dirty data to freshly generated stores, in place. Returns the ledger, in application order.
 * With `rate` 0 nothing is touched and the ledger is empty.
 */
export function applyDirt(stores: Stores, seed: number, rate: number): DirtyRecord[] {
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`dirtyRate must be within 0..1, got ${rate}`);
  const ledger: DirtyRecord[] = [];
  if (rate === 0) return ledger;
  const taken = new Set<string>();

  const eligible = (
    collections: CollectionName[],
    accept: (r: AnyEntity, c: CollectionName) => boolean,
  ): Candidate[] => {
    const out: Candidate[] = [];
    for (const collection of collections) {
      for (const record of (stores[collection] as CollectionStore<AnyEntity>).byId.values()) {
        if (!taken.has(dirtyKey(collection, record.sourcedId)) && accept(record, collection)) out.push({ collection, record });
      }
    }
    return out;
  };
  const replace = (collection: CollectionName, record: AnyEntity): void => {
    (stores[collection] as CollectionStore<AnyEntity>).set(record);
  };

  for (const kind of DIRTY_KINDS) {
    const rng = new Rng(seed, `dirty:${kind}`);
    const pool = candidatesFor(kind, eligible);
    const chosen = rng.sample(pool.length, Math.round(rate * pool.length));
    for (const i of chosen) {
      const { collection, record } = pool[i]!;
      const entry = corrupt(kind, collection, record, rng, i, stores, replace);
      taken.add(dirtyKey(collection, record.sourcedId));
      ledger.push(entry);
    }
  }
  return ledger;
}

const isRole = (r: AnyEntity, role: string): boolean => (r as User).role === role;

function candidatesFor(
  kind: DirtyKind,
  eligible: (collections: CollectionName[], accept: (r: AnyEntity, c: CollectionName) => boolean) => Candidate[],
): Candidate[] {
  const any = (): boolean => true;
  switch (kind) {
    case 'missing-required-field':
      return eligible(['users', 'classes'], any);
    case 'bad-phone':
      return eligible(['users'], (r) => CONTACT_ROLES.has((r as User).role) && (r as User).phone !== undefined);
    case 'unknown-flag':
      return eligible(['users'], (r) => isRole(r, 'student'));
    case 'dangling-reference':
      return eligible(['enrollments'], (r) => isRole(r, 'student'));
    case 'duplicate-sourced-id':
      return eligible(['users', 'classes'], (r, c) => c === 'classes' || isRole(r, 'student'));
    case 'wrong-enum-case':
      return eligible(['academicSessions', 'orgs', 'classes', 'users', 'enrollments'], any);
  }
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Not E.164: the same number written the ways SIS users type it. */
function badPhone(e164: string, variant: number): string {
  const d = e164.replace(/^\+1/, ''); // AAA555NNNN
  const area = d.slice(0, 3);
  const line = d.slice(6);
  switch (variant % 4) {
    case 0:
      return `555-${line}`;
    case 1:
      return `(${area}) 555-${line}`;
    case 2:
      return `${area}.555.${line}`;
    default:
      return d; // ten digits, no +1
  }
}

function corrupt(
  kind: DirtyKind,
  collection: CollectionName,
  record: AnyEntity,
  rng: Rng,
  index: number,
  stores: Stores,
  replace: (c: CollectionName, r: AnyEntity) => void,
): DirtyRecord {
  const id = record.sourcedId;
  switch (kind) {
    case 'missing-required-field': {
      // Required by OneRoster 1.1 (§3.4 ✔) and by SDS's provider checks (sds-notes §1.4).
      const r = rng.float();
      const field =
        collection === 'users'
          ? r < 0.6 ? 'givenName' : r < 0.8 ? 'familyName' : 'username'
          : r < 0.7 ? 'school' : 'title';
      const copy: Record<string, unknown> = { ...record };
      delete copy[field];
      replace(collection, copy as unknown as AnyEntity);
      return { kind, collection, sourcedId: id, field };
    }
    case 'bad-phone': {
      const u = record as User;
      const field = u.sms !== undefined && rng.chance(0.3) ? 'sms' : 'phone';
      const value = badPhone(field === 'sms' ? u.sms! : u.phone!, rng.int(4));
      replace(collection, { ...u, [field]: value });
      return { kind, collection, sourcedId: id, field };
    }
    case 'unknown-flag': {
      const u = record as User;
      const flags = u.metadata?.[USER_FLAGS_KEY];
      const unknown = rng.pick(UNKNOWN_FLAGS);
      const value = typeof flags === 'string' && flags !== '' ? `${flags},${unknown}` : unknown;
      replace(collection, { ...u, metadata: { ...u.metadata, [USER_FLAGS_KEY]: value } });
      return { kind, collection, sourcedId: id, field: `metadata.${USER_FLAGS_KEY}` };
    }
    case 'dangling-reference': {
      // The class (or user) was deleted upstream but the enrollment still points at it.
      const e = record as Enrollment;
      if (rng.chance(0.8)) {
        const ref: GuidRef = guidRef(`cls-x${String(index).padStart(6, '0')}`, 'class');
        replace(collection, { ...e, class: ref });
        return { kind, collection, sourcedId: id, field: 'class.sourcedId' };
      }
      const ref: GuidRef = guidRef(`stu-x${String(index).padStart(6, '0')}`, 'user');
      replace(collection, { ...e, user: ref });
      return { kind, collection, sourcedId: id, field: 'user.sourcedId' };
    }
    case 'duplicate-sourced-id': {
      // A second, different record under an existing sourcedId (a SIS merge gone wrong).
      if (collection === 'users') {
        const u = record as User;
        const dup: User = { ...u, givenName: u.givenName === 'Alex' ? 'Sam' : 'Alex', email: `dup.${u.email ?? id}` };
        stores.users.duplicates.push(dup);
      } else {
        const c = record as Class;
        stores.classes.duplicates.push({ ...c, title: `${c.title} (duplicate)`, location: 'Portable 1' });
      }
      return { kind, collection, sourcedId: id, field: 'sourcedId' };
    }
    case 'wrong-enum-case': {
      // SDS matches enums case-insensitively (sds-notes §3.1) but OneRoster 1.1 enums are closed.
      const field = collection === 'classes' ? 'classType' : collection === 'users' || collection === 'enrollments' ? 'role' : 'type';
      const value = String((record as unknown as Record<string, unknown>)[field]);
      const wrong = rng.chance(0.7) ? capitalise(value) : value.toUpperCase();
      replace(collection, { ...record, [field]: wrong } as AnyEntity);
      return { kind, collection, sourcedId: id, field };
    }
  }
}
