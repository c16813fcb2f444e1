import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkE164, isE164 } from './phones.ts';

test('checkE164 accepts valid E.164 numbers with the leading +', () => {
  for (const n of ['+12125550123', '+19375550175', '+442079460958', '+61491570156', '+4915123456789', '+33612345678']) {
    assert.deepEqual(checkE164(n), { ok: true }, n);
  }
});

test('checkE164 refuses other forms, with a reason that never repeats the number', () => {
  const cases: Array<[string, RegExp]> = [
    ['2125550123', /does not start with "\+"/],
    ['12125550123', /does not start with "\+"/],
    ['555-0123', /does not start with "\+"/],
    ['(212) 555-0123', /does not start with "\+"/],
    ['', /does not start with "\+"/],
    ['+1 212 555 0123', /characters other than digits/],
    ['+1-212-555-0123', /characters other than digits/],
    ['+1(212)5550123', /characters other than digits/],
    ['+12125550123 ', /characters other than digits/],
    ['+1234567890', /not a valid number|too short|wrong number/], // the seed's own "example" is not a real number
    ['+11234567890', /not a valid number/], // area code 123 does not exist
    ['+9991234567', /valid country calling code/],
    ['+1', /too short|not a phone number/],
    ['+1234567890123456', /more than 15 digits/],
    ['+447700900123', /not a valid number/], // Ofcom drama range, valid length but unallocated
  ];
  for (const [n, re] of cases) {
    const r = checkE164(n);
    assert.equal(r.ok, false, n);
    if (!r.ok) {
      assert.match(r.reason, re, n);
      if (n.length > 4) assert.ok(!r.reason.includes(n.slice(1, 8)), `reason leaks the number: ${r.reason}`);
    }
    assert.equal(isE164(n), false);
  }
});
