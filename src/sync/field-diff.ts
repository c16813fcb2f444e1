/**
 * Field-level differences between two versions of a record, as the change history and dry runs
 * show them ("changed fields with before/after values"). Top-level fields of the canonical JSON are
 * compared; a GUIDRef's `href` does not count as a change (it only follows the provider's host,
 * oneroster-spec-notes §3.3), matching `hashCanonical`.
 */

/** Stands for a password value in diffs. */
export const SECRET = '[redacted]';

/** `{ field: { before, after } }`; an absent side is `null`. */
export type FieldDiff = Record<string, { before: unknown; after: unknown }>;

/** Strips `href` from GUIDRefs (and arrays of them) for comparison only. */
function withoutHrefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutHrefs);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (k === 'href' && typeof v === 'string') continue;
      out[k] = withoutHrefs(v);
    }
    return out;
  }
  return value;
}

/** Order-insensitive JSON text for comparing two values. */
function key(value: unknown): string {
  return JSON.stringify(sortKeys(withoutHrefs(value)));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o).sort()) out[k] = sortKeys(o[k]);
    return out;
  }
  return value;
}

/**
 * The fields that differ between `before` and `after` (parsed records or their JSON text).
 * `undefined`/missing on one side is reported as `null`.
 */
export function fieldDiff(before: unknown, after: unknown): FieldDiff {
  const b = (typeof before === 'string' ? JSON.parse(before) : before) as Record<string, unknown> | null;
  const a = (typeof after === 'string' ? JSON.parse(after) : after) as Record<string, unknown> | null;
  const out: FieldDiff = {};
  const keys = new Set([...Object.keys(b ?? {}), ...Object.keys(a ?? {})]);
  for (const k of [...keys].sort()) {
    const bv = b?.[k];
    const av = a?.[k];
    if (bv === undefined && av === undefined) continue;
    if (bv !== undefined && av !== undefined && key(bv) === key(av)) continue;
    // A password (OneRoster users may carry one) is a secret: history says it changed, never what to.
    if (k === 'password') {
      out[k] = { before: bv === undefined ? null : SECRET, after: av === undefined ? null : SECRET };
      continue;
    }
    out[k] = { before: bv ?? null, after: av ?? null };
  }
  return out;
}
