/**
 * Contact phone numbers (`phone`, `sms`) as SDS expects them: E.164 with the leading `+` (the seed:
 * "Expect phone and sms to be in E.164 and + must be included"; sds-notes §3.1 "Phone: E.164, stored as
 * received").
 *
 * The form is checked by scanning characters (a `+`, then digits only: E.164 has no spaces or
 * punctuation), and the number itself with libphonenumber-js's full metadata (`/max`), which knows
 * each country's valid ranges; a regex cannot. Only contacts are checked (the rules call this once or
 * twice per contact), because parsing with the full metadata costs microseconds per number.
 */
import { ParseError, parsePhoneNumberWithError } from 'libphonenumber-js/max';

export type PhoneCheck = { ok: true } | { ok: false; reason: string };

const OK: PhoneCheck = Object.freeze({ ok: true });

/** What went wrong, in words an admin can act on (never the number itself). */
const PARSE_REASONS: Readonly<Record<string, string>> = {
  INVALID_COUNTRY: 'does not start with a valid country calling code',
  NOT_A_NUMBER: 'is not a phone number',
  TOO_SHORT: 'is too short for a phone number',
  TOO_LONG: 'is too long for a phone number',
  INVALID_LENGTH: 'has the wrong number of digits',
};

/**
 * Checks that `value` is an E.164 number (`+` then at most 15 digits, nothing else) that
 * libphonenumber-js considers valid for its country. The reason never contains the number.
 */
export function checkE164(value: string): PhoneCheck {
  const n = value.length;
  if (n === 0 || value.charCodeAt(0) !== 43 /* + */) return { ok: false, reason: 'does not start with "+" and the country code' };
  for (let i = 1; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return { ok: false, reason: 'has characters other than digits after the "+" (E.164 has no spaces or punctuation)' };
  }
  // ITU-T E.164 §6: at most 15 digits including the country code; too-short numbers are libphonenumber's call.
  if (n - 1 > 15) return { ok: false, reason: 'has more than 15 digits' };
  try {
    const parsed = parsePhoneNumberWithError(value);
    return parsed.isValid() ? OK : { ok: false, reason: 'is not a valid number for its country' };
  } catch (err) {
    if (err instanceof ParseError) return { ok: false, reason: PARSE_REASONS[err.message] ?? 'is not a valid phone number' };
    throw err;
  }
}

/** True when `value` passes `checkE164`. */
export function isE164(value: string): boolean {
  return checkE164(value).ok;
}
