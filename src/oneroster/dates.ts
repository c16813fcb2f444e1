/**
 * ISO-8601 dates and datetimes as OneRoster uses them (oneroster-spec-notes §3.2, §2.3).
 *
 * Providers send `dateLastModified` with or without milliseconds, sometimes with an offset
 * instead of `Z`, and filters arrive date-only (`2020-01-01`, Moodle) or as full datetimes.
 * Comparing such strings as text is the classic delta-sync bug, so everything here turns them
 * into instants (ms since the epoch). The parser is hand-written (no regex, no `Date.parse`,
 * whose accepted formats are implementation-defined) because it runs on every record.
 */

const MS_PER_MINUTE = 60_000;
/** 400 Gregorian years are exactly 146097 days; used to dodge `Date.UTC`'s 0–99 → 1900s mapping. */
const MS_PER_400_YEARS = 146_097 * 86_400_000;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function isLeap(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

/** Two ASCII digits at `i` as a number, or -1. */
function digits2(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  if (a < 0 || a > 9 || b < 0 || b > 9) return -1;
  return a * 10 + b;
}

/** Parses `YYYY-MM-DD` at the start of `s`; returns [year, month(1-12), day] or undefined. */
function parseDatePart(s: string): [number, number, number] | undefined {
  if (s.length < 10 || s.charCodeAt(4) !== 45 /* - */ || s.charCodeAt(7) !== 45) return undefined;
  const hi = digits2(s, 0);
  const lo = digits2(s, 2);
  const month = digits2(s, 5);
  const day = digits2(s, 8);
  if (hi < 0 || lo < 0 || month < 1 || month > 12 || day < 1) return undefined;
  const year = hi * 100 + lo;
  const max = month === 2 && isLeap(year) ? 29 : (DAYS_IN_MONTH[month - 1] as number);
  if (day > max) return undefined;
  return [year, month, day];
}

function utc(year: number, month: number, day: number, h: number, m: number, s: number, ms: number): number {
  if (year < 100) return Date.UTC(year + 400, month - 1, day, h, m, s, ms) - MS_PER_400_YEARS;
  return Date.UTC(year, month - 1, day, h, m, s, ms);
}

/**
 * Parses an ISO-8601 date or datetime into ms since the epoch, or `undefined` when it is not one.
 *
 * Accepted: `YYYY-MM-DD` (midnight UTC); `YYYY-MM-DDTHH:mm`, `…:ss`, `…:ss.f` (any number of
 * fraction digits, truncated to ms; `,` also accepted as the decimal sign per ISO 8601); the `T`
 * may be `t` or a space; zone `Z`/`z`, `±HH:MM`, `±HHMM` or `±HH`. A datetime without a zone is
 * taken as UTC: the spec says dateLastModified MUST be UTC (§3.2), so a missing designator is a
 * provider omission, not local time. Calendar dates are checked (no 2023-02-29); leap seconds
 * and `24:00` are rejected.
 */
export function parseInstant(text: string): number | undefined {
  const date = parseDatePart(text);
  if (date === undefined) return undefined;
  const [year, month, day] = date;
  const n = text.length;
  if (n === 10) return utc(year, month, day, 0, 0, 0, 0);

  const sep = text.charCodeAt(10);
  if (sep !== 84 /* T */ && sep !== 116 /* t */ && sep !== 32 /* space */) return undefined;
  const hour = digits2(text, 11);
  if (hour < 0 || hour > 23 || text.charCodeAt(13) !== 58 /* : */) return undefined;
  const minute = digits2(text, 14);
  if (minute < 0 || minute > 59) return undefined;
  let i = 16;
  let second = 0;
  let ms = 0;
  if (text.charCodeAt(i) === 58) {
    second = digits2(text, i + 1);
    if (second < 0 || second > 59) return undefined;
    i += 3;
    const c = text.charCodeAt(i);
    if (c === 46 /* . */ || c === 44 /* , */) {
      i++;
      const start = i;
      let scale = 100;
      while (i < n) {
        const d = text.charCodeAt(i) - 48;
        if (d < 0 || d > 9) break;
        ms += d * scale;
        scale /= 10;
        i++;
      }
      if (i === start) return undefined;
      ms = Math.floor(ms);
    }
  }

  let offsetMinutes = 0;
  if (i < n) {
    const z = text.charCodeAt(i);
    if (z === 90 /* Z */ || z === 122 /* z */) {
      if (i + 1 !== n) return undefined;
    } else if (z === 43 /* + */ || z === 45 /* - */) {
      const oh = digits2(text, i + 1);
      if (oh < 0 || oh > 23) return undefined;
      let j = i + 3;
      let om = 0;
      if (j < n) {
        if (text.charCodeAt(j) === 58) j++;
        om = digits2(text, j);
        if (om < 0 || om > 59) return undefined;
        j += 2;
      }
      if (j !== n) return undefined;
      offsetMinutes = (z === 45 ? -1 : 1) * (oh * 60 + om);
    } else {
      return undefined;
    }
  }
  return utc(year, month, day, hour, minute, second, ms) - offsetMinutes * MS_PER_MINUTE;
}

/** Formats ms since the epoch as `YYYY-MM-DDTHH:mm:ss.SSSZ` (the normalised dateLastModified form). Throws RangeError on NaN. */
export function formatDateTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** Formats ms since the epoch as the UTC calendar date `YYYY-MM-DD`. */
export function formatDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** True when `text` is exactly `YYYY-MM-DD` and a real calendar date (2024-02-29 yes, 2023-02-29 no). */
export function isIsoDate(text: string): boolean {
  return text.length === 10 && parseDatePart(text) !== undefined;
}

/** True when `text` is already in the canonical `YYYY-MM-DDTHH:mm:ss.SSSZ` layout (not checked for validity). */
function hasCanonicalLayout(text: string): boolean {
  return (
    text.length === 24 &&
    text.charCodeAt(23) === 90 &&
    text.charCodeAt(10) === 84 &&
    text.charCodeAt(19) === 46
  );
}

/**
 * Normalises an ISO datetime to `YYYY-MM-DDTHH:mm:ss.SSSZ`, or `undefined` when unparseable.
 * Returns the input string itself when it is already canonical (no allocation on the common path).
 */
export function normalizeDateTime(text: string): string | undefined {
  const ms = parseInstant(text);
  if (ms === undefined) return undefined;
  if (hasCanonicalLayout(text)) return text;
  if (ms < -62_167_219_200_000 || ms > 253_402_300_799_999) return undefined; // outside years 0000–9999
  return formatDateTime(ms);
}
