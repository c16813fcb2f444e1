/**
 * Change events as Rostersync hands them on (issue 6, "Change events and webhooks"): one shape for
 * the events API (`GET /api/v1/events`), webhook bodies, and `rostersync changes --json`.
 *
 * An event is one applied row of the change history (`changes` table, migration 0003): the run that
 * applied it, the record (entity + sourcedId), the kind, and for updates/restores/deletes the fields
 * that changed with their values before and after. Created records carry `fields: null` (the whole
 * record is new; read it from the OneRoster API).
 *
 * Cursors are opaque to consumers: `rs1.<seq in base 36>`. They encode the history's `seq`, which
 * only grows (SQLite AUTOINCREMENT and PostgreSQL sequences never reuse a value), so "after cursor"
 * resumes exactly where a consumer stopped. The `rs1.` prefix versions the format; anything else is
 * rejected as malformed rather than guessed at.
 */

export const CHANGE_KINDS = ['created', 'updated', 'deleted', 'restored'] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

/** One field's values around a change. `before`/`after` are absent when the field was absent. */
export interface FieldChange {
  before?: unknown;
  after?: unknown;
}

/** One change event. */
export interface ChangeEvent {
  /** Opaque position of this event; `after=<cursor>` resumes after it. */
  cursor: string;
  /** The history's sequence number (ordered; gaps are normal). */
  seq: number;
  /** When the change was applied (ISO-8601 UTC). */
  at: string;
  /** The run that applied the change. */
  runId: number;
  connectionId: string;
  /** Collection, e.g. `users`. */
  entity: string;
  sourcedId: string;
  kind: ChangeKind;
  /** Changed fields with before/after values; null for `created`. */
  fields: Record<string, FieldChange> | null;
}

const CURSOR_PREFIX = 'rs1.';

/** The opaque cursor of history position `seq` (0 = before the first event). */
export function encodeCursor(seq: number): string {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`cursor seq must be a non-negative integer, got ${seq}`);
  return `${CURSOR_PREFIX}${seq.toString(36)}`;
}

/** The seq a cursor encodes, or undefined when the string is not a cursor of ours. */
export function decodeCursor(cursor: string): number | undefined {
  if (!cursor.startsWith(CURSOR_PREFIX)) return undefined;
  const body = cursor.slice(CURSOR_PREFIX.length);
  if (!/^[0-9a-z]{1,11}$/.test(body)) return undefined;
  const seq = parseInt(body, 36);
  return Number.isSafeInteger(seq) ? seq : undefined;
}
