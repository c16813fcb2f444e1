/**
 * The School Data Sync rules as a `RecordCodec` (src/sync/record-codec.ts), so the full sync applies
 * them without knowing SDS: the generic OneRoster 1.1 read (`DEFAULT_CODEC.readEntity`) first, then
 * `SdsValidator.check` (src/sds/rules.ts) — SDS required fields (sds-notes §1.4), contact rules and
 * E.164 phones (§1.2), user-flag normalisation (§1.3), email lower-casing (§3.1), the toggles.
 *
 * Why the toggles are in `version`: the engine's fast path skips the codec for provider JSON whose
 * fingerprint (salted with `version`) matches the live row. Turning a toggle on or off changes what
 * the codec returns for the same JSON (flags kept or dropped, contacts ingested or not), so it must
 * change the salt, or unchanged records would keep the output of the old toggles.
 *
 * Toggled-off data (contacts with contacts off, demographics with demographics off) is returned as
 * `skipped` with NO issue: "with a toggle off that data is not ingested at all". The engine counts
 * it as `skipped` and treats it as absent, so contacts stored while the toggle was on are
 * tombstoned by the next full sync (a mass deletion the safeguards hold for approval).
 *
 * Reference checks (`checkReferences`) are not applied per record here: the fast path hides
 * unchanged records from the codec, so "ids seen earlier in this run" would miss every unchanged
 * target. `references: true` asks the engine to run them after staging instead
 * (src/sync/reference-check.ts), against live + staged ids.
 */
import type { DataIssue } from '../oneroster/issues.ts';
import type { AnyEntity, CollectionName, EntityByCollection } from '../oneroster/types.ts';
import { SdsValidator, type SdsStats } from '../sds/rules.ts';
import type { Toggles } from '../sds/toggles.ts';
import { DEFAULT_CODEC, type RecordCodec } from '../sync/record-codec.ts';

/** A RecordCodec that applies the SDS rules, plus the counters of what it filtered silently. */
export interface SdsCodec extends RecordCodec {
  /** What the rules filtered without an issue (toggled-off records, reverse agents, …), this run. */
  readonly stats: SdsStats;
}

/** `c`/`d`/`f` bits of the toggles (contacts, demographics, userFlags), e.g. `101`. */
export function toggleBits(toggles: Toggles): string {
  return `${toggles.contacts ? 1 : 0}${toggles.demographics ? 1 : 0}${toggles.userFlags ? 1 : 0}`;
}

/**
 * Builds the SDS codec for one run (one `SdsValidator` per run, as rules.ts asks: its stats are
 * per run). `version` is `${DEFAULT_CODEC.version}+sds2:${c}${d}${f}` (sds2: contacts keep their agents); bump the `sds` part when
 * the rules in src/sds/ change their output.
 */
export function createSdsCodec(toggles: Toggles): SdsCodec {
  const validator = new SdsValidator({ toggles });
  return {
    version: `${DEFAULT_CODEC.version}+sds2:${toggleBits(toggles)}`,
    canonicalJson: DEFAULT_CODEC.canonicalJson,
    references: true,
    stats: validator.stats,
    worker: { module: import.meta.url, factory: 'createSdsCodec', args: [{ ...toggles }] },
    readEntity(collection: CollectionName, raw: unknown): { record?: AnyEntity; issues: DataIssue[]; skipped?: boolean } {
      const res = DEFAULT_CODEC.readEntity(collection, raw);
      const record = res.record;
      if (record === undefined) return res;
      if (!validator.ingests(collection, record)) {
        validator.check(collection, record as EntityByCollection[typeof collection], []); // counts stats.skippedByToggle
        return { issues: [], skipped: true };
      }
      // The reader keeps the record only without errors; an error among its issues still drops it
      // in the engine, so SDS checks would only add noise.
      for (const i of res.issues) if (i.severity === 'error') return res;
      const issues = res.issues;
      const kept = validator.check(collection, record as EntityByCollection[typeof collection], issues);
      return kept === undefined ? { issues } : { record: kept as AnyEntity, issues };
    },
  };
}
