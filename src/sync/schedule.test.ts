import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RETENTION_DAYS, isScheduleError, retentionDaysOf, scheduleOf, validateCron, withSchedule } from './schedule.ts';

const FROM = new Date('2025-01-01T00:00:00Z');

describe('schedule settings', () => {
  it('defaults like SDS: delta every 12 hours, full weekly, UTC; on only for connections stored with `connection add`', () => {
    assert.deepEqual(scheduleOf({ options: { provider: 'custom' } }), { enabled: true, delta: '0 */12 * * *', full: '0 3 * * 0', timezone: 'UTC' });
    assert.equal(scheduleOf({ options: {} }).enabled, false, 'an ad-hoc `sync --base-url` registration is not scheduled');
    assert.equal(scheduleOf({ options: { schedule: { enabled: true } } }).enabled, true);
    assert.equal(scheduleOf({ options: { provider: 'custom', schedule: { enabled: false, delta: '0 6 * * *' } } }).delta, '0 6 * * *');
    assert.equal(retentionDaysOf({ options: {} }), DEFAULT_RETENTION_DAYS);
    assert.equal(retentionDaysOf({ options: { tombstoneRetentionDays: 7 } }), 7);
    assert.equal(retentionDaysOf({ options: { tombstoneRetentionDays: 'x' } }), DEFAULT_RETENTION_DAYS, 'garbage falls back to the default');
  });

  const bad: Array<[string, string, RegExp]> = [
    ['0 3 * *', 'UTC', /4 fields, not 5/],
    ['0 0 3 * * *', 'UTC', /6 fields, not 5/],
    ['61 * * * *', 'UTC', /minute/i],
    ['0 0 31 2 *', 'UTC', /never fires/],
    ['* * * * *', 'UTC', /more often than every 5 minutes/],
    ['*/2 * * * *', 'UTC', /more often than every 5 minutes/],
    ['0 3 * * 0', 'Mars/Olympus', /time zone "Mars\/Olympus" is unknown/],
  ];
  for (const [expr, tz, why] of bad) {
    it(`refuses "${expr}" in ${tz}`, () => {
      assert.throws(() => validateCron(expr, tz, '--full-cron', FROM), (e: unknown) => isScheduleError(e) && e.code === 'invalid_schedule' && why.test(e.message));
    });
  }
  for (const expr of ['0 */12 * * *', '0 3 * * 0', '0 3 * * SUN', '*/5 * * * *', '@daily', '30 2 1 * *']) {
    it(`accepts "${expr}"`, () => validateCron(expr, 'Europe/Berlin', '--delta-cron', FROM));
  }

  it('withSchedule stores the complete schedule and validates retention', () => {
    const o = withSchedule({ options: { provider: 'custom', toggles: { contacts: true } } }, { delta: '0 6,18 * * *', retentionDays: 14 });
    assert.deepEqual(o, {
      provider: 'custom',
      toggles: { contacts: true },
      schedule: { enabled: true, delta: '0 6,18 * * *', full: '0 3 * * 0', timezone: 'UTC' },
      tombstoneRetentionDays: 14,
    });
    assert.throws(() => withSchedule({ options: {} }, { retentionDays: 0 }), (e: unknown) => isScheduleError(e) && e.code === 'invalid_retention');
    assert.throws(() => withSchedule({ options: {} }, { timezone: 'Nowhere' }), (e: unknown) => isScheduleError(e) && e.code === 'invalid_schedule');
  });
});
