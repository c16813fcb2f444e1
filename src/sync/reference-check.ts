/**
 * Referential integrity after staging (issue 5: "class -> school, course, terms; enrollment ->
 * class, user, school; user -> orgs; course -> org; session parent"; demographics -> user).
 *
 * Why here and not in the codec: the engine's fast path skips unchanged provider JSON, so a codec
 * only sees changed records and cannot tell "not received" from "unchanged". After every collection
 * is staged, what will exist after the apply is known exactly: live active rows, minus what this
 * run deletes (arrived `tobedeleted` or absent), plus what it creates or restores. Only the staged
 * writes (created, updated, restored records) are checked: unchanged records were checked when
 * they were written.
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
import { StageOp } from '../store/schema.ts';
import type { AbsenceRule, StagingArea } from '../store/staging.ts';
import { fieldDiff } from './field-diff.ts';
import { hashCanonical } from './record-codec.ts';
import { DEPENDENCY_ORDER } from './planner.ts';

/** Per collection, what the reference check dropped or changed. */
export interface ReferenceOutcome {
  dropped: Map<CollectionName, { created: number; updated: number; restored: number }>;
  rewritten: number;
  /** Updates that turned out unchanged once the dangling optional value was dropped again. */
  unchangedAfterRewrite: Map<CollectionName, { n: number }>;
}

/**
 * The reference fields of a record, GUIDRefs cut to their sourcedId (staged as `refs` with every
 * write when reference checks are on): the check then parses a few bytes per record, not the
 * whole record. Undefined when the collection has no references.
 */
export function refsOf(c: CollectionName, record: AnyEntity): string | undefined {
  const rules = REFERENCE_RULES[c];
  if (rules.length === 0) return undefined;
  const rec = record as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const r of rules) {
    if (r.field === 'sourcedId') continue;
    const v = rec[r.field];
    if (v === undefined || v === null) continue;
    out[r.field] = Array.isArray(v) ? v.map((x: { sourcedId?: unknown }) => ({ sourcedId: x?.sourcedId })) : { sourcedId: (v as { sourcedId?: unknown }).sourcedId };
  }
  return JSON.stringify(out);
}

const BATCH = 5000;

export interface ReferenceCheckInput {
  staging: StagingArea;
  runId: number;
  connectionId: string;
  /** The collections this run applies, with their absence rules. */
  applied: ReadonlyMap<CollectionName, { absence: AbsenceRule }>;
  /** Collections the run pulls (references into others are not checked). */
  ingested: ReadonlySet<CollectionName>;
  canonicalJson: (value: unknown) => string;
  /** Receives the issues found for one collection (in batches). */
  report: (c: CollectionName, issues: DataIssue[]) => Promise<void>;
}

/** Runs the reference checks of every applied collection (see the module comment). */
export async function checkStagedReferences(input: ReferenceCheckInput): Promise<ReferenceOutcome> {
  const { staging, runId, connectionId } = input;
  const outcome: ReferenceOutcome = { dropped: new Map(), rewritten: 0, unchangedAfterRewrite: new Map() };
  const targets = new Set<CollectionName>();
  for (const c of input.applied.keys()) for (const r of REFERENCE_RULES[c]) if (input.ingested.has(r.target)) targets.add(r.target);

  // What exists after the apply, per target collection.
  const exists = new Map<CollectionName, Set<string>>();
  const existing = async (t: CollectionName): Promise<Set<string>> => {
    let set = exists.get(t);
    if (set) return set;
    set = new Set(await staging.liveActiveIds(connectionId, t));
    const rule = input.applied.get(t);
    if (rule) {
      for (const [id, op] of await staging.stagedOps(runId, t)) {
        if (op === StageOp.create || op === StageOp.restore || op === StageOp.update) set.add(id);
        else if (op === StageOp.delete || op === StageOp.absent) set.delete(id);
      }
      for (const id of (await staging.plannedIds({ runId, connectionId }, t, rule.absence)).deletes) set.delete(id);
    }
    exists.set(t, set);
    return set;
  };

  for (const c of DEPENDENCY_ORDER) {
    if (!input.applied.has(c)) continue;
    const rules = REFERENCE_RULES[c].filter((r) => input.ingested.has(r.target));
    if (rules.length === 0) continue;
    const sets = new Map<CollectionName, Set<string>>();
    for (const r of rules) sets.set(r.target, await existing(r.target));
    const has = (t: CollectionName, id: string): boolean => sets.get(t)?.has(id) ?? true;
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
        const kept = checkReferences(c, record as unknown as EntityByCollection[typeof c], has, issues, { ingested: input.ingested });
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
      // Dependents checked later see these as missing (the cascade).
      const set = exists.get(c);
      if (set) for (const id of gone) set.delete(id);
    }
  }
  return outcome;
}
