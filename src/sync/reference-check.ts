/**
 * Referential integrity after staging (issue 5: "class -> school, course, terms; enrollment ->
 * class, user, school; user -> orgs; course -> org; session parent"; demographics -> user).
 *
 * Why in the engine and not in the codec: the fast path skips unchanged provider JSON, so a codec
 * only sees changed records and cannot tell "not received" from "unchanged". Once a collection is
 * completely staged, what will exist of it after the apply is known exactly: live active rows,
 * minus what this run deletes (arrived `tobedeleted` or absent), plus what it creates or restores
 * (`ReferenceSets`). Collections are read in dependency order, so references into OTHER
 * collections are checked while a page is staged (no second pass over 1.1M enrollments);
 * references within a collection (a session's parent, a student's agents) are checked after
 * staging by `checkStagedReferences`, from a compact `refs` column. Only records that are written
 * (created, updated, restored) are checked: unchanged ones were checked when they were written.
 *
 * A required reference that does not resolve drops the record (its staged write becomes `invalid`,
 * so a live row keeps its last-known-good copy) with an error; collections are checked in
 * dependency order, so a dropped class makes its new enrollments dangle too ("its dependents
 * report a reference error"). An optional one is dropped from the record with a warning (the
 * staged data is rewritten). The rules and messages are `sds/rules.ts` `checkReferences`.
 */
import type { DataIssue } from '../oneroster/issues.ts';
import type { AnyEntity, CollectionName, EntityByCollection } from '../oneroster/types.ts';
import { REFERENCE_RULES, checkReferences } from '../sds/rules.ts';
import { isContactRole } from '../sds/contacts.ts';
import { StageOp } from '../store/schema.ts';
import type { AbsenceRule, ApplyCollection } from '../store/apply.ts';
import type { StagingArea } from '../store/staging.ts';
import { fieldDiff } from './field-diff.ts';
import { hashCanonical } from './record-codec.ts';
import { DEPENDENCY_ORDER } from './planner.ts';

/** Per collection, what the reference check dropped or changed. */
export interface ReferenceOutcome {
  dropped: Map<CollectionName, { created: number; updated: number; restored: number }>;
  rewritten: number;
  /** Updates that turned out unchanged once the dangling optional value was dropped again. */
  unchangedAfterRewrite: Map<CollectionName, { n: number }>;
  /** Collections with a staged row dropped or rewritten. */
  touched: Set<CollectionName>;
}

/**
 * The record's references into its own collection, GUIDRefs cut to their sourcedId (staged as
 * `refs` with every write when reference checks are on): the after-staging check parses a few bytes
 * per record, not the whole record. Undefined when there are none.
 */
export function refsOf(c: CollectionName, record: AnyEntity): string | undefined {
  const rules = REFERENCE_RULES[c].filter((r) => r.target === c);
  if (rules.length === 0) return undefined;
  const rec = record as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  let any = false;
  // A contact's own agents are reverse data, never relationships (sds-notes §1.2): not checked.
  const contact = c === 'users' && typeof rec['role'] === 'string' && isContactRole(rec['role']);
  for (const r of rules) {
    if (r.field === 'sourcedId' || (contact && r.field === 'agents')) continue;
    const v = rec[r.field];
    if (v === undefined || v === null) continue;
    out[r.field] = Array.isArray(v) ? v.map((x: { sourcedId?: unknown }) => ({ sourcedId: x?.sourcedId })) : { sourcedId: (v as { sourcedId?: unknown }).sourcedId };
    any = true;
  }
  return any ? JSON.stringify(out) : undefined;
}

const BATCH = 5000;

export interface ReferenceCheckInput {
  staging: StagingArea;
  runId: number;
  connectionId: string;
  /** The collections this run applies, with their absence rules. */
  applied: ReadonlyMap<CollectionName, Pick<ApplyCollection, 'absence' | 'fresh'>>;
  /** Collections the run pulls (references into others are not checked). */
  ingested: ReadonlySet<CollectionName>;
  sets: ReferenceSets;
  canonicalJson: (value: unknown) => string;
  /** Receives the issues found for one collection (in batches). */
  report: (c: CollectionName, issues: DataIssue[]) => Promise<void>;
}

/** What will exist of each target collection after the apply (see the module comment). */
export class ReferenceSets {
  readonly #staging: StagingArea;
  readonly #runId: number;
  readonly #connectionId: string;
  readonly #sets = new Map<CollectionName, Set<string>>();

  constructor(staging: StagingArea, runId: number, connectionId: string) {
    this.#staging = staging;
    this.#runId = runId;
    this.#connectionId = connectionId;
  }

  /**
   * The ids of `t` after the apply. `applied` is how this run applies `t` (undefined: its read
   * failed or it is not applied, so its live rows stay). A fresh `t` has no live row of this
   * connection to read (on PostgreSQL the scan would still walk the run's own uncommitted early
   * inserts, early-inserts.ts).
   */
  async forTarget(t: CollectionName, applied: Pick<ApplyCollection, 'absence' | 'fresh'> | undefined): Promise<Set<string>> {
    let set = this.#sets.get(t);
    if (set) return set;
    set = applied?.fresh ? new Set<string>() : new Set(await this.#staging.liveActiveIds(this.#connectionId, t));
    const absence = applied?.absence;
    if (absence) {
      for (const [id, op] of await this.#staging.stagedOps(this.#runId, t)) {
        if (op === StageOp.create || op === StageOp.restore || op === StageOp.update) set.add(id);
        else if (op === StageOp.delete || op === StageOp.absent) set.delete(id);
      }
      // Staged deletes were dropped above; absence is decided against the live rows.
      for (const id of await this.#staging.absentIds({ runId: this.#runId, connectionId: this.#connectionId }, t, absence)) set.delete(id);
    }
    this.#sets.set(t, set);
    return set;
  }

  /** Forgets ids dropped after their set was built (they will not exist). */
  drop(t: CollectionName, ids: readonly string[]): void {
    const set = this.#sets.get(t);
    if (set) for (const id of ids) set.delete(id);
  }
}

/** The cross-collection reference check of one collection, ready for use while its pages are staged. */
export interface CrossCheck {
  targets: ReadonlySet<CollectionName>;
  has: (t: CollectionName, id: string) => boolean;
  /** The ids `has` answers from, per target (sent to a prep worker; absent: the check stays on this thread). */
  sets?: ReadonlyMap<CollectionName, ReadonlySet<string>>;
}

/**
 * Prepares the check of `c`'s references into other collections (all read earlier in this run, in
 * dependency order). Undefined when `c` has none among the ingested collections.
 */
export async function crossCheckFor(
  c: CollectionName,
  sets: ReferenceSets,
  ingested: ReadonlySet<CollectionName>,
  appliedOf: (t: CollectionName) => Pick<ApplyCollection, 'absence' | 'fresh'> | undefined,
): Promise<CrossCheck | undefined> {
  const targets = new Set(REFERENCE_RULES[c].filter((r) => r.target !== c && ingested.has(r.target)).map((r) => r.target));
  if (targets.size === 0) return undefined;
  const byTarget = new Map<CollectionName, Set<string>>();
  for (const t of targets) byTarget.set(t, await sets.forTarget(t, appliedOf(t)));
  return crossCheckOf(targets, byTarget);
}

/** The check over `sets`: a target without a set answers "present". */
export function crossCheckOf(targets: ReadonlySet<CollectionName>, sets: ReadonlyMap<CollectionName, ReadonlySet<string>>): CrossCheck {
  return { targets, sets, has: (t, id) => sets.get(t)?.has(id) ?? true };
}

/** Collections with references into themselves (checked after staging). */
export function selfReferencing(c: CollectionName): boolean {
  return REFERENCE_RULES[c].some((r) => r.target === c);
}

/** Runs the within-collection reference checks of every applied collection (see the module comment). */
export async function checkStagedReferences(input: ReferenceCheckInput): Promise<ReferenceOutcome> {
  const { staging, runId, connectionId } = input;
  const outcome: ReferenceOutcome = { dropped: new Map(), rewritten: 0, unchangedAfterRewrite: new Map(), touched: new Set() };
  const sets = input.sets;
  const existing = (t: CollectionName): Promise<Set<string>> => sets.forTarget(t, input.applied.get(t));

  for (const c of DEPENDENCY_ORDER) {
    if (!input.applied.has(c) || !input.ingested.has(c)) continue;
    const rules = REFERENCE_RULES[c].filter((r) => r.target === c);
    if (rules.length === 0) continue;
    const only = new Set<CollectionName>([c]);
    const own = await existing(c);
    const has = (t: CollectionName, id: string): boolean => (t === c ? own.has(id) : true);
    const dropped: string[] = [];
    /** Dropped records that had no active live row: they will not exist after the apply. */
    const gone: string[] = [];
    const counts = { created: 0, updated: 0, restored: 0 };
    let after: string | undefined;
    for (;;) {
      const rows = await staging.stagedWrites(runId, c, ['refs', 'status'], after, BATCH);
      if (rows.length === 0) break;
      const issues: DataIssue[] = [];
      for (const row of rows) {
        const id = row['sourced_id'] as string;
        const refs = row['refs'] as string | null;
        const record = { ...(refs ? (JSON.parse(refs) as Record<string, unknown>) : {}), sourcedId: id, status: row['status'] };
        const kept = checkReferences(c, record as unknown as EntityByCollection[typeof c], has, issues, { ingested: only });
        if (kept === undefined) {
          dropped.push(id);
          const op = Number(row['op']);
          if (op === StageOp.create) counts.created++;
          else if (op === StageOp.update) counts.updated++;
          else counts.restored++;
          if (op !== StageOp.update) gone.push(id); // an update's live row stays (last-known-good)
        } else if (kept !== (record as unknown as AnyEntity)) {
          // An optional reference was dropped: rewrite the staged record without it.
          const full = JSON.parse((await staging.stagedData(runId, c, id)) ?? 'null') as Record<string, unknown> | null;
          if (full) {
            const k = kept as unknown as Record<string, unknown>;
            for (const r of REFERENCE_RULES[c]) {
              if (r.field === 'sourcedId' || full[r.field] === undefined) continue;
              const v = k[r.field];
              if (v === undefined) delete full[r.field];
              else if (Array.isArray(v) && Array.isArray(full[r.field])) {
                const keep = new Set((v as Array<{ sourcedId?: unknown }>).map((x) => x.sourcedId));
                full[r.field] = (full[r.field] as Array<{ sourcedId?: unknown }>).filter((x) => keep.has(x?.sourcedId));
              }
            }
            const data = input.canonicalJson(full);
            const op = await staging.rewriteStaged({ runId, connectionId }, c, id, data, hashCanonical(data), (old) => JSON.stringify(fieldDiff(old, data)));
            outcome.rewritten++;
            outcome.touched.add(c);
            // The provider still sends the dangling value, but without it nothing changed.
            if (op === StageOp.unchanged) (outcome.unchangedAfterRewrite.get(c) ?? outcome.unchangedAfterRewrite.set(c, { n: 0 }).get(c)!).n++;
          }
        }
      }
      if (issues.length > 0) await input.report(c, issues);
      after = rows[rows.length - 1]!['sourced_id'] as string;
      if (rows.length < BATCH) break;
    }
    if (dropped.length > 0) {
      await staging.markInvalid(runId, c, dropped);
      outcome.dropped.set(c, counts);
      outcome.touched.add(c);
      // Dependents checked later see these as missing (the cascade).
      sets.drop(c, gone);
    }
  }
  return outcome;
}
