/**
 * What logs and run records keep of a caught error: its stable code and its message, never the
 * error object (which may carry request options or record data).
 */

/** The error's `code` when it has a string one (SourceError, StoreError, pg, node), else its name. */
export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.name : 'error';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
