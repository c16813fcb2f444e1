/**
 * Operational failures of the store, with stable codes (DESIGN.md "Conventions": typed errors with
 * stable codes, mapped to HTTP status in one place by `http/`). Messages carry ids, never record data.
 */

export const STORE_ERROR_CODES = [
  /** Another run of this connection is still `running` ("one run per connection at a time"). */
  'run_in_progress',
  /** A tenant, connection or run id that does not exist. */
  'not_found',
  /** A name or id that is already taken. */
  'already_exists',
  /** An id or field that fails validation (e.g. a connection id with spaces). */
  'invalid_input',
  /** A secret was given or requested but the store was opened without a secret key. */
  'secret_key_missing',
  /** The stored secret cannot be decrypted with the configured key. */
  'secret_unreadable',
  /** The store URL names a database this build cannot open. */
  'unsupported_database',
  /** The PostgreSQL server is unreachable, refuses the login, or has no such database. */
  'database_unavailable',
  /** A run was finished or heartbeated that is no longer `running` (e.g. another process reaped it). */
  'run_not_running',
  /** A hold decision was asked for a run that is not a pending hold. */
  'not_held',
] as const;

export type StoreErrorCode = (typeof STORE_ERROR_CODES)[number];

/** An operational failure of the store. `code` is stable; `message` is for an admin. */
export class StoreError extends Error {
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}

/** True when `err` is a StoreError (optionally with one of `codes`). */
export function isStoreError(err: unknown, ...codes: StoreErrorCode[]): err is StoreError {
  return err instanceof StoreError && (codes.length === 0 || codes.includes(err.code));
}

/**
 * True when `err` is a unique-constraint violation from either driver: better-sqlite3 sets
 * `code = 'SQLITE_CONSTRAINT_UNIQUE'` (or `_PRIMARYKEY`); pg sets SQLSTATE `23505`.
 */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}
