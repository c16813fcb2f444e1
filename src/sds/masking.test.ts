import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPersonalField, maskValue } from './masking.ts';

test('maskValue masks personal fields and passes the rest through', () => {
  const cases: Array<[string, string, string]> = [
    ['email', 'john.doe@district.org', 'j***@d***.org'],
    ['email', 'Ana@students.springfield.k12.us', 'A***@s***.us'],
    ['email', 'not-an-email', 'n***'],
    ['email', 'x@localhost', 'x***@l***'],
    ['phone', '+12125550123', '+1******0123'],
    ['sms', '+442079460958', '+4*******0958'],
    ['phone', '(212) 555-0123', '2*****0123'],
    ['phone', '555-0123', '5**0123'],
    ['phone', '12345', '***45'],
    ['givenName', 'Jane', 'J***'],
    ['familyName', 'Øster', 'Ø***'],
    ['middleName', '  Lee ', 'L***'],
    ['username', 'jane.doe7', 'j***'],
    ['identifier', '1000042', '1***'],
    ['userIds[0].identifier', 'LDAP-77', 'L***'],
    ['givenName', '', '***'],
    ['password', 'hunter2', '***'],
    ['birthDate', '2012-04-01', '***'],
    ['metadata.sis.homeroom', 'HR7', '***'],
    // not personal
    ['sourcedId', 'stu-000001', 'stu-000001'],
    ['role', 'Student', 'Student'],
    ['school.sourcedId', 'sch-1', 'sch-1'],
    ['metadata.microsoft.userFlags', 'superStar', 'superStar'],
  ];
  for (const [field, value, want] of cases) assert.equal(maskValue(field, value), want, `${field}=${value}`);
});

test('isPersonalField and the 200-character cap', () => {
  assert.equal(isPersonalField('email'), true);
  assert.equal(isPersonalField('agents[0].sourcedId'), false);
  assert.equal(isPersonalField('dateLastModified'), false);
  assert.equal(maskValue('title', 'x'.repeat(300)).length, 200);
});
