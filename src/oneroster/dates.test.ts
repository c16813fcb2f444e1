import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatDate, formatDateTime, isIsoDate, normalizeDateTime, parseInstant } from './dates.ts';

describe('parseInstant', () => {
  const ok: Array<[string, string]> = [
    ['2024-05-01', '2024-05-01T00:00:00.000Z'],
    ['2024-05-01T10:20', '2024-05-01T10:20:00.000Z'],
    ['2024-05-01T10:20:30Z', '2024-05-01T10:20:30.000Z'],
    ['2024-05-01T10:20:30.5Z', '2024-05-01T10:20:30.500Z'],
    ['2024-05-01T10:20:30.123Z', '2024-05-01T10:20:30.123Z'],
    ['2024-05-01T10:20:30.1239999Z', '2024-05-01T10:20:30.123Z'],
    ['2024-05-01T10:20:30,25Z', '2024-05-01T10:20:30.250Z'],
    ['2024-05-01t10:20:30z', '2024-05-01T10:20:30.000Z'],
    ['2024-05-01 10:20:30', '2024-05-01T10:20:30.000Z'],
    ['2024-05-01T10:20:30', '2024-05-01T10:20:30.000Z'],
    ['2024-05-01T12:20:30+02:00', '2024-05-01T10:20:30.000Z'],
    ['2024-05-01T12:20:30.7+0200', '2024-05-01T10:20:30.700Z'],
    ['2024-05-01T05:20:30-05', '2024-05-01T10:20:30.000Z'],
    ['2024-05-01T00:30:00+05:30', '2024-04-30T19:00:00.000Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
    ['2000-02-29', '2000-02-29T00:00:00.000Z'],
    ['0099-01-01', '0099-01-01T00:00:00.000Z'],
    ['0001-12-31T23:59:59.999Z', '0001-12-31T23:59:59.999Z'],
    ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
  ];
  for (const [text, iso] of ok) {
    it(`parses ${text}`, () => {
      const ms = parseInstant(text);
      assert.notEqual(ms, undefined);
      assert.equal(formatDateTime(ms as number), iso);
    });
  }

  const bad = [
    '', '2024', '2024-5-1', '2024-05-1', '2024/05/01', '2024-13-01', '2024-00-10', '2024-04-31', '2023-02-29',
    '1900-02-29', '2024-05-01T', '2024-05-01T24:00:00Z', '2024-05-01T10:60:00Z', '2024-05-01T10:20:60Z',
    '2024-05-01T10:20:30.Z', '2024-05-01T10:20:30ZZ', '2024-05-01T10:20:30+2', '2024-05-01T10:20:30+02:0',
    '2024-05-01T10:20:30+24:00', '2024-05-01T10:20:30 UTC', '2024-05-01x', '20240501', 'yesterday',
    '2024-05-01T1:20:30Z', '２０２４-05-01',
  ];
  for (const text of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => assert.equal(parseInstant(text), undefined));
  }

  it('agrees with Date.parse on canonical datetimes', () => {
    for (let i = 0; i < 2000; i++) {
      const ms = Date.UTC(1970, 0, 1) + Math.floor(i * 1_234_567_891.3);
      const iso = new Date(ms).toISOString();
      assert.equal(parseInstant(iso), Date.parse(iso));
    }
  });
});

describe('normalizeDateTime', () => {
  it('returns canonical input unchanged (same string)', () => {
    const s = '2024-05-01T10:20:30.123Z';
    assert.equal(normalizeDateTime(s), s);
  });
  it('normalises other precisions and offsets', () => {
    assert.equal(normalizeDateTime('2024-05-01T10:20:30Z'), '2024-05-01T10:20:30.000Z');
    assert.equal(normalizeDateTime('2024-05-01T12:20:30+02:00'), '2024-05-01T10:20:30.000Z');
    assert.equal(normalizeDateTime('2024-05-01'), '2024-05-01T00:00:00.000Z');
  });
  it('rejects junk and canonical-looking invalid dates', () => {
    assert.equal(normalizeDateTime('2024-02-30T10:20:30.123Z'), undefined);
    assert.equal(normalizeDateTime('nope'), undefined);
  });
});

describe('isIsoDate / formatDate', () => {
  it('checks the real calendar', () => {
    assert.equal(isIsoDate('2024-02-29'), true);
    assert.equal(isIsoDate('2023-02-29'), false);
    assert.equal(isIsoDate('2024-06-31'), false);
    assert.equal(isIsoDate('2024-06-30'), true);
    assert.equal(isIsoDate('2024-06-30T00:00:00Z'), false);
    assert.equal(isIsoDate('24-06-30'), false);
  });
  it('formats a UTC date', () => {
    assert.equal(formatDate(Date.UTC(2024, 0, 31, 23, 59)), '2024-01-31');
  });
});
