/**
 * Day-by-day churn of a generated district: what a SIS looks like between two syncs.
 *
 * Per simulated day, with rates proportional to the number of active students S (about 0.2% of
 * students touched per day in all; each kind has a floor of 0.1–0.2 events a day, 0.02 for hard
 * deletes, so that `tiny` changes too):
 * - new students (S × 0.04%) with demographics, a schedule of enrollments, and either a new family
 *   (new contacts) or existing contacts of a sibling (those contacts' `agents` grow);
 * - withdrawals (S × 0.03%): the student, their demographics and active enrollments become
 *   `tobedeleted`; a contact with no active student left becomes `tobedeleted` too;
 * - name/email changes of students and contacts, and contact phone changes (S × 0.03%);
 * - class changes (classes × 0.1%): room, period (and the title that carries it) or title;
 * - enrollment moves between sections of the same course (S × 0.08%): mostly a new enrollment plus
 *   the old one `tobedeleted`, sometimes the class changed in place (both happen in real SIS data);
 * - hard deletes: a few active enrollments vanish outright (S × 0.005%, invisible to delta syncs,
 *   oneroster-spec-notes §5), and records `tobedeleted` for 21 days are purged.
 *
 * Every changed record gets `dateLastModified` = the simulated time of its change, strictly after
 * the previous clock and at most the new clock, so `dateLastModified>'<previous now>'` finds it.
 * Determinism: day k draws from stream `churn:k` of the seed; advance(2) ≡ advance(1) twice.
 * Referential integrity is kept; records in the dirty ledger are never chosen as subjects (so the
 * ledger stays exact), and a dirty record removed by a purge leaves the ledger.
 */
import type { AnyEntity, CollectionName, Enrollment, EntityByCollection, GuidRef, User } from '../oneroster/types.ts';
import { COLLECTIONS } from '../oneroster/types.ts';
import type { ClassSlot, CollectionStore, DistrictContext, FamilyTraits, SchoolInfo, Stores } from './generator.ts';
import {
  contactId,
  familyContactRoles,
  familyTraits,
  guidRef,
  isoDate,
  isoStamp,
  makeContact,
  makeStudent,
  makeStudentEnrollment,
  phoneNumber,
  pickSchedule,
  studentId,
} from './generator.ts';
import { FAMILY_NAMES, slug } from './names.ts';
import { Rng } from './random.ts';

export const DAY_MS = 86_400_000;
/** Days a withdrawn student or ended enrollment stays `tobedeleted` before it is purged. */
export const RETENTION_DAYS = 21;
/** Most individual changes a ChurnSummary lists (counts are always complete). */
export const CHANGE_LIST_CAP = 10_000;

export type ChangeKind = 'created' | 'updated' | 'tobedeleted' | 'deleted';

export interface ChurnChange {
  collection: CollectionName;
  sourcedId: string;
  change: ChangeKind;
  /** Simulated time of the change (for `deleted`, when it vanished). */
  at: string;
}

export interface ChurnCounts {
  created: number;
  updated: number;
  tobedeleted: number;
  deleted: number;
}

export interface ChurnEvents {
  newStudents: number;
  newContacts: number;
  withdrawals: number;
  nameChanges: number;
  contactChanges: number;
  classChanges: number;
  enrollmentMoves: number;
  enrollmentHardDeletes: number;
  purgedStudents: number;
  purgedEnrollments: number;
}

export interface ChurnSummary {
  days: number;
  /** Clock before and after, ISO. Every change is at a time t with from < t <= to. */
  from: string;
  to: string;
  byCollection: Record<CollectionName, ChurnCounts>;
  events: ChurnEvents;
  /** Individual changes in order, capped at CHANGE_LIST_CAP (see `changesTruncated`). */
  changes: ChurnChange[];
  changesTruncated: boolean;
}

/** Cumulative churn since generation. */
export interface ChurnTotals {
  days: number;
  byCollection: Record<CollectionName, ChurnCounts>;
  events: ChurnEvents;
}

/** Zeroed per-collection change counts. */
export function emptyCounts(): Record<CollectionName, ChurnCounts> {
  const out = {} as Record<CollectionName, ChurnCounts>;
  for (const c of COLLECTIONS) out[c] = { created: 0, updated: 0, tobedeleted: 0, deleted: 0 };
  return out;
}

/** Zeroed event counts. */
export function emptyEvents(): ChurnEvents {
  return {
    newStudents: 0, newContacts: 0, withdrawals: 0, nameChanges: 0, contactChanges: 0, classChanges: 0,
    enrollmentMoves: 0, enrollmentHardDeletes: 0, purgedStudents: 0, purgedEnrollments: 0,
  };
}

/** The dirty ledger as churn sees it. */
export interface DirtyLedgerView {
  isDirty(collection: CollectionName, sourcedId: string): boolean;
  /** Called when a record is hard-deleted. */
  forget(collection: CollectionName, sourcedId: string): void;
}

type Op = 'new' | 'withdraw' | 'rename' | 'class' | 'move' | 'hard';

/**
 * Mutable churn state over a district's stores. Indexes are built on the first `advance` so a
 * district that never churns pays nothing for them.
 */
export class ChurnEngine {
  private built = false;
  /** Clean active students: array + position for O(1) random pick and removal. */
  private readonly active: string[] = [];
  private readonly activePos = new Map<string, number>();
  /** Enrollment ids per student sourcedId (student enrollments, any status). */
  private readonly byStudent = new Map<string, string[]>();
  /** Sibling sections of each class (the same course and term). */
  private readonly sections = new Map<string, ClassSlot[]>();
  private readonly cleanClasses: string[] = [];
  private readonly withdrawn: Array<{ id: string; day: number }> = [];
  private readonly ended: Array<{ id: string; day: number }> = [];
  private day = 0;
  private summary!: ChurnSummary;

  constructor(
    private readonly stores: Stores,
    private readonly ctx: DistrictContext,
    private readonly dirty: DirtyLedgerView,
  ) {}

  /** Advances `days` whole days from `fromMs`; returns what changed. */
  advance(fromMs: number, days: number): ChurnSummary {
    if (!Number.isInteger(days) || days < 0) throw new RangeError(`days must be a non-negative integer, got ${days}`);
    if (!this.built) this.build();
    this.summary = {
      days, from: isoStamp(fromMs), to: isoStamp(fromMs + days * DAY_MS), byCollection: emptyCounts(),
      events: emptyEvents(), changes: [], changesTruncated: false,
    };
    for (let d = 0; d < days; d++) this.simulateDay(fromMs + d * DAY_MS);
    return this.summary;
  }

  // -------------------------------------------------------------------------------------------

  private build(): void {
    this.built = true;
    for (const u of this.stores.users.byId.values()) {
      if (u.role === 'student' && u.status === 'active' && !this.dirty.isDirty('users', u.sourcedId)) this.addActive(u.sourcedId);
    }
    for (const e of this.stores.enrollments.byId.values()) {
      if (e.role === 'student' || e.role.toLowerCase() === 'student') this.index(e.user.sourcedId, e.sourcedId);
    }
    for (const school of this.ctx.schools) {
      for (const slots of school.schedule.values()) {
        for (const slot of slots) for (const group of slot.groups) for (const s of group) this.sections.set(s.ref.sourcedId, group);
      }
    }
    for (const c of this.stores.classes.byId.values()) {
      if (c.status === 'active' && !this.dirty.isDirty('classes', c.sourcedId)) this.cleanClasses.push(c.sourcedId);
    }
  }

  private addActive(id: string): void {
    this.activePos.set(id, this.active.length);
    this.active.push(id);
  }

  private removeActive(id: string): void {
    const i = this.activePos.get(id);
    if (i === undefined) return;
    const last = this.active.pop()!;
    if (last !== id) {
      this.active[i] = last;
      this.activePos.set(last, i);
    }
    this.activePos.delete(id);
  }

  private index(sid: string, enrollmentId: string): void {
    let list = this.byStudent.get(sid);
    if (!list) this.byStudent.set(sid, (list = []));
    list.push(enrollmentId);
  }

  private note(collection: CollectionName, sourcedId: string, change: ChangeKind, at: string): void {
    this.summary.byCollection[collection][change]++;
    if (this.summary.changes.length < CHANGE_LIST_CAP) this.summary.changes.push({ collection, sourcedId, change, at });
    else this.summary.changesTruncated = true;
  }

  private put<C extends CollectionName>(collection: C, record: EntityByCollection[C]): void {
    (this.stores[collection] as CollectionStore<AnyEntity>).set(record);
  }

  private unindex(sid: string, enrollmentId: string): void {
    const list = this.byStudent.get(sid);
    const i = list ? list.indexOf(enrollmentId) : -1;
    if (i >= 0) list!.splice(i, 1);
  }

  private remove(collection: CollectionName, id: string, at: string): void {
    if ((this.stores[collection] as CollectionStore<AnyEntity>).byId.delete(id)) {
      this.dirty.forget(collection, id);
      this.note(collection, id, 'deleted', at);
    }
  }

  private simulateDay(dayStartMs: number): void {
    const dayIndex = ++this.day;
    const rng = new Rng(this.ctx.seed, `churn:${dayIndex}`);
    const s = this.active.length;
    const ops: Op[] = [];
    const push = (op: Op, n: number): void => {
      for (let i = 0; i < n; i++) ops.push(op);
    };
    // Proportional to size, with a small floor so that a `tiny` district still changes now and then.
    const rate = (perDay: number, floor: number): number => rng.count(Math.max(perDay, floor));
    push('new', rate(s * 0.0004, 0.1));
    push('withdraw', rate(s * 0.0003, 0.1));
    push('rename', rate(s * 0.0003, 0.1));
    push('class', rate(this.cleanClasses.length * 0.001, 0.1));
    push('move', rate(s * 0.0008, 0.2));
    push('hard', rate(s * 0.00005, 0.02));
    rng.shuffle(ops);

    // Slot 0 is the nightly purge; op i happens in slot i+1. Times strictly increase within the day.
    const stride = Math.floor(DAY_MS / (ops.length + 2));
    const at = (slot: number): number => dayStartMs + stride * (slot + 1) + rng.int(Math.max(1, stride >> 1));
    this.purge(dayIndex, isoStamp(at(0)));
    ops.forEach((op, i) => {
      const t = at(i + 1);
      const stamp = isoStamp(t);
      const today = isoDate(t);
      switch (op) {
        case 'new': return this.newStudent(rng, stamp, today);
        case 'withdraw': return this.withdraw(rng, stamp, dayIndex);
        case 'rename': return this.rename(rng, stamp);
        case 'class': return this.changeClass(rng, stamp);
        case 'move': return this.move(rng, stamp, today, dayIndex);
        case 'hard': return this.hardDelete(rng, stamp);
      }
    });
  }

  /** Hard-deletes what has been `tobedeleted` for RETENTION_DAYS (providers purge tombstones, §5). */
  private purge(dayIndex: number, stamp: string): void {
    while (this.withdrawn.length && this.withdrawn[0]!.day <= dayIndex - RETENTION_DAYS) {
      const { id } = this.withdrawn.shift()!;
      const student = this.stores.users.byId.get(id);
      if (!student || student.status !== 'tobedeleted') continue;
      for (const eid of this.byStudent.get(id) ?? []) {
        if (this.stores.enrollments.byId.has(eid)) this.summary.events.purgedEnrollments++;
        this.remove('enrollments', eid, stamp);
      }
      this.byStudent.delete(id);
      this.remove('demographics', id, stamp);
      this.remove('users', id, stamp);
      this.summary.events.purgedStudents++;
      // Contacts lose the agent link; a contact left with no student is purged with them.
      for (const ref of student.agents ?? []) {
        const contact = this.stores.users.byId.get(ref.sourcedId);
        if (!contact) continue;
        const agents = (contact.agents ?? []).filter((a) => a.sourcedId !== id);
        if (agents.length === 0) this.remove('users', contact.sourcedId, stamp);
        else {
          this.put('users', { ...contact, agents: Object.freeze(agents) as GuidRef[], dateLastModified: stamp });
          this.note('users', contact.sourcedId, 'updated', stamp);
        }
      }
    }
    while (this.ended.length && this.ended[0]!.day <= dayIndex - RETENTION_DAYS) {
      const { id } = this.ended.shift()!;
      const e = this.stores.enrollments.byId.get(id);
      if (!e || e.status !== 'tobedeleted') continue;
      this.remove('enrollments', id, stamp);
      this.summary.events.purgedEnrollments++;
      this.unindex(e.user.sourcedId, id);
    }
  }

  private randomActive(rng: Rng): User | undefined {
    if (this.active.length === 0) return undefined;
    return this.stores.users.byId.get(rng.pick(this.active));
  }

  private newStudent(rng: Rng, stamp: string, today: string): void {
    const grades = [...new Set(this.ctx.schools.flatMap((x) => x.grades))];
    const grade = rng.pick(grades);
    const servers = this.ctx.schools.filter((x) => x.grades.includes(grade));
    const sibling = rng.chance(0.3) ? this.randomActive(rng) : undefined;
    let school: SchoolInfo;
    let familyName: string;
    let agents: GuidRef[];
    const traits: FamilyTraits = familyTraits(rng);
    const newContacts: User[] = [];
    const n = ++this.ctx.counters.student;
    const ref = guidRef(studentId(n), 'user');
    if (sibling && sibling.agents && sibling.agents.length > 0 && sibling.familyName !== undefined) {
      // A younger sibling joins: same family name and contacts, a school serving their grade.
      const sibSchool = this.ctx.schoolById.get(sibling.orgs[0]?.sourcedId ?? '');
      school = sibSchool && sibSchool.grades.includes(grade) ? sibSchool : rng.pick(servers);
      familyName = sibling.familyName;
      agents = sibling.agents;
    } else {
      school = rng.pick(servers);
      familyName = rng.pick(FAMILY_NAMES);
      const refs: GuidRef[] = [];
      for (const role of familyContactRoles(rng)) {
        const cn = ++this.ctx.counters.contact;
        const contact = makeContact(rng, this.ctx, cn, role, rng.chance(0.8) ? familyName : rng.pick(FAMILY_NAMES),
          Object.freeze([ref]) as GuidRef[], school.orgs, stamp);
        newContacts.push(contact);
        refs.push(guidRef(contactId(cn), 'user'));
      }
      agents = Object.freeze(refs) as GuidRef[];
    }
    const made = makeStudent(rng, this.ctx, n, school, grade, familyName, traits, agents, stamp, ref);
    const student = made.user;
    this.put('users', student);
    this.note('users', student.sourcedId, 'created', stamp);
    this.put('demographics', made.demographics);
    this.note('demographics', student.sourcedId, 'created', stamp);
    for (const c of newContacts) {
      this.put('users', c);
      this.note('users', c.sourcedId, 'created', stamp);
      this.summary.events.newContacts++;
    }
    if (newContacts.length === 0) {
      // Existing contacts gain the new student (reverse link, §3.4 user.agents).
      for (const a of agents) {
        const c = this.stores.users.byId.get(a.sourcedId);
        if (!c) continue;
        const orgs = c.orgs.some((o) => o.sourcedId === school.id) ? c.orgs : (Object.freeze([...c.orgs, school.ref]) as GuidRef[]);
        this.put('users', { ...c, agents: Object.freeze([...(c.agents ?? []), ref]) as GuidRef[], orgs, dateLastModified: stamp });
        this.note('users', c.sourcedId, 'updated', stamp);
      }
    }
    this.addActive(student.sourcedId);
    for (const slot of pickSchedule(rng, school.schedule.get(grade) ?? [])) {
      if (today >= slot.endDate || this.dirty.isDirty('classes', slot.ref.sourcedId)) continue;
      const e = makeStudentEnrollment(++this.ctx.counters.enrollment, ref, slot, stamp, today > slot.beginDate ? today : slot.beginDate);
      this.put('enrollments', e);
      this.note('enrollments', e.sourcedId, 'created', stamp);
      this.index(student.sourcedId, e.sourcedId);
    }
    this.summary.events.newStudents++;
  }

  private withdraw(rng: Rng, stamp: string, dayIndex: number): void {
    const student = this.randomActive(rng);
    if (!student) return;
    const id = student.sourcedId;
    this.removeActive(id);
    this.put('users', { ...student, status: 'tobedeleted', dateLastModified: stamp });
    this.note('users', id, 'tobedeleted', stamp);
    const demo = this.stores.demographics.byId.get(id);
    if (demo && demo.status === 'active') {
      this.put('demographics', { ...demo, status: 'tobedeleted', dateLastModified: stamp });
      this.note('demographics', id, 'tobedeleted', stamp);
    }
    for (const eid of this.byStudent.get(id) ?? []) {
      const e = this.stores.enrollments.byId.get(eid);
      if (!e || e.status !== 'active') continue;
      this.put('enrollments', { ...e, status: 'tobedeleted', dateLastModified: stamp });
      this.note('enrollments', eid, 'tobedeleted', stamp);
    }
    // A contact with no active student left is withdrawn too.
    for (const ref of student.agents ?? []) {
      const c = this.stores.users.byId.get(ref.sourcedId);
      if (!c || c.status !== 'active') continue;
      const stillActive = (c.agents ?? []).some((a) => this.stores.users.byId.get(a.sourcedId)?.status === 'active');
      if (!stillActive) {
        this.put('users', { ...c, status: 'tobedeleted', dateLastModified: stamp });
        this.note('users', c.sourcedId, 'tobedeleted', stamp);
      }
    }
    this.withdrawn.push({ id, day: dayIndex });
    this.summary.events.withdrawals++;
  }

  private rename(rng: Rng, stamp: string): void {
    const student = this.randomActive(rng);
    if (!student) return;
    if (rng.chance(0.6)) {
      // Legal name change: new family name and email; the login (username) is kept.
      const familyName = rng.pick(FAMILY_NAMES);
      const n = Number(student.sourcedId.slice(4));
      const email = `${slug(student.givenName ?? '')}.${slug(familyName)}${n}@students.${this.ctx.domain}`;
      this.put('users', { ...student, familyName, email, dateLastModified: stamp });
      this.note('users', student.sourcedId, 'updated', stamp);
      this.summary.events.nameChanges++;
      return;
    }
    const ref = student.agents && student.agents.length ? rng.pick(student.agents) : undefined;
    const contact = ref ? this.stores.users.byId.get(ref.sourcedId) : undefined;
    if (!contact || contact.status !== 'active' || this.dirty.isDirty('users', contact.sourcedId)) return;
    const r = rng.float();
    let next: User;
    if (r < 0.5) {
      const domain = (contact.email ?? '@example.com').split('@')[1] ?? 'example.com';
      const email = `${slug(contact.givenName)}.${slug(contact.familyName)}.${rng.range(10, 99)}@${domain}`;
      next = { ...contact, email, username: email, userIds: [{ type: 'email', identifier: email }], dateLastModified: stamp };
    } else if (r < 0.8) {
      const phone = phoneNumber(rng, this.ctx);
      next = { ...contact, phone, dateLastModified: stamp };
      if (contact.sms !== undefined && contact.sms === contact.phone) next.sms = phone;
    } else {
      next = { ...contact, familyName: rng.pick(FAMILY_NAMES), dateLastModified: stamp };
    }
    this.put('users', next);
    this.note('users', contact.sourcedId, 'updated', stamp);
    this.summary.events.contactChanges++;
  }

  private changeClass(rng: Rng, stamp: string): void {
    if (this.cleanClasses.length === 0) return;
    const cls = this.stores.classes.byId.get(rng.pick(this.cleanClasses));
    if (!cls) return;
    const r = rng.float();
    if (r < 0.5) {
      this.put('classes', { ...cls, location: `Room ${100 * (1 + rng.int(3)) + 1 + rng.int(30)}`, dateLastModified: stamp });
    } else if (r < 0.85 && cls.classType === 'scheduled') {
      const period = String(1 + rng.int(7));
      const title = cls.title.replace(/ - P\d+$/, '') + ` - P${period}`;
      this.put('classes', { ...cls, periods: Object.freeze([period]) as string[], title, dateLastModified: stamp });
    } else {
      const title = cls.title.startsWith('Honors ') ? cls.title.slice(7) : `Honors ${cls.title}`;
      this.put('classes', { ...cls, title, dateLastModified: stamp });
    }
    this.note('classes', cls.sourcedId, 'updated', stamp);
    this.summary.events.classChanges++;
  }

  /** An active, clean student enrollment of a random active student, or undefined. */
  private randomEnrollment(rng: Rng): Enrollment | undefined {
    const student = this.randomActive(rng);
    if (!student) return undefined;
    const list = this.byStudent.get(student.sourcedId) ?? [];
    if (list.length === 0) return undefined;
    const e = this.stores.enrollments.byId.get(rng.pick(list));
    if (!e || e.status !== 'active' || e.role !== 'student' || this.dirty.isDirty('enrollments', e.sourcedId)) return undefined;
    return e;
  }

  private move(rng: Rng, stamp: string, today: string, dayIndex: number): void {
    const e = this.randomEnrollment(rng);
    if (!e || (e.endDate !== undefined && today >= e.endDate)) return;
    const options = (this.sections.get(e.class.sourcedId) ?? []).filter(
      (s) => s.ref.sourcedId !== e.class.sourcedId && !this.dirty.isDirty('classes', s.ref.sourcedId),
    );
    if (options.length === 0) return;
    const target = rng.pick(options);
    if (rng.chance(0.3)) {
      // Some SIS edit the enrollment in place: same sourcedId, new class.
      this.put('enrollments', { ...e, class: target.ref, dateLastModified: stamp });
      this.note('enrollments', e.sourcedId, 'updated', stamp);
    } else {
      const begin = e.beginDate !== undefined && e.beginDate > today ? e.beginDate : today;
      this.put('enrollments', { ...e, status: 'tobedeleted', endDate: begin, dateLastModified: stamp });
      this.note('enrollments', e.sourcedId, 'tobedeleted', stamp);
      this.ended.push({ id: e.sourcedId, day: dayIndex });
      const next = makeStudentEnrollment(++this.ctx.counters.enrollment, e.user, target, stamp, begin);
      this.put('enrollments', next);
      this.note('enrollments', next.sourcedId, 'created', stamp);
      this.index(e.user.sourcedId, next.sourcedId);
    }
    this.summary.events.enrollmentMoves++;
  }

  private hardDelete(rng: Rng, stamp: string): void {
    const e = this.randomEnrollment(rng);
    if (!e) return;
    this.remove('enrollments', e.sourcedId, stamp);
    this.unindex(e.user.sourcedId, e.sourcedId);
    this.summary.events.enrollmentHardDeletes++;
  }
}
