/**
 * Throughput of the ingestion hot path: `readEntity`, `canonicalJson` + `contentHash`, a compiled
 * filter and `toWire`, over wire-shaped users and enrollments like a 1.1 provider sends them.
 * Run: `node --import tsx src/oneroster/reader.bench.ts [records]` (default 100000).
 */
import { readEntity } from './reader.ts';
import { canonicalJson, contentHash } from './canonical.ts';
import { compileFilter, isKnownFieldPath, parseFilter } from './filter-grammar.ts';
import { toWire } from './serialize.ts';

const N = Number(process.argv[2] ?? 100_000);
const H = 'https://sis.example/ims/oneroster/v1p1';

function wireUser(i: number): unknown {
  return {
    sourcedId: `u-${i}`,
    status: i % 50 === 0 ? 'tobedeleted' : 'active',
    dateLastModified: i % 3 === 0 ? '2024-09-01T12:00:00Z' : '2024-09-01T12:00:00.000Z',
    username: `user${i}`,
    userIds: [{ type: 'SIS', identifier: String(100000 + i) }],
    enabledUser: i % 2 === 0 ? true : 'true',
    givenName: `Given${i % 997}`,
    familyName: `Family${i % 991}`,
    middleName: null,
    role: i % 20 === 0 ? 'teacher' : 'student',
    identifier: String(100000 + i),
    email: `user${i}@school.example`,
    sms: null,
    phone: '',
    agents: [],
    orgs: [{ href: `${H}/orgs/s-${i % 40}`, sourcedId: `s-${i % 40}`, type: 'org' }],
    grades: [String(1 + (i % 12)).padStart(2, '0')],
    metadata: { 'sis.homeroom': `HR${i % 30}` },
  };
}

function wireEnrollment(i: number): unknown {
  return {
    sourcedId: `e-${i}`,
    status: 'active',
    dateLastModified: '2024-09-01T12:00:00.000Z',
    user: { href: `${H}/users/u-${i % 100000}`, sourcedId: `u-${i % 100000}`, type: 'user' },
    class: { href: `${H}/classes/k-${i % 5000}`, sourcedId: `k-${i % 5000}`, type: 'class' },
    school: { href: `${H}/orgs/s-${i % 40}`, sourcedId: `s-${i % 40}`, type: 'org' },
    role: 'student',
    primary: 'false',
    beginDate: '2024-08-15',
    endDate: '2025-06-15',
  };
}

/**
 * Reports the best of five passes, in records per CPU-second of this process and per wall-second
 * (CPU time is the stabler number on a shared machine).
 */
function measure(label: string, count: number, fn: () => void): void {
  fn(); // warm-up pass
  let bestCpu = Infinity;
  let bestWall = Infinity;
  for (let round = 0; round < 5; round++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    bestWall = Math.min(bestWall, performance.now() - t0);
    const c = process.cpuUsage(c0);
    bestCpu = Math.min(bestCpu, (c.user + c.system) / 1000);
  }
  const rate = (ms: number): string => Math.round((count / ms) * 1000).toLocaleString('en-US').padStart(11);
  console.log(`${label.padEnd(40)} ${rate(bestCpu)} rec/cpu-s ${rate(bestWall)} rec/wall-s  (${count} records)`);
}

const users = Array.from({ length: N }, (_, i) => wireUser(i));
const enrollments = Array.from({ length: N }, (_, i) => wireEnrollment(i));

let sink = 0;
measure('readEntity users', N, () => {
  for (const u of users) sink += readEntity('users', u).issues.length;
});
measure('readEntity enrollments', N, () => {
  for (const e of enrollments) sink += readEntity('enrollments', e).issues.length;
});

const readUsers = users.map((u) => readEntity('users', u).record as object);
const readEnrollments = enrollments.map((e) => readEntity('enrollments', e).record as object);
measure('canonicalJson users', N, () => {
  for (const u of readUsers) sink += canonicalJson(u).length;
});
measure('canonicalJson + contentHash users', N, () => {
  for (const u of readUsers) sink += contentHash(u).length;
});
measure('canonicalJson + contentHash enrollments', N, () => {
  for (const e of readEnrollments) sink += contentHash(e).length;
});
measure('read + hash users (ingest path)', N, () => {
  for (const u of users) {
    const r = readEntity('users', u);
    if (r.record) sink += contentHash(r.record).length;
  }
});

const filter = compileFilter(
  parseFilter("role='teacher' AND dateLastModified>'2024-08-01' OR orgs.sourcedId='s-7'"),
  { isKnownField: (p) => isKnownFieldPath('users', p) },
);
measure('compiled filter over users', N, () => {
  for (const u of readUsers) if (filter(u)) sink++;
});
measure('toWire users (with hrefs)', N, () => {
  for (const u of readUsers) sink += Object.keys(toWire('users', u, H)).length;
});
if (sink === -1) console.log(sink);
