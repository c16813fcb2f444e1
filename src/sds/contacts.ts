/**
 * Student contacts as SDS reads them from OneRoster (the seed, "Optional user student contact
 * relationships"; sds-notes §1.2, §2.6):
 * - contacts are users with a contact role (`parent`, `guardian`, `relative`), supplied with `/users`;
 * - the association to a student is found in the STUDENT's user record under `agents`;
 * - "If reverse data is provided, from a contact relationship guardian record to student in the contact
 *   users 'agents' field, these records are filtered out": a contact's own `agents` are never read as
 *   relationships (the rules drop and count them);
 * - relationship roles are SDS's list (parent, guardian, relative, aide, doctor, other); anything else is
 *   `other`, as Microsoft's OneRoster→SDS transform does (`iif(contains([...], role), role, 'other')`).
 */
import type { GuidRef } from '../oneroster/types.ts';

/** OneRoster 1.1 user roles that make a user a contact. */
export const CONTACT_ROLES: ReadonlySet<string> = new Set(['parent', 'guardian', 'relative']);

/** SDS contact relationship roles (default list of values). */
export const RELATIONSHIP_ROLES = ['parent', 'guardian', 'relative', 'aide', 'doctor', 'other'] as const;
export type RelationshipRole = (typeof RELATIONSHIP_ROLES)[number];

const ROLE_BY_LOWER: ReadonlyMap<string, RelationshipRole> = new Map(RELATIONSHIP_ROLES.map((r) => [r, r]));

/** True when a user with this role is a contact (case-insensitive; the reader already fixes case). */
export function isContactRole(role: string): boolean {
  return CONTACT_ROLES.has(role) || CONTACT_ROLES.has(role.trim().toLowerCase());
}

/** Maps any role text to SDS's relationship roles: case and blanks ignored, anything unknown → `other`. */
export function normaliseRelationshipRole(role: string | undefined): RelationshipRole {
  if (role === undefined) return 'other';
  return ROLE_BY_LOWER.get(role) ?? ROLE_BY_LOWER.get(role.trim().toLowerCase()) ?? 'other';
}

/** One student–contact relationship row (SDS's `relationships.csv` shape). */
export interface Relationship {
  studentSourcedId: string;
  contactSourcedId: string;
  role: RelationshipRole;
}

/** What `deriveRelationships` needs of a student. */
export interface StudentLike {
  sourcedId: string;
  role: string;
  agents?: readonly GuidRef[];
}

/** What `deriveRelationships` needs of a contact: its role (the relationship role comes from it). */
export interface ContactLike {
  role: string;
}

export interface DerivedRelationships {
  relationships: Relationship[];
  /** Agent sourcedIds of the student that are not known contacts (missing, dropped, or not a contact). */
  unresolved: string[];
}

/**
 * The relationships of one student, from the student's own `agents` (never from contacts' agents).
 * Each agent found in `contactsById` gives a row with its normalised role; an agent listed twice
 * gives one row. A user that is not a student has no relationships.
 */
export function deriveRelationships(
  student: StudentLike,
  contactsById: ReadonlyMap<string, ContactLike> | ((sourcedId: string) => ContactLike | undefined),
): DerivedRelationships {
  const out: DerivedRelationships = { relationships: [], unresolved: [] };
  const agents = student.agents;
  if (agents === undefined || agents.length === 0 || student.role !== 'student') return out;
  const lookup = typeof contactsById === 'function' ? contactsById : (id: string) => contactsById.get(id);
  let seen: Set<string> | undefined;
  for (const agent of agents) {
    const id = agent.sourcedId;
    if (agents.length > 1) {
      seen ??= new Set();
      if (seen.has(id)) continue;
      seen.add(id);
    }
    const contact = lookup(id);
    if (contact === undefined) out.unresolved.push(id);
    else out.relationships.push({ studentSourcedId: student.sourcedId, contactSourcedId: id, role: normaliseRelationshipRole(contact.role) });
  }
  return out;
}
