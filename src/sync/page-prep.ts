/**
 * The per-record CPU work of a sync, apart from the store: the provider JSON's fingerprint, the
 * lenient read (+ SDS rules), reference checks into collections read earlier, canonical JSON, its
 * hash and the stage-row values. Pure and synchronous; page-source.ts runs it as pages arrive.
 *
 * Two depths per page:
 * - `eager` (a collection with no live rows yet, i.e. a first sync): every record is read and
 *   prepared completely here, ready to stage.
 * - otherwise only the fingerprint and the clean raw id: the engine compares fingerprints with the
 *   live rows and reads (from `json`) only the records that changed.
 */
import type { DataIssue } from '../oneroster/issues.ts';
import type { AnyEntity, CollectionName, Status } from '../oneroster/types.ts';
import { checkReferences } from '../sds/rules.ts';
import type { ImsxStatus } from '../source/errors.ts';
import { parseEnvelope } from '../source/http-client.ts';
import { rawSourcedId } from '../source/page-reader.ts';
import { recordValues, type ColumnValue } from '../store/entity-columns.ts';
import { hashCanonical, jsonEqual, rawFingerprint, type RecordCodec } from './record-codec.ts';
import { refsOf, type CrossCheck } from './reference-check.ts';

/** CPU time of the preparation, ms (the run's `normalize`, `validate` and `references` timings). */
export interface PrepTimings {
  normalize: number;
  validate: number;
  references: number;
}

export function emptyPrepTimings(): PrepTimings {
  return { normalize: 0, validate: 0, references: 0 };
}

/** The codec's read of one item, with the sourcedId decided (trimmed, numeric, or from an issue). */
export interface ReadResult {
  id: string | undefined;
  record: AnyEntity | undefined;
  issues: DataIssue[];
  skipped: boolean;
}

/** A record ready to stage (or the reason it is not). */
export interface PreparedRecord {
  /** Not ingested by choice (a toggle is off): absent, no issue. */
  skipped?: true;
  /** Reader, SDS and reference issues, in that order. */
  issues: DataIssue[];
  /** Present for a valid record: hash of `data`. */
  hash?: string;
  status?: Status;
  /** Canonical JSON of the record. */
  data?: string;
  /** The provider's JSON, only when it differs from the record. */
  raw?: string;
  /** The record had no issue: its raw fingerprint may be stored (the no-change fast path). */
  clean?: boolean;
  /** Self references for the after-staging check (reference-check.ts `refsOf`). */
  refs?: string;
  /** `dateLastModified`, then the entity columns (entity-columns.ts) in order. */
  values?: ColumnValue[];
}

/** One provider item of a page. */
export interface PreparedEntry {
  /** The sourcedId: the raw one when already clean, else the reader's (eager), else undefined. */
  id: string | undefined;
  /** Raw fingerprint (record-codec.ts `rawFingerprint`). */
  fp: string;
  /** The provider's sourcedId was already clean (the reader kept it as sent). */
  cleanId: boolean;
  /** The item's JSON text; omitted when `prep` is complete (eager). */
  json?: string;
  prep?: PreparedRecord;
}

export interface PrepareOptions {
  codec: RecordCodec;
  /** Read and prepare every record (see the module comment). */
  eager: boolean;
  /** Eager only: references into collections read earlier in this run. */
  cross?: CrossCheck | undefined;
}

/** Runs `fn`, adding its time to `t.normalize`, less the reference checks it ran (reported apart). */
export function normalizing<T>(t: PrepTimings, fn: () => T): T {
  const t0 = performance.now();
  const r0 = t.references;
  try {
    return fn();
  } finally {
    t.normalize += performance.now() - t0 - (t.references - r0);
  }
}

/** The sourcedId of a raw item when it is already clean (what the reader would return), else undefined. */
export function cleanRawId(item: unknown): string | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const id = (item as { sourcedId?: unknown }).sourcedId;
  if (typeof id !== 'string' || id.length === 0) return undefined;
  // The reader trims; only ids without surrounding whitespace are taken as-is.
  if (id.charCodeAt(0) <= 32 || id.charCodeAt(id.length - 1) <= 32) return undefined;
  return id;
}

/** The codec's lenient read; an error-severity issue drops the record. */
export function readItem(c: CollectionName, item: unknown, codec: RecordCodec, t: PrepTimings): ReadResult {
  const tv = performance.now();
  const res = codec.readEntity(c, item);
  t.validate += performance.now() - tv;
  let id = cleanRawId(item);
  let record = res.record;
  for (const issue of res.issues) {
    if (issue.severity === 'error') record = undefined;
    id ??= issue.sourcedId;
  }
  if (record) id = record.sourcedId;
  return { id, record, issues: res.issues, skipped: res.skipped === true };
}

/**
 * Turns a read into what the engine stages: reference checks into earlier collections (unless the
 * record arrived `tobedeleted`), canonical JSON, hash, the raw JSON when it differs, self refs and
 * the column values.
 */
export function prepareRecord(
  c: CollectionName,
  item: unknown,
  json: string,
  read: ReadResult,
  codec: RecordCodec,
  cross: CrossCheck | undefined,
  t: PrepTimings,
): PreparedRecord {
  if (read.skipped) return { skipped: true, issues: [] };
  const issues = read.issues.length > 0 ? [...read.issues] : [];
  let rec = read.record;
  if (rec !== undefined && cross !== undefined && cross.targets.size > 0 && rec.status !== 'tobedeleted') {
    const tr = performance.now();
    rec = checkReferences(c, rec, cross.has, issues, { ingested: cross.targets });
    t.references += performance.now() - tr;
  }
  if (rec === undefined) return { issues };
  const data = codec.canonicalJson(rec);
  const out: PreparedRecord = { issues, hash: hashCanonical(data), status: rec.status, data, clean: issues.length === 0 };
  if (!jsonEqual(item, rec)) out.raw = json;
  if (codec.references) {
    const refs = refsOf(c, rec);
    if (refs !== undefined) out.refs = refs;
  }
  out.values = recordValues(c, rec);
  return out;
}

/** Prepares one page's items (see the module comment). */
export function prepareItems(c: CollectionName, items: readonly unknown[], options: PrepareOptions, t: PrepTimings): PreparedEntry[] {
  const { codec, eager } = options;
  return normalizing(t, () =>
    items.map((item): PreparedEntry => {
      const json = JSON.stringify(item) ?? 'null';
      const fp = rawFingerprint(codec.version, json);
      if (!eager) {
        const id = cleanRawId(item);
        return { id, fp, cleanId: id !== undefined, json };
      }
      const read = readItem(c, item, codec, t);
      return { id: read.id, fp, cleanId: read.id !== undefined && read.id === cleanRawId(item), prep: prepareRecord(c, item, json, read, codec, options.cross, t) };
    }),
  );
}

/** A page body parsed and prepared (`prepareBody`). */
export interface PreparedBodyParts {
  count: number;
  /** Each item's `sourcedId` as sent when it is a string, else null. */
  ids: Array<string | null>;
  warnings: ImsxStatus[];
  entries: PreparedEntry[];
  t: PrepTimings;
}

/**
 * Parses a 2xx page body as `c`'s envelope (throwing `parseEnvelope`'s `bad_envelope` errors) and
 * prepares its items: what a prep worker does with a body (prep-pool.ts).
 */
export function prepareBody(
  c: CollectionName,
  raw: Buffer,
  res: { status: number; headers: Record<string, string>; label: string },
  options: PrepareOptions,
): PreparedBodyParts {
  const env = parseEnvelope(raw, res, { expectKey: c, expectShape: 'array' });
  const items = env.body[c] as unknown[];
  const ids = items.map((item) => rawSourcedId(item) ?? null);
  const t = emptyPrepTimings();
  const entries = prepareItems(c, items, options, t);
  return { count: items.length, ids, warnings: env.warnings, entries, t };
}
