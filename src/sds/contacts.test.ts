import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GuidRef } from '../oneroster/types.ts';
import { deriveRelationships, isContactRole, normaliseRelationshipRole } from './contacts.ts';

const ref = (id: string): GuidRef => ({ sourcedId: id, type: 'user' });

test('normaliseRelationshipRole maps to the SDS list, anything else to other', () => {
  const cases: Array<[string | undefined, string]> = [
    ['parent', 'parent'],
    ['Guardian', 'guardian'],
    [' RELATIVE ', 'relative'],
    ['aide', 'aide'],
    ['doctor', 'doctor'],
    ['other', 'other'],
    ['mother', 'other'],
    ['stepParent', 'other'],
    ['teacher', 'other'],
    ['', 'other'],
    [undefined, 'other'],
  ];
  for (const [role, want] of cases) assert.equal(normaliseRelationshipRole(role), want, String(role));
});

test('isContactRole: parent, guardian, relative only', () => {
  for (const r of ['parent', 'guardian', 'relative', 'Guardian']) assert.equal(isContactRole(r), true, r);
  for (const r of ['student', 'teacher', 'aide', 'administrator', 'proctor', '']) assert.equal(isContactRole(r), false, r);
});

test('deriveRelationships reads the student\'s agents, resolves contacts and reports the rest', () => {
  const contacts = new Map([
    ['con-1', { role: 'parent' }],
    ['con-2', { role: 'guardian' }],
    ['con-3', { role: 'Relative' }],
  ]);
  const student = { sourcedId: 'stu-1', role: 'student', agents: [ref('con-1'), ref('con-3'), ref('con-9'), ref('con-1'), ref('stu-2')] };
  const r = deriveRelationships(student, contacts);
  assert.deepEqual(r.relationships, [
    { studentSourcedId: 'stu-1', contactSourcedId: 'con-1', role: 'parent' },
    { studentSourcedId: 'stu-1', contactSourcedId: 'con-3', role: 'relative' },
  ]);
  assert.deepEqual(r.unresolved, ['con-9', 'stu-2']);
  // a lookup function works the same
  assert.deepEqual(deriveRelationships(student, (id) => contacts.get(id)).relationships, r.relationships);
});

test('deriveRelationships: no relationships from non-students (reverse data is never a relationship)', () => {
  const contacts = new Map([['stu-1', { role: 'student' }]]);
  assert.deepEqual(deriveRelationships({ sourcedId: 'con-1', role: 'guardian', agents: [ref('stu-1')] }, contacts), { relationships: [], unresolved: [] });
  assert.deepEqual(deriveRelationships({ sourcedId: 'stu-1', role: 'student' }, contacts), { relationships: [], unresolved: [] });
});
