/**
 * A connection's sync schedules and tombstone retention, as stored in its `options` JSON
 * (`options.schedule = { enabled, delta, full, timezone }`, `options.tombstoneRetentionDays`):
 * settings, not tables, so no migration is needed. Pure: parsing, defaults and validation.
 *
 * Defaults are SDS's cadence (delta every 12 hours: "a run every 12 hours", sds-notes §1.3) plus a
 * weekly full sync off-peak (Infinite Campus: "full sync weekly … off-peak", sds-notes §1.6), which
 * is what reconciles hard deletes that deltas cannot see (issue 4).
 */
import { Cron } from 'croner';

export const DEFAULT_DELTA_CRON = '0 */12 * * *';
/** Sunday 03:00. */
export const DEFAULT_FULL_CRON = '0 3 * * 0';
export const DEFAULT_TIMEZONE = 'UTC';
/** Tombstones and change history are kept this long so downstream consumers can see deletes (issue 4). */
export const DEFAULT_RETENTION_DAYS = 30;
export const MAX_RETENTION_DAYS = 3650;
/** Two fires of one schedule closer than this are refused: a SIS is not to be polled every minute. */
export const MIN_SCHEDULE_INTERVAL_MS = 5 * 60_000;

/** When a connection syncs by itself (under `rostersync serve`). Cron expressions of 5 fields. */
export interface ConnectionSchedule {
  /** Schedules on or off (a manual `rostersync sync` works either way). */
  enabled: boolean;
  /** Delta syncs (`dateLastModified>` the cursor). */
  delta: string;
  /** Full syncs (the only ones that see hard deletes, by absence). */
  full: string;
  /** IANA time zone the expressions are read in. */
  timezone: string;
}

export const SCHEDULE_ERROR_CODES = [
  /** A cron expression or time zone that cannot be used. */
  'invalid_schedule',
  /** A retention outside 1..3650 days. */
  'invalid_retention',
] as const;
export type ScheduleErrorCode = (typeof SCHEDULE_ERROR_CODES)[number];

/** A schedule or retention setting that cannot be used. `code` is stable; `message` is for an admin. */
export class ScheduleError extends Error {
  readonly code: ScheduleErrorCode;

  constructor(code: ScheduleErrorCode, message: string) {
    super(message);
    this.name = 'ScheduleError';
    this.code = code;
  }
}

/** True when `err` is a ScheduleError. */
export function isScheduleError(err: unknown): err is ScheduleError {
  return err instanceof ScheduleError;
}

/**
 * The schedule in a connection's options, over the defaults. A connection without one is
 * scheduled by default only when it was stored with `rostersync connection add` (those carry a
 * `provider`); the ones an ad-hoc `sync --base-url` registers were never asked to sync by
 * themselves (and have no stored secret), so they stay off until `connection schedule NAME --enable`.
 */
export function scheduleOf(connection: { options: Record<string, unknown> }): ConnectionSchedule {
  const o = connection.options;
  const s = (typeof o.schedule === 'object' && o.schedule !== null ? o.schedule : {}) as Record<string, unknown>;
  const str = (v: unknown, d: string): string => (typeof v === 'string' && v.trim() !== '' ? v : d);
  return {
    enabled: typeof s.enabled === 'boolean' ? s.enabled : typeof o.provider === 'string',
    delta: str(s.delta, DEFAULT_DELTA_CRON),
    full: str(s.full, DEFAULT_FULL_CRON),
    timezone: str(s.timezone, DEFAULT_TIMEZONE),
  };
}

/** Days tombstones and change rows are kept: `options.tombstoneRetentionDays`, default 30. */
export function retentionDaysOf(connection: { options: Record<string, unknown> }): number {
  const v = connection.options.tombstoneRetentionDays;
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_RETENTION_DAYS ? v : DEFAULT_RETENTION_DAYS;
}

/** A paused croner job used only to compute fire times (never runs anything, holds no timer). */
export function compileCron(expr: string, timezone: string): Cron {
  return new Cron(expr, { paused: true, timezone, mode: '5-part' });
}

/** @throws ScheduleError `invalid_schedule` for a name that is not an IANA time zone. */
export function validateTimezone(timezone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw new ScheduleError('invalid_schedule', `time zone "${timezone}" is unknown; use an IANA name such as UTC, America/Chicago or Europe/Berlin`);
  }
}

/**
 * Checks one cron expression in a time zone: 5 fields (minute hour day-of-month month
 * day-of-week) or a nickname (`@daily`, `@weekly` …); it must fire at all, and not more often
 * than every 5 minutes. `which` names it in the message (e.g. `--delta-cron`).
 * @throws ScheduleError `invalid_schedule`.
 */
export function validateCron(expr: string, timezone: string, which: string, from: Date = new Date()): void {
  validateTimezone(timezone);
  let cron: Cron;
  try {
    cron = compileCron(expr, timezone);
  } catch (err) {
    const raw = err instanceof Error ? err.message.replace(/^Cron\w*:\s*/, '') : String(err);
    // croner's own wording allows 6 or 7 fields (seconds, years), which this mode refuses.
    const why = /space separated parts|requires exactly 5 parts/.test(raw) ? `it has ${expr.trim().split(/\s+/).length} fields, not 5` : raw;
    throw new ScheduleError(
      'invalid_schedule',
      `${which} "${expr}" is not a usable cron expression (${why}); use 5 fields "minute hour day-of-month month day-of-week", e.g. "0 */12 * * *"`,
    );
  }
  const fires = cron.nextRuns(50, from);
  if (fires.length === 0) throw new ScheduleError('invalid_schedule', `${which} "${expr}" never fires`);
  for (let i = 1; i < fires.length; i++) {
    if (fires[i]!.getTime() - fires[i - 1]!.getTime() < MIN_SCHEDULE_INTERVAL_MS) {
      throw new ScheduleError(
        'invalid_schedule',
        `${which} "${expr}" fires more often than every ${MIN_SCHEDULE_INTERVAL_MS / 60_000} minutes; a SIS should not be polled that often`,
      );
    }
  }
}

/** A change to a connection's schedule and retention (absent fields stay as they are). */
export interface ScheduleChange {
  enabled?: boolean;
  delta?: string;
  full?: string;
  timezone?: string;
  retentionDays?: number;
}

/**
 * New `options` with the change applied and validated. The stored schedule is always complete,
 * so a later change of the defaults does not move an admin's schedule.
 * @throws ScheduleError `invalid_schedule` | `invalid_retention`.
 */
export function withSchedule(connection: { options: Record<string, unknown> }, change: ScheduleChange): Record<string, unknown> {
  const cur = scheduleOf(connection);
  const next: ConnectionSchedule = {
    enabled: change.enabled ?? cur.enabled,
    delta: change.delta ?? cur.delta,
    full: change.full ?? cur.full,
    timezone: change.timezone ?? cur.timezone,
  };
  validateTimezone(next.timezone);
  validateCron(next.delta, next.timezone, 'the delta schedule');
  validateCron(next.full, next.timezone, 'the full schedule');
  const options: Record<string, unknown> = { ...connection.options, schedule: next };
  if (change.retentionDays !== undefined) {
    const d = change.retentionDays;
    if (!Number.isInteger(d) || d < 1 || d > MAX_RETENTION_DAYS) {
      throw new ScheduleError('invalid_retention', `the tombstone retention must be a whole number of days between 1 and ${MAX_RETENTION_DAYS}, got ${d}`);
    }
    options.tombstoneRetentionDays = d;
  }
  return options;
}
