/**
 * Masking of personal values for error reports (issue 5 "Error reports": the offending value is kept,
 * masked for personal fields such as email and phone). A report goes to admins and is often handed to
 * the SIS vendor; the mask keeps enough to find the record at the SIS (first letters, last digits)
 * and nothing that identifies a person on its own.
 *
 * - email   `john.doe@district.org` → `j***@d***.org`
 * - phone   `+12125550123` → `+1******0123` (the `+`, first digit and last four digits kept)
 * - names, usernames, identifiers → first letter + `***`
 * - passwords → `***` (nothing kept)
 * - birth dates and other demographics, metadata → `***`
 * Fields that are not personal (sourcedIds, statuses, enums, dates of records, references) pass through.
 */

export type PersonalKind = 'email' | 'phone' | 'name' | 'hidden';

const KINDS: ReadonlyMap<string, PersonalKind> = new Map<string, PersonalKind>([
  ['email', 'email'],
  ['phone', 'phone'],
  ['sms', 'phone'],
  ['givenName', 'name'],
  ['familyName', 'name'],
  ['middleName', 'name'],
  ['preferredFirstName', 'name'],
  ['preferredLastName', 'name'],
  ['preferredMiddleName', 'name'],
  ['username', 'name'],
  ['identifier', 'name'],
  ['userIds', 'name'],
  ['password', 'hidden'],
  ['birthDate', 'hidden'],
  ['sex', 'hidden'],
  ['cityOfBirth', 'hidden'],
  ['countryOfBirthCode', 'hidden'],
  ['stateOfBirthAbbreviation', 'hidden'],
  ['publicSchoolResidenceStatus', 'hidden'],
  ['americanIndianOrAlaskaNative', 'hidden'],
  ['asian', 'hidden'],
  ['blackOrAfricanAmerican', 'hidden'],
  ['nativeHawaiianOrOtherPacificIslander', 'hidden'],
  ['white', 'hidden'],
  ['demographicRaceTwoOrMoreRaces', 'hidden'],
  ['hispanicOrLatinoEthnicity', 'hidden'],
]);

/** Last name segment of a dotted field path without indexes: `userIds[0].identifier` → `identifier`. */
function leaf(field: string): string {
  let end = field.length;
  if (field.charCodeAt(end - 1) === 93 /* ] */) end = field.lastIndexOf('[');
  const dot = field.lastIndexOf('.', end - 1);
  return field.slice(dot + 1, end);
}

/**
 * The kind of personal data a field holds, or undefined when it is not personal. `metadata.*` is
 * hidden, except the user-flag key, whose issues only ever carry an unknown flag code (a value list
 * entry, needed to fix the list) and never the student's flags.
 */
export function personalKind(field: string): PersonalKind | undefined {
  if (field.startsWith('metadata')) return field === 'metadata.microsoft.userFlags' ? undefined : 'hidden';
  const byLeaf = KINDS.get(leaf(field));
  if (byLeaf !== undefined) return byLeaf;
  let end = field.length;
  const dot = field.indexOf('.');
  const bracket = field.indexOf('[');
  if (dot >= 0) end = dot;
  if (bracket >= 0 && bracket < end) end = bracket;
  return end === field.length ? undefined : KINDS.get(field.slice(0, end));
}

/** True when values of `field` are personal and must be masked in reports and logs. */
export function isPersonalField(field: string): boolean {
  return personalKind(field) !== undefined;
}

function firstChar(s: string): string {
  const cp = s.codePointAt(0);
  return cp === undefined ? '' : String.fromCodePoint(cp);
}

function maskName(s: string): string {
  const t = s.trim();
  return t === '' ? '***' : `${firstChar(t)}***`;
}

function maskEmail(s: string): string {
  const t = s.trim();
  const at = t.lastIndexOf('@');
  if (at <= 0) return maskName(t);
  const domain = t.slice(at + 1);
  const dot = domain.lastIndexOf('.');
  const tld = dot > 0 ? domain.slice(dot) : '';
  const host = dot > 0 ? domain.slice(0, dot) : domain;
  return `${firstChar(t)}***@${host === '' ? '' : firstChar(host)}***${tld}`;
}

function maskPhone(s: string): string {
  const t = s.trim();
  let digits = '';
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c >= 48 && c <= 57) digits += t[i];
  }
  const plus = t.startsWith('+') ? '+' : '';
  if (digits.length < 7) return `${plus}${'*'.repeat(Math.max(0, digits.length - 2))}${digits.slice(-2)}` || '***';
  return `${plus}${digits[0]}${'*'.repeat(digits.length - 5)}${digits.slice(-4)}`;
}

/**
 * The value of `field` as a report may show it: masked when the field is personal (see the file
 * comment), otherwise unchanged. Long values are cut to 200 characters like every issue value.
 */
export function maskValue(field: string, value: string): string {
  let out: string;
  switch (personalKind(field)) {
    case 'email':
      out = maskEmail(value);
      break;
    case 'phone':
      out = maskPhone(value);
      break;
    case 'name':
      out = maskName(value);
      break;
    case 'hidden':
      out = '***';
      break;
    case undefined:
      out = value;
  }
  return out.length > 200 ? `${out.slice(0, 197)}...` : out;
}
