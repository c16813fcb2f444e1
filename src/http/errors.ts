/**
 * The one place typed operational errors become HTTP statuses (DESIGN.md "Conventions": stable
 * codes mapped to HTTP status in one place, as Outline's `errors.ts` and fastify's `FST_ERR_*`).
 * A plugin with its own error format (the OneRoster API's imsx bodies) sets its own handler in its
 * encapsulated scope; everything else answers `{ error: code, message }`.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isStoredConnectionError, type StoredConnectionErrorCode } from '../services/stored-connection.ts';
import { isSourceError, type SourceErrorCode } from '../source/errors.ts';
import { isStoreError, type StoreErrorCode } from '../store/errors.ts';
import { isScheduleError, type ScheduleErrorCode } from '../sync/schedule.ts';

// Records over the code unions: a new code fails the type-check until it is mapped here.
const STORE: Record<StoreErrorCode, number> = {
  run_in_progress: 409,
  not_found: 404,
  already_exists: 409,
  invalid_input: 400,
  secret_key_missing: 500,
  secret_unreadable: 500,
  unsupported_database: 500,
  database_unavailable: 503,
  run_not_running: 409,
  not_held: 409,
};
const SCHEDULE: Record<ScheduleErrorCode, number> = { invalid_schedule: 400, invalid_retention: 400 };
const STORED_CONNECTION: Record<StoredConnectionErrorCode, number> = { secret_missing: 409 };
/** Provider failures seen through our API are a bad gateway: the SIS, not the caller, failed. */
const SOURCE: Record<SourceErrorCode, number> = {
  auth_failed: 502,
  forbidden: 502,
  endpoint_missing: 502,
  bad_envelope: 502,
  bad_request: 502,
  server_error: 502,
  unexpected_status: 502,
  too_many_retries: 504,
  timeout: 504,
  network: 502,
  paging_loop: 502,
  invalid_config: 400,
  aborted: 503,
};

export interface HttpError {
  status: number;
  code: string;
  message: string;
}

/**
 * Status, code and message for any thrown value. Unknown errors become 500 `internal_error` with a
 * generic message: their text may carry internals (SQL, paths) and is logged instead.
 */
export function toHttpError(err: unknown): HttpError {
  if (isStoreError(err)) return { status: STORE[err.code], code: err.code, message: err.message };
  if (isScheduleError(err)) return { status: SCHEDULE[err.code], code: err.code, message: err.message };
  if (isStoredConnectionError(err)) return { status: STORED_CONNECTION[err.code], code: err.code, message: err.message };
  if (isSourceError(err)) return { status: SOURCE[err.code], code: err.code, message: err.message };
  const fe = err as Partial<FastifyError> | null;
  // fastify's own client errors (bad JSON, body too large, validation) carry a 4xx statusCode.
  if (fe && typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, code: typeof fe.code === 'string' ? fe.code : 'bad_request', message: fe.message ?? 'bad request' };
  }
  return { status: 500, code: 'internal_error', message: 'internal error; see the server log' };
}

/** fastify error handler answering `{ error, message }` with the mapped status. */
export function errorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const e = toHttpError(err);
  if (e.status >= 500) request.log.error({ err, code: e.code }, 'request failed');
  void reply.code(e.status).send({ error: e.code, message: e.message });
}
