import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkEmail, normaliseEmail } from './emails.ts';

test('checkEmail: valid, needs lower-casing, invalid', () => {
  const cases: Array<[string, 'ok' | 'lower' | 'invalid']> = [
    ['jane.doe@district.org', 'ok'],
    ['jane+lunch@mail.k12.ny.us', 'ok'],
    ["o'brien@example.ie", 'ok'],
    ['a_b-c@sub-domain.example.com', 'ok'],
    ['x@a.io', 'ok'],
    ['Jane.Doe@District.ORG', 'lower'],
    ['JANE@example.org', 'lower'],
    ['jane@EXAMPLE.org', 'lower'],
    ['', 'invalid'],
    ['jane', 'invalid'],
    ['jane@', 'invalid'],
    ['@district.org', 'invalid'],
    ['jane@district', 'invalid'],
    ['jane@@district.org', 'invalid'],
    ['jane@doe@district.org', 'invalid'],
    ['jane doe@district.org', 'invalid'],
    ['.jane@district.org', 'invalid'],
    ['jane.@district.org', 'invalid'],
    ['ja..ne@district.org', 'invalid'],
    ['jane@district..org', 'invalid'],
    ['jane@-district.org', 'invalid'],
    ['jane@district-.org', 'invalid'],
    ['jane@district.org.', 'invalid'],
    ['jane@192.168.0.1', 'invalid'],
    ['jane@[192.168.0.1]', 'invalid'],
    ['"jane doe"@district.org', 'invalid'],
    ['jane@distr_ict.org', 'invalid'],
    ['jane@district.org, john@district.org', 'invalid'],
    ['jané@district.org', 'invalid'],
    [`${'a'.repeat(65)}@district.org`, 'invalid'],
    [`a@${'b'.repeat(64)}.org`, 'invalid'],
  ];
  for (const [email, want] of cases) assert.equal(checkEmail(email), want, email);
});

test('normaliseEmail lower-cases valid addresses and returns the same string when already clean', () => {
  const clean = 'jane.doe@district.org';
  assert.equal(normaliseEmail(clean), clean);
  assert.equal(normaliseEmail('Jane.Doe@District.ORG'), 'jane.doe@district.org');
  assert.equal(normaliseEmail('not an email'), undefined);
});
