/**
 * One record of every collection with every field filled, in the internal shape (`types.ts`).
 * Typed `Required<…>`, so the compiler fails when an entity gains or loses a field and these are
 * not updated; tests use them to keep the field catalogue, reader and serialiser in step with the
 * types. Fictional data only.
 */
import type { CollectionName, EntityByCollection } from './types.ts';

const DLM = '2024-09-01T12:00:00.000Z';
const meta = { vendor: { flag: true } };

export const FULL_RECORDS: { [C in CollectionName]: Required<EntityByCollection[C]> } = {
  academicSessions: {
    sourcedId: 't1', status: 'active', dateLastModified: DLM, metadata: meta,
    title: 'Fall 2024', startDate: '2024-08-15', endDate: '2025-01-01', type: 'term',
    parent: { sourcedId: 'y2025', type: 'academicSession' },
    children: [{ sourcedId: 'gp1', type: 'academicSession' }],
    schoolYear: '2025',
  },
  orgs: {
    sourcedId: 's1', status: 'active', dateLastModified: DLM, metadata: meta,
    name: 'Northside High', type: 'school', identifier: 'NCES-1',
    parent: { sourcedId: 'd1', type: 'org' },
    children: [{ sourcedId: 'dep1', type: 'org' }],
  },
  courses: {
    sourcedId: 'c1', status: 'active', dateLastModified: DLM, metadata: meta,
    title: 'Algebra I', schoolYear: { sourcedId: 'y2025', type: 'academicSession' }, courseCode: 'ALG1',
    grades: ['09', '10'], subjects: ['Mathematics'], org: { sourcedId: 's1', type: 'org' }, subjectCodes: ['02052'],
    resources: [{ sourcedId: 'r1', type: 'resource' }],
  },
  classes: {
    sourcedId: 'k1', status: 'active', dateLastModified: DLM, metadata: meta,
    title: 'Algebra I - P1', classCode: 'ALG1-1', classType: 'scheduled', location: 'Room 19',
    grades: ['09'], subjects: ['Mathematics'], course: { sourcedId: 'c1', type: 'course' },
    school: { sourcedId: 's1', type: 'org' }, terms: [{ sourcedId: 't1', type: 'academicSession' }],
    subjectCodes: ['02052'], periods: ['1', '3'], resources: [{ sourcedId: 'r1', type: 'resource' }],
  },
  users: {
    sourcedId: 'u1', status: 'active', dateLastModified: DLM, metadata: meta,
    username: 'jdoe', userIds: [{ type: 'LDAP', identifier: '12' }], enabledUser: true,
    givenName: 'John', familyName: 'Doe', middleName: 'Q', role: 'student', identifier: '123',
    email: 'jdoe@example.org', sms: '+15555550100', phone: '+15555550101',
    agents: [{ sourcedId: 'p1', type: 'user' }], orgs: [{ sourcedId: 's1', type: 'org' }],
    grades: ['09'], password: 'not-a-real-password',
  },
  enrollments: {
    sourcedId: 'e1', status: 'active', dateLastModified: DLM, metadata: meta,
    user: { sourcedId: 'u1', type: 'user' }, class: { sourcedId: 'k1', type: 'class' },
    school: { sourcedId: 's1', type: 'org' }, role: 'student', primary: false,
    beginDate: '2024-08-15', endDate: '2025-01-01',
  },
  demographics: {
    sourcedId: 'u1', status: 'active', dateLastModified: DLM, metadata: meta,
    birthDate: '2010-03-04', sex: 'male', americanIndianOrAlaskaNative: false, asian: false,
    blackOrAfricanAmerican: false, nativeHawaiianOrOtherPacificIslander: false, white: true,
    demographicRaceTwoOrMoreRaces: false, hispanicOrLatinoEthnicity: false, countryOfBirthCode: 'US',
    stateOfBirthAbbreviation: 'WA', cityOfBirth: 'Seattle', publicSchoolResidenceStatus: '01652',
  },
};
