/**
 * Errors of the admin API: stable codes with their HTTP status, and the admin plugin's error
 * handler. Typed errors of the services (store, schedule, source, stored connection) keep their
 * mapping in `http/errors.ts`; this handler adds the admin API's own codes, the SDS toggle refusal
 * and request validation, and answers `{ error, message }` like the rest of the server.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ToggleError } from '../../sds/toggles.ts';
import { errorHandler } from '../errors.ts';

const STATUS = {
  /** No session cookie or bearer token, or one that is unknown, revoked or expired. */
  unauthorized: 401,
  /** The session ended (absolute lifetime or idle timeout): log in again. */
  session_expired: 401,
  /** Wrong username or password (which one is never said). */
  invalid_credentials: 401,
  /** The role does not allow this (a viewer writing, a tenant admin on installation settings). */
  forbidden: 403,
  /** A state-changing request with a session cookie lacks the session's `x-csrf-token`. */
  csrf_failed: 403,
  /** Not found, or not visible to this account (other tenants' objects look absent). */
  not_found: 404,
  /** A body, parameter or query that fails validation. */
  invalid_request: 400,
  /** A Test provider without a flight, or a No / unlisted provider (choose "custom"). */
  provider_unavailable: 400,
  /** `POST /setup` after the first admin exists, or without a pending setup token. */
  setup_unavailable: 409,
  /** The setup token does not match. */
  invalid_setup_token: 401,
  /** The change would leave no enabled installation admin. */
  last_admin: 409,
  /** Too many attempts (login, setup); `retry-after` says when to try again. */
  rate_limited: 429,
  /** An API-only node queued a sync, but no worker started it in time (it stays queued). */
  no_worker: 503,
} as const;

export type AdminErrorCode = keyof typeof STATUS;

/** An admin API failure with a stable code; `message` is for the admin and names ids, never secrets. */
export class AdminError extends Error {
  readonly code: AdminErrorCode;
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(code: AdminErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'AdminError';
    this.code = code;
    this.status = STATUS[code];
    this.headers = headers;
  }
}

/** True when `err` is an AdminError (optionally with one of `codes`). */
export function isAdminError(err: unknown, ...codes: AdminErrorCode[]): err is AdminError {
  return err instanceof AdminError && (codes.length === 0 || codes.includes(err.code));
}

/** The admin plugin's error handler (everything it does not know goes to the shared one). */
export function adminErrorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  void reply.header('cache-control', 'no-store');
  if (err instanceof AdminError) {
    for (const [k, v] of Object.entries(err.headers)) void reply.header(k, v);
    void reply.code(err.status).send({ error: err.code, message: err.message });
    return;
  }
  if (err instanceof ToggleError) {
    void reply.code(400).send({ error: err.code, message: err.message });
    return;
  }
  const fe = err as Partial<FastifyError> | null;
  if (fe?.validation !== undefined) {
    void reply.code(400).send({ error: 'invalid_request', message: fe.message ?? 'invalid request' });
    return;
  }
  errorHandler(err, request, reply);
}
