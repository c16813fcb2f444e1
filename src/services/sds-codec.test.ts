import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { User } from '../oneroster/types.ts';
import { DEFAULT_CODEC } from '../sync/record-codec.ts';
import { createSdsCodec, toggleBits } from './sds-codec.ts';

const ALL = { contacts: true, demographics: true, userFlags: true };
const NONE = { contacts: false, demographics: false, userFlags: false };

const student = {
  sourcedId: 'stu-1',
  status: 'active',
  dateLastModified: '2026-01-01T00:00:00Z',
  enabledUser: 'true',
  username: 'stu1',
  givenName: 'Ann',
  familyName: 'Lee',
  identifier: 'S-1',
  role: 'student',
  email: 'Ann.Lee@Example.org',
  orgs: [{ href: 'x', sourcedId: 'sch-1', type: 'org' }],
  agents: [{ href: 'x', sourcedId: 'con-1', type: 'user' }],
  metadata: { 'microsoft.userFlags': ' iep , FREELUNCH,honorRoll' },
};
const contact = { ...student, sourcedId: 'con-1', role: 'guardian', username: 'con1', identifier: 'C-1', phone: '555-0101', agents: undefined, metadata: undefined };

test('version salts the fingerprint with the toggles, so a toggle change re-reads unchanged JSON', () => {
  assert.equal(toggleBits({ contacts: true, demographics: false, userFlags: true }), '101');
  assert.equal(createSdsCodec(ALL).version, `${DEFAULT_CODEC.version}+sds2:111`);
  assert.equal(createSdsCodec(NONE).version, `${DEFAULT_CODEC.version}+sds2:000`);
  assert.notEqual(createSdsCodec(ALL).version, DEFAULT_CODEC.version);
});

test('all toggles on: flags normalised with an unknown-flag warning, email lower-cased, contact phone checked', () => {
  const codec = createSdsCodec(ALL);
  const s = codec.readEntity('users', student);
  const u = s.record as User;
  assert.equal(u.email, 'ann.lee@example.org');
  assert.equal(u.metadata?.['microsoft.userFlags'], 'freeLunch,IEP');
  assert.deepEqual(s.issues.map((i) => [i.severity, i.rule, i.sourcedId]), [['warning', 'unknown-user-flag', 'stu-1']]);
  assert.equal(u.agents?.length, 1);

  const c = codec.readEntity('users', contact);
  assert.ok(c.record, 'a contact with a bad phone is kept (warning)');
  assert.equal((c.record as User).phone, undefined);
  assert.deepEqual(c.issues.map((i) => i.rule), ['invalid-phone']);
  assert.doesNotMatch(c.issues[0]!.message, /Ann|Lee/, 'messages carry ids, not names');
});

test('SDS required fields drop the record with an error the engine sees', () => {
  const codec = createSdsCodec(ALL);
  const { identifier: _, ...noId } = student;
  const r = codec.readEntity('users', noId);
  assert.equal(r.record, undefined);
  assert.ok(r.issues.some((i) => i.severity === 'error' && i.rule === 'sds-required-field' && i.field === 'identifier'));
  // Plain OneRoster reading keeps it (identifier is optional in 1.1): the SDS layer is what dropped it.
  assert.ok(DEFAULT_CODEC.readEntity('users', noId).record);
});

test('toggles off: contacts not ingested with no issue, flags and agents dropped, counted in stats', () => {
  const codec = createSdsCodec(NONE);
  const c = codec.readEntity('users', contact);
  assert.equal(c.record, undefined);
  assert.equal(c.skipped, true, 'skipped, not invalid');
  assert.deepEqual(c.issues, []);
  const s = codec.readEntity('users', student);
  const u = s.record as User;
  assert.equal(u.metadata, undefined);
  assert.equal(u.agents, undefined);
  assert.deepEqual(s.issues, []);
  const d = codec.readEntity('demographics', { sourcedId: 'stu-1', status: 'active', dateLastModified: '2026-01-01T00:00:00Z' });
  assert.equal(d.record, undefined);
  assert.equal(d.skipped, true);
  assert.deepEqual(d.issues, []);
  assert.equal(s.skipped, undefined, 'a student is ingested');
  assert.deepEqual(codec.stats.skippedByToggle, { contacts: 1, demographics: 1 });
  assert.equal(codec.stats.flagsIgnoredByToggle, 1);
});

test('a record the reader rejects is passed through untouched (no SDS noise on top)', () => {
  const codec = createSdsCodec(ALL);
  const { givenName: _, ...noName } = student;
  const r = codec.readEntity('users', noName);
  assert.equal(r.record, undefined);
  assert.deepEqual(r.issues.map((i) => i.rule), ['required-field']);
});
