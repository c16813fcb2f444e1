/**
 * How the sync turns a provider item into what it stores: the lenient reader (oneroster/reader.ts),
 * canonical JSON and its SHA-256 (oneroster/canonical.ts). A port, so tests and benchmarks can
 * swap in instrumented versions; production uses `DEFAULT_CODEC`.
 */
import { hash } from 'node:crypto';
import type { DataIssue } from '../oneroster/issues.ts';
import { canonicalJson, readEntity } from '../oneroster/reader.ts';
import type { AnyEntity, CollectionName } from '../oneroster/types.ts';

export interface RecordCodec {
  /**
   * Salt of the raw fingerprints stored with live rows. Change it whenever the reader or canonical
   * JSON would turn the same provider JSON into a different record: unchanged provider JSON then
   * goes through the new reader once, instead of being skipped as unchanged (records that come out
   * unchanged have their new fingerprint stored by the apply, so the sync after skips them again).
   */
  readonly version: string;
  /**
   * Lenient read: `record` is absent when an error-severity issue dropped it, or when `skipped`:
   * the record is not ingested by choice (an optional-data toggle is off). A skipped record is
   * neither invalid nor kept: the store treats it as absent.
   */
  readEntity(collection: CollectionName, raw: unknown): { record?: AnyEntity; issues: DataIssue[]; skipped?: boolean };
  /** Key-sorted, whitespace-free JSON; equal data gives equal text. */
  canonicalJson(value: unknown): string;
  /**
   * Check references after staging (`reference-check.ts`): dangling required references drop the
   * record, optional ones drop the value. The SDS codec turns this on.
   */
  readonly references?: boolean;
  /**
   * How a worker thread builds this same codec (prep-pool.ts prepares pages off the sync's thread);
   * absent: pages are prepared on the sync's thread. The factory must return a codec whose output
   * equals this one's for every input.
   */
  readonly worker?: CodecRecipe;
  /** Counters the codec keeps while it reads (e.g. the SDS codec's filter stats); a worker's are added in. */
  readonly stats?: object;
}

/** A module URL, an exported factory and its (structured-cloneable) arguments. */
export interface CodecRecipe {
  module: string;
  factory: string;
  args: readonly unknown[];
}

/** Numbers, possibly nested in objects. */
export interface CodecCounters {
  [k: string]: number | CodecCounters;
}

/** A copy of the numbers in `stats` (nested objects too), which are zeroed: a worker's counters of one page. */
export function takeCounters(stats: object): CodecCounters {
  const c = stats as Record<string, unknown>;
  const out: CodecCounters = {};
  for (const [k, v] of Object.entries(c)) {
    if (typeof v === 'number') {
      out[k] = v;
      c[k] = 0;
    } else if (typeof v === 'object' && v !== null) out[k] = takeCounters(v);
  }
  return out;
}

/** Adds the numbers of `from` into `stats` (same shape). */
export function addCounters(stats: object, from: CodecCounters): void {
  const into = stats as Record<string, unknown>;
  for (const [k, v] of Object.entries(from)) {
    const cur = into[k];
    if (typeof v === 'number') into[k] = (typeof cur === 'number' ? cur : 0) + v;
    else if (typeof cur === 'object' && cur !== null) addCounters(cur, v);
    else into[k] = structuredClone(v);
  }
}

/** Bump `version` when reader.ts / canonical.ts change their output (see RecordCodec.version). */
export const DEFAULT_CODEC: RecordCodec = {
  version: 'reader-2',
  readEntity,
  canonicalJson,
  worker: { module: import.meta.url, factory: 'defaultCodec', args: [] },
};

/** `DEFAULT_CODEC` (the factory of its worker recipe). */
export function defaultCodec(): RecordCodec {
  return DEFAULT_CODEC;
}

/**
 * Fingerprint of a provider item: sha256 of the codec version and the item's JSON text (the text
 * `JSON.stringify` gives for the parsed item, i.e. the provider's key order). Equal fingerprints
 * mean the provider sent the same record, so reading and hashing it again can be skipped.
 */
export function rawFingerprint(version: string, json: string): string {
  return hash('sha256', `${version}\n${json}`, 'base64');
}

/**
 * A GUIDRef's `href` in canonical text: keys are sorted, so `href` is always a ref object's first
 * key. A `{"href":"` with bare quotes can only be structure (quotes inside string values are
 * escaped), so this never matches inside a value.
 */
const HREF_IN_CANONICAL = /\{"href":"(?:[^"\\]|\\.)*",?/g;

/**
 * SHA-256 hex of canonical JSON text, ignoring GUIDRef `href`s: an href is informative only
 * (oneroster-spec-notes §3.3: consumers key on sourcedId) and changes with the provider's host or
 * port, which must not turn every record with a reference into an update. The stored `data` keeps
 * the hrefs as sent. Reuses the text the sync stores anyway, so each record is serialised once.
 */
export function hashCanonical(text: string): string {
  return hash('sha256', text.includes('"href":"') ? text.replace(HREF_IN_CANONICAL, '{') : text, 'hex');
}

/**
 * Deep equality of JSON values regardless of object key order, treating an `undefined` property as
 * absent (as JSON does). The sync stores the provider's raw record only when the normalised
 * record differs from it, so "nothing the SIS sent is lost" costs nothing for clean data.
 */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  let na = 0;
  for (const k in ao) {
    const v = ao[k];
    if (v === undefined) continue;
    na++;
    if (!Object.hasOwn(bo, k) || !jsonEqual(v, bo[k])) return false;
  }
  let nb = 0;
  for (const k in bo) if (bo[k] !== undefined) nb++;
  return na === nb;
}
