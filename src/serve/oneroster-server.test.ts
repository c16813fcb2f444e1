import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { createOneRosterServer } from './oneroster-server.ts';
import type { OneRosterServerOptions } from './oneroster-server.ts';
import { ROUTES } from './routes.ts';
import { tinyDistrict } from './test-district.ts';
import type { Dataset } from './dataset.ts';

const P = '/ims/oneroster/v1p1';
const JSON_TYPE = 'application/json';

async function server(options: Partial<OneRosterServerOptions> = {}): Promise<FastifyInstance> {
  return createOneRosterServer({ source: tinyDistrict(), ...options });
}

type Json = Record<string, unknown>;
const body = (r: LightMyRequestResponse): Json => JSON.parse(r.body) as Json;
const list = (r: LightMyRequestResponse, key: string): Json[] => {
  const v = body(r)[key];
  assert.ok(Array.isArray(v), `body has no ${key} array: ${r.body.slice(0, 200)}`);
  return v as Json[];
};
const idsOf = (r: LightMyRequestResponse, key: string): string[] => list(r, key).map((x) => x['sourcedId'] as string);
const codeMinor = (r: LightMyRequestResponse): string => {
  const set = body(r)['statusInfoSet'] as Array<{ imsx_codeMinor: { imsx_codeMinorField: Array<{ imsx_codeMinorFieldValue: string }> } }>;
  return set[0]?.imsx_codeMinor.imsx_codeMinorField[0]?.imsx_codeMinorFieldValue ?? '';
};

/** Valid path parameters for every route of the table, from the tiny district. */
const PARAMS: Record<string, string> = {
  sourcedId: '',
  classSourcedId: 'c1',
  courseSourcedId: 'co1',
  schoolSourcedId: 's1',
  studentSourcedId: 'st1',
  teacherSourcedId: 'te1',
  termSourcedId: 't1',
  userSourcedId: 'st1',
};
const SINGLE_IDS: Record<string, string> = {
  getAcademicSession: 'y1', getClass: 'c1', getCourse: 'co1', getDemographics: 'st1', getEnrollment: 'e1',
  getGradingPeriod: 'g1', getOrg: 'd1', getSchool: 's1', getStudent: 'st1', getTeacher: 'te1', getTerm: 't1', getUser: 'gu1',
};

test('every rostering GET answers 200 JSON with its wrapper key and X-Total-Count', async () => {
  const app = await server();
  assert.equal(ROUTES.length, 41);
  for (const route of ROUTES) {
    const url = P + route.path.replace(/:(\w+)/g, (_m, name: string) => (name === 'sourcedId' ? SINGLE_IDS[route.operationId] ?? '?' : PARAMS[name] ?? '?'));
    const r = await app.inject({ method: 'GET', url });
    assert.equal(r.statusCode, 200, `${route.operationId} ${url}: ${r.body}`);
    assert.equal(r.headers['content-type'], JSON_TYPE, url);
    assert.ok(r.headers['x-total-count'] !== undefined, `${url} X-Total-Count`);
    const b = body(r);
    assert.deepEqual(Object.keys(b), [route.wrapper], url);
    if (route.kind === 'collection') {
      assert.ok(Array.isArray(b[route.wrapper]), url);
      assert.ok((b[route.wrapper] as unknown[]).length > 0, `${url} returned nothing`);
      assert.equal(Number(r.headers['x-total-count']), (b[route.wrapper] as unknown[]).length, url);
    } else {
      assert.equal((b[route.wrapper] as Json)['sourcedId'], SINGLE_IDS[route.operationId], url);
      assert.equal(r.headers['x-total-count'], '1');
    }
  }
  await app.close();
});

test('subtype endpoints: wrappers and membership', async () => {
  const app = await server();
  const get = (path: string) => app.inject({ method: 'GET', url: P + path });
  assert.deepEqual(idsOf(await get('/schools'), 'orgs'), ['s1', 's2']);
  assert.deepEqual(idsOf(await get('/students'), 'users'), ['st1', 'st2', 'st3', 'st4']);
  assert.deepEqual(idsOf(await get('/teachers'), 'users'), ['te1', 'te2']);
  assert.deepEqual(idsOf(await get('/terms'), 'academicSessions'), ['t1', 't2', 't3']);
  assert.deepEqual(idsOf(await get('/gradingPeriods'), 'academicSessions'), ['g1', 'g2', 'g3']);
  assert.equal((body(await get('/demographics/st1'))['demographics'] as Json)['sex'], 'female');
  // A district is an org but not a school; a teacher is not a student.
  assert.equal((await get('/schools/d1')).statusCode, 404);
  assert.equal((await get('/students/te1')).statusCode, 404);
  assert.equal((await get('/terms/g1')).statusCode, 404);
  assert.equal((await get('/gradingPeriods/t1')).statusCode, 404);
  await app.close();
});

test('nested reads', async () => {
  const app = await server();
  const ids = async (path: string, key: string) => idsOf(await app.inject({ method: 'GET', url: P + path }), key);
  assert.deepEqual(await ids('/classes/c1/students', 'users'), ['st1', 'st2', 'st3']);
  assert.deepEqual(await ids('/classes/c1/teachers', 'users'), ['te1']);
  assert.deepEqual(await ids('/courses/co1/classes', 'classes'), ['c1', 'c2']);
  assert.deepEqual(await ids('/schools/s1/classes', 'classes'), ['c1', 'c2']);
  assert.deepEqual(await ids('/schools/s2/courses', 'courses'), ['co2']);
  assert.deepEqual(await ids('/schools/s2/enrollments', 'enrollments'), ['e6', 'e7']);
  assert.deepEqual(await ids('/schools/s1/classes/c2/enrollments', 'enrollments'), ['e4', 'e5']);
  assert.deepEqual(await ids('/schools/s1/classes/c1/students', 'users'), ['st1', 'st2', 'st3']);
  assert.deepEqual(await ids('/schools/s2/classes/c1/students', 'users'), []);
  assert.deepEqual(await ids('/schools/s1/classes/c2/teachers', 'users'), ['te1']);
  assert.deepEqual(await ids('/schools/s1/students', 'users'), ['st1', 'st2', 'st3']);
  assert.deepEqual(await ids('/schools/s2/teachers', 'users'), ['te2']);
  assert.deepEqual(await ids('/schools/s1/terms', 'academicSessions'), ['g3', 't1']);
  assert.deepEqual(await ids('/students/st1/classes', 'classes'), ['c1', 'c2']);
  assert.deepEqual(await ids('/teachers/te2/classes', 'classes'), ['c3']);
  assert.deepEqual(await ids('/users/st4/classes', 'classes'), ['c3']);
  assert.deepEqual(await ids('/terms/t2/classes', 'classes'), ['c3']);
  assert.deepEqual(await ids('/terms/t1/gradingPeriods', 'academicSessions'), ['g1', 'g2']);
  // Nested reads take filters too (SDS: /schools/{id}/enrollments?filter=role='teacher').
  assert.deepEqual(await ids("/schools/s1/enrollments?filter=role='teacher'", 'enrollments'), ['e1', 'e5']);
  await app.close();
});

test('unknown nested parent: 200 + empty by default, 404 when configured', async () => {
  const app = await server();
  const r = await app.inject({ method: 'GET', url: `${P}/schools/1000000/classes` });
  assert.equal(r.statusCode, 200);
  assert.deepEqual(body(r), { classes: [] });
  assert.equal(r.headers['x-total-count'], '0');
  // A teacher id where a student is expected is an unknown parent too.
  assert.deepEqual(idsOf(await app.inject({ method: 'GET', url: `${P}/students/te1/classes` }), 'classes'), []);
  await app.close();
  const strict = await server({ unknownParent: '404' });
  const s = await strict.inject({ method: 'GET', url: `${P}/schools/1000000/classes` });
  assert.equal(s.statusCode, 404);
  assert.equal(codeMinor(s), 'unknownobject');
  assert.equal((await strict.inject({ method: 'GET', url: `${P}/schools/s1/classes/nope/students` })).statusCode, 404);
  assert.equal((await strict.inject({ method: 'GET', url: `${P}/schools/s1/classes/c1/students` })).statusCode, 200);
  await strict.close();
});

test('SDS provider checks', async () => {
  const app = await server();
  const get = (url: string) => app.inject({ method: 'GET', url: P + url });

  // offset=2&limit=1 returns the third record
  const all = idsOf(await get('/users'), 'users');
  assert.deepEqual(idsOf(await get('/users?offset=2&limit=1'), 'users'), [all[2]]);

  // a no-records filter is 200 with an empty array
  const none = await get("/users?filter=sourcedId='norecords'");
  assert.equal(none.statusCode, 200);
  assert.deepEqual(body(none), { users: [] });
  assert.equal(none.headers['x-total-count'], '0');

  // dateLastModified is YYYY-MM-DDTHH:mm:ss.SSSZ everywhere
  for (const c of ['orgs', 'academicSessions', 'courses', 'classes', 'users', 'enrollments', 'demographics']) {
    for (const rec of list(await get(`/${c}`), c)) assert.match(rec['dateLastModified'] as string, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  }

  // delta filter: every record at or after T, and it cuts something
  const T = '2025-01-12T00:00:00Z'; // st1 (01-10) is before it; st2 (01-12T10:00) after
  const delta = list(await get(`/users?filter=${encodeURIComponent(`dateLastModified>'${T}'`)}`), 'users');
  assert.deepEqual(delta.map((u) => u['sourcedId']), ['gu1', 'st2', 'st3', 'st4']);
  for (const u of delta) assert.ok(Date.parse(u['dateLastModified'] as string) >= Date.parse(T), `${String(u['sourcedId'])} is older than T`);
  // date-only value compares as midnight UTC
  assert.equal(list(await get("/users?filter=dateLastModified>='2025-01-14'"), 'users').length, 3);

  // AND / OR / contains
  assert.deepEqual(idsOf(await get(`/enrollments?filter=${encodeURIComponent("role='student' AND dateLastModified>'2025-01-05T00:00:00Z'")}`), 'enrollments'), ['e3', 'e4', 'e7', 'e8']);
  assert.deepEqual(idsOf(await get(`/users?filter=${encodeURIComponent("username='st2' OR email~'GU1@'")}`), 'users'), ['gu1', 'st2']);
  assert.deepEqual(idsOf(await get(`/users?filter=${encodeURIComponent("email='te2@example.org'")}`), 'users'), ['te2']);
  assert.deepEqual(idsOf(await get(`/teachers?filter=${encodeURIComponent("email='te2@example.org'")}`), 'users'), ['te2']);

  // contacts: guardians with agents that are students, and the reverse link
  const contacts = list(await get("/users?filter=role='guardian'"), 'users');
  assert.ok(contacts.length > 0, 'contacts.length > 0');
  for (const c of contacts) {
    const agents = c['agents'] as Json[];
    assert.ok(Array.isArray(agents) && agents.length > 0, 'Array.isArray(agents) && agents.length > 0');
    for (const a of agents) {
      assert.equal(typeof a['sourcedId'], 'string');
      const student = body(await get(`/users/${a['sourcedId'] as string}`))['user'] as Json;
      assert.equal(student['role'], 'student');
      assert.ok((student['agents'] as unknown[]).length > 0, 'student has agents');
    }
  }
  await app.close();
});

test('query decoding: + and %20 are spaces; %27 and %3D reach the grammar', async () => {
  const app = await server();
  for (const url of [
    "/enrollments?filter=role%3D%27teacher%27+AND+school.sourcedId%3D%27s2%27",
    "/enrollments?filter=role%3D%27teacher%27%20AND%20school.sourcedId%3D%27s2%27",
    "/enrollments?filter=role='teacher' AND school.sourcedId='s2'",
  ]) {
    const r = await app.inject({ method: 'GET', url: P + url });
    assert.equal(r.statusCode, 200, `${url}: ${r.body}`);
    assert.deepEqual(idsOf(r, 'enrollments'), ['e6'], url);
  }
  await app.close();
});

test('paging headers: X-Total-Count after filtering, Link keeps other params', async () => {
  const app = await server();
  const url = `${P}/enrollments?filter=status%3D%27active%27&limit=3&sort=sourcedId`;
  const first = await app.inject({ method: 'GET', url, headers: { host: 'sis.example:8080' } });
  assert.equal(first.headers['x-total-count'], '7');
  const link = first.headers['link'] as string;
  const base = 'http://sis.example:8080/ims/oneroster/v1p1/enrollments?filter=status%3D%27active%27&sort=sourcedId';
  assert.equal(link, `<${base}&limit=3&offset=0>; rel="first", <${base}&limit=3&offset=3>; rel="next", <${base}&limit=3&offset=6>; rel="last"`);
  const last = await app.inject({ method: 'GET', url: `${url}&offset=6`, headers: { host: 'sis.example:8080' } });
  assert.deepEqual(idsOf(last, 'enrollments'), ['e7']);
  assert.doesNotMatch(last.headers['link'] as string, /rel="next"/);
  assert.match(last.headers['link'] as string, /offset=3>; rel="prev"/);
  // Following next from the first page visits everything exactly once.
  const seen: string[] = [];
  let next: string | undefined = url;
  while (next) {
    const r: LightMyRequestResponse = await app.inject({ method: 'GET', url: next.replace('http://sis.example:8080', '') });
    seen.push(...idsOf(r, 'enrollments'));
    next = /<([^>]+)>; rel="next"/.exec(r.headers['link'] as string)?.[1];
  }
  assert.deepEqual(seen, ['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7']);
  await app.close();
});

test('limit: default 100, clamped to maxLimit, invalid → 400', async () => {
  const app = await server({ maxLimit: 2 });
  const r = await app.inject({ method: 'GET', url: `${P}/users?limit=5000` });
  assert.equal(list(r, 'users').length, 2);
  assert.match(r.headers['link'] as string, /limit=2&offset=2>; rel="next"/);
  for (const bad of ['limit=-1', 'limit=abc', 'limit=0', 'offset=x', 'offset=1.5', 'orderBy=up']) {
    const b = await app.inject({ method: 'GET', url: `${P}/users?${bad}` });
    assert.equal(b.statusCode, 400, bad);
    assert.equal(codeMinor(b), 'invaliddata', bad);
  }
  await app.close();
  const d = await server();
  const many = await d.inject({ method: 'GET', url: `${P}/users?filter=${encodeURIComponent("status='active'")}` });
  assert.equal(list(many, 'users').length, 7);
  await d.close();
});

test('fields projection and 1.1 warnings', async () => {
  const app = await server();
  const r = await app.inject({ method: 'GET', url: `${P}/users?fields=sourcedId,email&limit=1` });
  assert.deepEqual(body(r), { users: [{ sourcedId: 'gu1', email: 'gu1@example.org' }] });
  const s = await app.inject({ method: 'GET', url: `${P}/users/st1?fields=givenName` });
  assert.deepEqual(body(s), { user: { givenName: 'Givenst1' } });
  const w = await app.inject({ method: 'GET', url: `${P}/orgs?sort=bogus` });
  assert.equal(w.statusCode, 200);
  assert.equal(list(w, 'orgs').length, 3);
  assert.equal(codeMinor(w), 'invalid_sort_field');
  const blank = await app.inject({ method: 'GET', url: `${P}/orgs?fields=` });
  assert.equal(blank.statusCode, 400);
  assert.equal(codeMinor(blank), 'invalid_blank_selection_field');
  await app.close();
});

test('hrefs point at the serving base URL and configurable prefix', async () => {
  const prefix = '/district42/ims/oneroster/v1p1';
  const app = await server({ prefix });
  const r = await app.inject({ method: 'GET', url: `${prefix}/classes/c1`, headers: { host: 'h.example' } });
  assert.equal(r.statusCode, 200);
  const school = (body(r)['class'] as Json)['school'] as Json;
  assert.equal(school['sourcedId'], 's1');
  assert.equal(school['href'], `http://h.example${prefix}/orgs/s1`);
  assert.equal((await app.inject({ method: 'GET', url: `${P}/classes/c1` })).statusCode, 404);
  await app.close();
});

test('errors are imsx bodies', async () => {
  const app = await server();
  const unknown = await app.inject({ method: 'GET', url: `${P}/users/nobody` });
  assert.equal(unknown.statusCode, 404);
  assert.equal(unknown.headers['content-type'], JSON_TYPE);
  assert.equal(codeMinor(unknown), 'unknownobject');
  assert.match(JSON.stringify(body(unknown)), /"imsx_codeMajor":"failure"/);

  const badField = await app.inject({ method: 'GET', url: `${P}/users?filter=${encodeURIComponent("shoeSize='9'")}` });
  assert.equal(badField.statusCode, 400);
  assert.equal(codeMinor(badField), 'invalid_filter_field');
  assert.match(badField.body, /shoeSize/);

  const badSyntax = await app.inject({ method: 'GET', url: `${P}/users?filter=status=active` });
  assert.equal(badSyntax.statusCode, 400);
  assert.equal(codeMinor(badSyntax), 'invaliddata');

  const badUrl = await app.inject({ method: 'GET', url: `${P}/users/%E0%A4%A` });
  assert.equal(badUrl.statusCode, 400);
  assert.equal(codeMinor(badUrl), 'invaliddata');

  const route = await app.inject({ method: 'GET', url: `${P}/lineItems` });
  assert.equal(route.statusCode, 404);
  assert.equal(codeMinor(route), 'unknownobject');
  await app.close();

  const boom: Dataset = {
    query: () => {
      throw new Error('secret internals at /srv/x.ts:12');
    },
    get: () => undefined,
  };
  const broken = await createOneRosterServer({ dataset: boom });
  const r = await broken.inject({ method: 'GET', url: `${P}/users` });
  assert.equal(r.statusCode, 500);
  assert.equal(codeMinor(r), 'internal_server_error');
  assert.doesNotMatch(r.body, /secret|\.ts|at /);
  await broken.close();
});
