/** What the admin API's route modules share (built once per plugin instance by `admin-api.ts`). */
import type { FastifyBaseLogger } from 'fastify';
import type { PasswordCost } from '../../store/password-hash.ts';
import type { Store } from '../../store/store.ts';
import type { AdminAuth, Principal } from './auth.ts';
import type { SetupGate } from './bootstrap.ts';
import type { RunTracker } from './run-tracker.ts';
import type { SseRegistry } from './sse.ts';

export interface AuditFields {
  /** The tenant the action concerns (absent: installation-wide). */
  tenantId?: string | undefined;
  target?: string;
  /** Ids and settings only: never secrets, passwords, tokens or student data. */
  details?: Record<string, unknown>;
}

export interface AdminContext {
  store: Store;
  auth: AdminAuth;
  runs: RunTracker;
  sse: SseRegistry;
  setup: SetupGate;
  passwordCost: PasswordCost;
  log: FastifyBaseLogger;
  /** SSE: keep-alive comment interval. */
  sseKeepAliveMs: number;
  /** SSE of a run this process does not run (scheduler, another process): how often its record is re-read. */
  runPollMs: number;
  /** Login and setup attempts per IP and per username within `rateWindowMs`. */
  loginMax: number;
  rateWindowMs: number;
  /** Appends an audit row for `actor` (a principal, or `system`). */
  audit(actor: Principal | 'system', action: string, fields?: AuditFields): Promise<void>;
}
