import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliError } from './cli-error.ts';
import { formatFieldChanges, parseSince, valueText } from './changes-command.ts';

describe('changes table formatting', () => {
  it('masks personal values like the issue report, keeps the rest readable', () => {
    const text = formatFieldChanges({
      email: { before: 'john.doe@district.org', after: 'jd@district.org' },
      phone: { before: '+12125550123', after: null },
      givenName: { before: 'John', after: 'Jon' },
      birthDate: { before: '2010-01-02', after: '2010-02-01' },
      grades: { before: ['09'], after: ['10', '11'] },
      orgs: { before: [{ sourcedId: 's1', type: 'org' }], after: [{ sourcedId: 's2', type: 'org' }] },
    });
    assert.equal(
      text,
      'email: j***@d***.org → j***@d***.org; phone: +1******0123 → ∅; givenName: J*** → J***; birthDate: *** → ***; grades: 09 → 10,11; orgs: s1 → s2',
    );
    for (const secret of ['john.doe', 'district', '5550', 'John', '2010']) assert.ok(!text.includes(secret), `no ${secret} in the table`);
  });

  it('reads created rows, cuts long values and long cells', () => {
    assert.equal(formatFieldChanges(null), '(new record)');
    const long = formatFieldChanges({ title: { before: 'x'.repeat(100), after: 'y' } });
    assert.equal(long, `title: ${'x'.repeat(31)}… → y`);
    const many: Record<string, { before: string; after: string }> = {};
    for (let i = 0; i < 20; i++) many[`field${i}`] = { before: 'aaaaaaaa', after: 'bbbbbbbb' };
    const cell = formatFieldChanges(many);
    assert.equal(cell.length, 160);
    assert.ok(cell.endsWith('…'), 'cut with an ellipsis');
    assert.equal(valueText({ a: 1 }), '{"a":1}');
    assert.equal(valueText(true), 'true');
  });

  it('parses --since as a date, a time or a duration back from now', () => {
    const now = new Date('2026-03-10T12:00:00.000Z');
    assert.equal(parseSince('2026-03-01', now), '2026-03-01T00:00:00.000Z');
    assert.equal(parseSince('2026-03-01T08:30:00+01:00', now), '2026-03-01T07:30:00.000Z');
    assert.equal(parseSince('12h', now), '2026-03-10T00:00:00.000Z');
    assert.equal(parseSince('7d', now), '2026-03-03T12:00:00.000Z');
    assert.equal(parseSince('90m', now), '2026-03-10T10:30:00.000Z');
    for (const bad of ['yesterday', '12', '3w', '']) assert.throws(() => parseSince(bad, now), CliError, bad);
  });
});
