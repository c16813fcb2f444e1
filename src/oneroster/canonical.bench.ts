/**
 * Cost per record of `canonicalJson` and `contentHash` on read (internal-shape) users and
 * enrollments built like reader.bench.ts, plus the one-of-each FULL_RECORDS.
 * Run: `node --import tsx src/oneroster/canonical.bench.ts [records]` (default 100000).
 */
import { readEntity } from './reader.ts';
import { canonicalJson, contentHash } from './canonical.ts';
import { FULL_RECORDS } from './sample-records.ts';

const N = Number(process.argv[2] ?? 100_000);
const H = 'https://sis.example/ims/oneroster/v1p1';

function wireUser(i: number): unknown {
  return {
    sourcedId: `u-${i}`, status: i % 50 === 0 ? 'tobedeleted' : 'active',
    dateLastModified: '2024-09-01T12:00:00.000Z', username: `user${i}`,
    userIds: [{ type: 'SIS', identifier: String(100000 + i) }], enabledUser: i % 2 === 0,
    givenName: `Given${i % 997}`, familyName: `Family${i % 991}`, middleName: i % 4 === 0 ? 'Q' : null,
    role: i % 20 === 0 ? 'teacher' : 'student', identifier: String(100000 + i), email: `user${i}@school.example`,
    sms: null, phone: '', agents: i % 5 === 0 ? [{ sourcedId: `p-${i}`, type: 'user' }] : [],
    orgs: [{ href: `${H}/orgs/s-${i % 40}`, sourcedId: `s-${i % 40}`, type: 'org' }],
    grades: [String(1 + (i % 12)).padStart(2, '0')], metadata: { 'sis.homeroom': `HR${i % 30}` },
  };
}

function wireEnrollment(i: number): unknown {
  return {
    sourcedId: `e-${i}`, status: 'active', dateLastModified: '2024-09-01T12:00:00.000Z',
    user: { href: `${H}/users/u-${i}`, sourcedId: `u-${i}`, type: 'user' },
    class: { href: `${H}/classes/k-${i % 5000}`, sourcedId: `k-${i % 5000}`, type: 'class' },
    school: { href: `${H}/orgs/s-${i % 40}`, sourcedId: `s-${i % 40}`, type: 'org' },
    role: 'student', primary: i % 7 === 0, beginDate: '2024-08-15', endDate: '2025-06-15',
  };
}

/** Best of five passes, in CPU microseconds per record (CPU time is stabler on a shared machine). */
function measure(label: string, records: readonly object[], fn: (r: object) => string): void {
  let sink = 0;
  for (const r of records) sink += fn(r).length; // warm-up pass
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const c0 = process.cpuUsage();
    for (const r of records) sink += fn(r).length;
    const c = process.cpuUsage(c0);
    best = Math.min(best, (c.user + c.system) / records.length);
  }
  console.log(`${label.padEnd(36)} ${best.toFixed(3).padStart(7)} µs/record  (${records.length} records)`);
  if (sink === -1) console.log(sink);
}

const users = Array.from({ length: N }, (_, i) => readEntity('users', wireUser(i)).record as object);
const enrollments = Array.from({ length: N }, (_, i) => readEntity('enrollments', wireEnrollment(i)).record as object);
const full = Array.from({ length: N }, (_, i) => Object.values(FULL_RECORDS)[i % 7] as object);

measure('canonicalJson users', users, canonicalJson);
measure('canonicalJson enrollments', enrollments, canonicalJson);
measure('canonicalJson FULL_RECORDS mix', full, canonicalJson);
measure('contentHash users', users, contentHash);
measure('contentHash enrollments', enrollments, contentHash);
