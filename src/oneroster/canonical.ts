/**
 * Canonical JSON and content hashes: the sync skips records whose hash did not change
 * (DESIGN.md "Performance approach"), so the text must not depend on key order or whitespace.
 */
import { hash } from 'node:crypto';

const MAX_DEPTH = 200;
const quotedKeys = new Map<string, string>();

function quoteKey(key: string): string {
  let q = quotedKeys.get(key);
  if (q === undefined) {
    q = JSON.stringify(key);
    if (quotedKeys.size < 10_000) quotedKeys.set(key, q); // bounded: metadata keys are open-ended
  }
  return q;
}

function encode(v: unknown, depth: number): string | undefined {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? JSON.stringify(v) : 'null';
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    case 'bigint':
      throw new TypeError('canonicalJson: BigInt values cannot be serialised');
    default:
      break;
  }
  if (v === null) return 'null';
  if (depth > MAX_DEPTH) throw new TypeError('canonicalJson: value is nested too deeply or is cyclic');
  const obj = v as { toJSON?: () => unknown };
  if (typeof obj.toJSON === 'function') return encode(obj.toJSON(), depth + 1);
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out += ',';
      out += encode(v[i], depth + 1) ?? 'null';
    }
    return out + ']';
  }
  const rec = v as Record<string, unknown>;
  const keys = Object.keys(rec).sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const e = encode(rec[k], depth + 1);
    if (e === undefined) continue;
    if (!first) out += ',';
    first = false;
    out += quoteKey(k) + ':' + e;
  }
  return out + '}';
}

/**
 * JSON with object keys sorted (by UTF-16 code units) and no whitespace, so equal data always
 * gives equal text. Otherwise follows `JSON.stringify`: undefined properties are left out,
 * undefined array items and non-finite numbers become `null`, `toJSON` is honoured. A top-level
 * `undefined` gives `null`. Throws TypeError on BigInt and on cycles (depth over 200).
 */
export function canonicalJson(value: unknown): string {
  return encode(value, 0) ?? 'null';
}

/**
 * SHA-256 (hex) of a record's canonical JSON (UTF-8): the change detector for the sync.
 * Uses the one-shot `crypto.hash` (Node ≥ 20.12), about 3x faster than `createHash` per record.
 */
export function contentHash(record: object): string {
  return hash('sha256', canonicalJson(record), 'hex');
}
