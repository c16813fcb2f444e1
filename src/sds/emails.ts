/**
 * Email addresses as SDS handles them (sds-notes §3.1): matched and stored in lower case, validated
 * against RFC 5322 (the docs say "RFC 5532 (3.4.1)", presumably meaning RFC 5322 §3.4.1 addr-spec).
 *
 * The check is the practical subset every mail system accepts: a dot-atom local part (letters, digits,
 * ``!#$%&'*+/=?^_`{|}~-`` and non-leading, non-trailing, non-doubled dots; at most 64 characters), one `@`,
 * and a DNS domain of at least two labels (letters, digits, inner hyphens; at most 63 characters each;
 * a TLD that is not all digits). Quoted local parts and IP-literal domains are refused: no SIS sends
 * them on purpose, and Microsoft 365 cannot use them. It runs on every user of a run, so it is a single
 * character scan with no regex and no allocation for an already-lower-case valid address.
 */

/** Result of `checkEmail`: `ok` (valid, already lower case), `lower` (valid once lower-cased), `invalid`. */
export type EmailCheck = 'ok' | 'lower' | 'invalid';

// Characters allowed in a dot-atom besides letters, digits and '.': ! # $ % & ' * + - / = ? ^ _ ` { | } ~
const ATEXT_EXTRA = new Uint8Array(128);
for (const ch of "!#$%&'*+-/=?^_`{|}~") ATEXT_EXTRA[ch.charCodeAt(0)] = 1;

function isLetter(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Classifies an email address (see the file comment for the accepted form). */
export function checkEmail(s: string): EmailCheck {
  const n = s.length;
  if (n < 3 || n > 254) return 'invalid';
  const at = s.indexOf('@');
  if (at <= 0 || at > 64 || at === n - 1 || s.indexOf('@', at + 1) !== -1) return 'invalid';
  let upper = false;
  // Local part.
  let prev = 46; // treat the start as after a dot: a leading dot is refused
  for (let i = 0; i < at; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (prev === 46) return 'invalid';
    } else if (isLetter(c)) {
      if (c <= 90) upper = true;
    } else if (!isDigit(c) && !(c < 128 && ATEXT_EXTRA[c] === 1)) return 'invalid';
    prev = c;
  }
  if (prev === 46) return 'invalid';
  // Domain.
  let labels = 0;
  let labelStart = at + 1;
  let labelAllDigits = true;
  for (let i = at + 1; i <= n; i++) {
    const c = i < n ? s.charCodeAt(i) : 46;
    if (c === 46) {
      const len = i - labelStart;
      if (len === 0 || len > 63) return 'invalid';
      if (s.charCodeAt(labelStart) === 45 || s.charCodeAt(i - 1) === 45) return 'invalid'; // no leading/trailing hyphen
      labels++;
      if (i === n && labelAllDigits) return 'invalid'; // an all-digit TLD means an IP address or a typo
      labelStart = i + 1;
      labelAllDigits = true;
    } else if (isLetter(c)) {
      if (c <= 90) upper = true;
      labelAllDigits = false;
    } else if (c === 45) {
      labelAllDigits = false;
    } else if (!isDigit(c)) return 'invalid';
  }
  if (labels < 2) return 'invalid';
  return upper ? 'lower' : 'ok';
}

/** The address in its stored form (lower case), or undefined when it is not a valid address. */
export function normaliseEmail(s: string): string | undefined {
  const c = checkEmail(s);
  return c === 'ok' ? s : c === 'lower' ? s.toLowerCase() : undefined;
}
