import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OneRosterClient, parseLinkHeader, type PageRead } from './oneroster-client.ts';
import { SourceError } from './errors.ts';
import type { FetchedPage, PageOffload } from './page-reader.ts';
import { parseEnvelope } from './http-client.ts';
import { API, fakeClock, startServer, testConnection, users, type TestServer } from './test-support.ts';

interface Behaviour {
  data: Array<Record<string, unknown>>;
  /** Server-side cap on `limit` (silent clamping). */
  clamp?: number;
  /** Page length override by offset (e.g. a short page in the middle). */
  pageLen?: (offset: number, limit: number) => number;
  total?: boolean;
  link?: boolean;
  /** Link header always points at this next URL. */
  stuckNext?: string;
  /** Link header with only rel="first" on every page (a buggy server that never says next). */
  linkFirstOnly?: boolean;
  ignoreOffset?: boolean;
  /** Body without the wrapper key at this offset. */
  badEnvelopeAt?: number;
  delayMs?: number;
}

interface Hit {
  offset: number;
  limit: number;
  filter?: string;
  at: number;
  query: string;
}

async function pagingServer(b: Behaviour): Promise<TestServer & { hits: Hit[]; peak: () => number }> {
  const hits: Hit[] = [];
  let inFlight = 0;
  let peak = 0;
  const srv = await startServer((app) => {
    app.get(`${API}/users`, async (req, reply) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      // A request the client aborted (a discarded speculative page) stops counting when its
      // connection closes, not when this handler's delay ends: the provider is no longer serving it.
      let released = false;
      const release = (): void => {
        if (!released) {
          released = true;
          inFlight--;
        }
      };
      reply.raw.once('close', release);
      try {
        const q = req.query as Record<string, string>;
        const raw = req.raw.url ?? '';
        const hit: Hit = { offset: Number(q['offset']), limit: Number(q['limit']), at: performance.now(), query: raw.slice(raw.indexOf('?') + 1) };
        if (q['filter'] !== undefined) hit.filter = q['filter'];
        hits.push(hit);
        if (b.delayMs !== undefined) await new Promise((r) => setTimeout(r, b.delayMs));
        const offset = b.ignoreOffset ? 0 : hit.offset;
        let limit = Math.min(hit.limit, b.clamp ?? Infinity);
        if (b.pageLen !== undefined) limit = b.pageLen(offset, limit);
        const items = b.data.slice(offset, offset + limit);
        if (b.total) reply.header('x-total-count', String(b.data.length));
        if (b.link) {
          const self = `http://h${API}/users?limit=${hit.limit}`;
          const links = [`<${self}&offset=0>; rel="first"`];
          if (offset + items.length < b.data.length) links.push(`<${self}&offset=${offset + items.length}>; rel="next"`);
          reply.header('link', links.join(', '));
        }
        if (b.stuckNext !== undefined) reply.header('link', `<${b.stuckNext}>; rel="next"`);
        if (b.linkFirstOnly) reply.header('link', `<http://h${API}/users?offset=0>; rel="first"`);
        if (b.badEnvelopeAt === offset) return { results: items };
        return { users: items };
      } finally {
        release();
      }
    });
    app.get(`${API}/users/:id`, async (req, reply) => {
      const id = (req.params as { id: string }).id;
      const u = b.data.find((x) => x['sourcedId'] === id);
      return u !== undefined ? { user: u } : reply.code(404).send({ imsx_codeMajor: 'failure', imsx_codeMinor: 'unknownobject' });
    });
    app.get(`${API}/orgs`, async (_req, reply) => reply.header('x-total-count', '3').send({ orgs: [{ sourcedId: 'o1' }] }));
  });
  return Object.assign(srv, { hits, peak: () => peak });
}

async function collect(read: PageRead, each?: (p: FetchedPage) => Promise<void>): Promise<FetchedPage[]> {
  const pages: FetchedPage[] = [];
  for await (const p of read) {
    pages.push(p);
    if (each !== undefined) await each(p);
  }
  return pages;
}

const ids = (pages: FetchedPage[]) => pages.flatMap((p) => p.items.map((i) => (i as { sourcedId: string }).sourcedId));

test('clamped limit, no headers: next offset = offset + items, short pages do not stop the read', async (t) => {
  // Server clamps to 5 and returns a short page (2) at offset 10 in the middle.
  const srv = await pagingServer({ data: users(0, 23), clamp: 5, pageLen: (o, l) => (o === 10 ? 2 : l) });
  t.after(() => srv.close());
  const client = new OneRosterClient(testConnection(srv.baseUrl, { pageSize: 10 }));
  t.after(() => client.close());
  const read = client.readPages('users');
  const pages = await collect(read);
  assert.deepEqual(ids(pages), users(0, 23).map((u) => u.sourcedId));
  assert.deepEqual(pages.map((p) => p.offset), [0, 5, 10, 12, 17, 22]);
  assert.deepEqual(pages.map((p) => p.index), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(srv.hits.map((h) => h.offset), [0, 5, 10, 12, 17, 22, 23]);
  assert.ok(srv.hits.every((h) => h.limit === 10), 'always asks for the configured page size');
  assert.equal(srv.hits[0]?.query, 'limit=10&offset=0', 'minimal parameters: no sort');
  assert.equal(read.stats.stoppedBy, 'empty-page');
  assert.equal(read.stats.pages, 6);
  assert.equal(read.stats.items, 23);
  assert.equal(read.stats.requests, 7);
  assert.ok(read.stats.bytes > 0);
  assert.equal(read.stats.totalHeader, undefined);
});

test('X-Total-Count reached: stop without asking for an empty page', async (t) => {
  const srv = await pagingServer({ data: users(0, 23), clamp: 10, total: true });
  t.after(() => srv.close());
  const client = new OneRosterClient(testConnection(srv.baseUrl, { pageSize: 100 }));
  t.after(() => client.close());
  const read = client.readPages('users');
  const pages = await collect(read);
  assert.equal(ids(pages).length, 23);
  assert.deepEqual(srv.hits.map((h) => h.offset), [0, 10, 20]);
  assert.equal(read.stats.stoppedBy, 'total-reached');
  assert.equal(read.stats.totalHeader, 23);
  assert.equal(pages[0]?.total, 23);
  assert.equal(read.stats.totalChanged, false);
});

test('Link without rel="next" ends the read', async (t) => {
  const srv = await pagingServer({ data: users(0, 23), clamp: 10, link: true });
  t.after(() => srv.close());
  const client = new OneRosterClient(testConnection(srv.baseUrl));
  t.after(() => client.close());
  const read = client.readPages('users');
  assert.equal(ids(await collect(read)).length, 23);
  assert.deepEqual(srv.hits.map((h) => h.offset), [0, 10, 20]);
  assert.equal(read.stats.stoppedBy, 'link-without-next');
});

test('Link and X-Total-Count disagreeing: keep reading to an empty page rather than truncate', async (t) => {
  // A buggy server: Link never has rel="next", but the total says there is more.
  const srv = await pagingServer({ data: users(0, 25), clamp: 10, total: true, linkFirstOnly: true });
  t.after(() => srv.close());
  const client = new OneRosterClient(testConnection(srv.baseUrl));
  t.after(() => client.close());
  const read = client.readPages('users');
  assert.equal(ids(await collect(read)).length, 25);
  assert.equal(read.stats.stoppedBy, 'link-without-next', 'both agree on the last page');
  assert.equal(read.stats.headersDisagree, true);
  assert.deepEqual(srv.hits.map((h) => h.offset), [0, 10, 20]);
});

test('loop guards: server ignoring offset, Link next repeating, max page count', async (t) => {
  const ignoring = await pagingServer({ data: users(0, 50), clamp: 10, ignoreOffset: true });
  t.after(() => ignoring.close());
  const c1 = new OneRosterClient(testConnection(ignoring.baseUrl));
  t.after(() => c1.close());
  await assert.rejects(collect(c1.readPages('users')), (e: unknown) =>
    e instanceof SourceError && e.code === 'paging_loop' && /same page of \/users twice in a row \(offset 10\); it seems to ignore the offset/.test(e.message));

  const stuck = await pagingServer({ data: users(0, 50), clamp: 10, stuckNext: 'http://h/ims/oneroster/v1p1/users?offset=10' });
  t.after(() => stuck.close());
  const c2 = new OneRosterClient(testConnection(stuck.baseUrl));
  t.after(() => c2.close());
  await assert.rejects(collect(c2.readPages('users')), (e: unknown) => e instanceof SourceError && e.code === 'paging_loop' && /same next page twice/.test(e.message));

  const endless = await pagingServer({ data: users(0, 50), clamp: 1 });
  t.after(() => endless.close());
  const c3 = new OneRosterClient(testConnection(endless.baseUrl), { maxPages: 3 });
  t.after(() => c3.close());
  const seen: FetchedPage[] = [];
  await assert.rejects(collect(c3.readPages('users'), async (p) => void seen.push(p)), (e: unknown) =>
    e instanceof SourceError && e.code === 'paging_loop' && /after 3 pages \(3 records\)/.test(e.message));
  assert.equal(seen.length, 3);
});

test('a 200 without the wrapper key mid-read is bad_envelope, not the end of the collection', async (t) => {
  const srv = await pagingServer({ data: users(0, 30), clamp: 10, badEnvelopeAt: 10 });
  t.after(() => srv.close());
  const client = new OneRosterClient(testConnection(srv.baseUrl));
  t.after(() => client.close());
  const got: FetchedPage[] = [];
  await assert.rejects(collect(client.readPages('users'), async (p) => void got.push(p)), (e: unknown) =>
    e instanceof SourceError && e.code === 'bad_envelope' && /has no "users" array \(top-level keys: "results"\)/.test(e.message));
  assert.equal(got.length, 1);
});

test('duplicate sourcedIds across pages are counted and listed (capped)', async (t) => {
  const data = [...users(0, 6), { sourcedId: 'u2' }, { sourcedId: 'u3' }, { sourcedId: 'u2' }, ...users(6, 3)];
  const srv = await pagingServer({ data, clamp: 4 });
  t.after(() => srv.close());
  const client = new OneRosterClient(testConnection(srv.baseUrl), { maxDuplicateIds: 2 });
  t.after(() => client.close());
  const read = client.readPages('users');
  await collect(read);
  assert.equal(read.stats.items, 12);
  assert.equal(read.stats.duplicateCount, 3);
  assert.deepEqual(read.stats.duplicates, ['u2', 'u3']);
});

test('prefetch: page N+1 is requested while the consumer works on page N (one in flight at concurrency 1)', async (t) => {
  const srv = await pagingServer({ data: users(0, 40), clamp: 10, delayMs: 30 });
  t.after(() => srv.close());
  const client = new OneRosterClient(testConnection(srv.baseUrl));
  t.after(() => client.close());
  const doneAt: number[] = [];
  const read = client.readPages('users');
  await collect(read, async () => {
    await new Promise((r) => setTimeout(r, 60));
    doneAt.push(performance.now());
  });
  // Request k+1 reached the server before the consumer finished page k.
  for (let k = 0; k < 4; k++) assert.ok(srv.hits[k + 1]!.at < doneAt[k]!, `request ${k + 1} should start before page ${k} is processed`);
  assert.equal(srv.peak(), 1);
  assert.equal(read.stats.maxInFlight, 1);
});

test('offloaded parsing: one more page ahead, never more than the concurrency cap at the server; ids checked', async (t) => {
  const data = [...users(0, 25), { sourcedId: 'u3' }, ...users(25, 14)];
  const srv = await pagingServer({ data, clamp: 10, delayMs: 20 });
  t.after(() => srv.close());
  const client = new OneRosterClient(testConnection(srv.baseUrl));
  t.after(() => client.close());
  let parsed = 0;
  // Parses "elsewhere" (here: after a delay), as prep-pool.ts does in a worker thread.
  const offload: PageOffload = {
    wants: () => true,
    parse: async (raw, res) => {
      await new Promise((r) => setTimeout(r, 40));
      const env = parseEnvelope(raw, res, { expectKey: 'users', expectShape: 'array' });
      const items = env.body['users'] as Array<{ sourcedId: string }>;
      parsed++;
      return { count: items.length, ids: items.map((u) => u.sourcedId), warnings: env.warnings, result: items.map((u) => u.sourcedId) };
    },
  };
  const read = client.readPages('users', { offload });
  const pages = await collect(read, () => new Promise((r) => setTimeout(r, 10)));
  assert.equal(parsed, pages.length + 1, 'the empty page that ends the read is parsed too');
  assert.deepEqual(pages.flatMap((p) => p.offloaded!.result as string[]), data.map((u) => u.sourcedId), 'every record once, in order');
  for (const p of pages) assert.deepEqual(p.items, []);
  assert.equal(srv.peak(), 1, 'the connection allows one request at a time');
  assert.equal(read.stats.maxInFlight, 2, 'the next page is requested while this one is parsed');
  assert.equal(read.stats.duplicateCount, 1);
  assert.deepEqual(read.stats.duplicates, ['u3']);
  assert.equal(read.stats.items, 40);
});

test('offloaded parsing: a rejected parse fails the read with its error', async (t) => {
  const srv = await pagingServer({ data: users(0, 30), clamp: 10 });
  t.after(() => srv.close());
  const client = new OneRosterClient(testConnection(srv.baseUrl));
  t.after(() => client.close());
  const offload: PageOffload = {
    wants: () => true,
    parse: async () => {
      throw new SourceError('bad_envelope', 'no wrapper', { path: '/users', status: 200 });
    },
  };
  await assert.rejects(collect(client.readPages('users', { offload })), (err: unknown) => err instanceof SourceError && err.code === 'bad_envelope');
});

test('prefetch at concurrency 3: speculative pages, re-issued when the page length changes', async (t) => {
  const data = users(0, 57);
  // Clamp 10, but one short page at offset 20 breaks the speculation once.
  const srv = await pagingServer({ data, clamp: 10, pageLen: (o, l) => (o === 20 ? 3 : l), delayMs: 5 });
  t.after(() => srv.close());
  const client = new OneRosterClient(testConnection(srv.baseUrl, { maxConcurrency: 3 }));
  t.after(() => client.close());
  const read = client.readPages('users');
  const pages = await collect(read, () => new Promise((r) => setTimeout(r, 5)));
  assert.deepEqual(ids(pages), data.map((u) => u.sourcedId), 'every record exactly once, in order');
  assert.ok(srv.peak() <= 3, `peak ${srv.peak()}`);
  assert.equal(read.stats.maxInFlight, 3);
  assert.ok(read.stats.discardedRequests >= 1);
  assert.equal(read.stats.duplicateCount, 0);
});

test('filter is sent RFC 3986-encoded and arrives intact; startOffset resumes', async (t) => {
  const srv = await pagingServer({ data: users(0, 12), clamp: 5, total: true });
  t.after(() => srv.close());
  const client = new OneRosterClient(testConnection(srv.baseUrl, { pageSize: 5 }));
  t.after(() => client.close());
  const filter = "dateLastModified>'2025-01-01T00:00:00Z' AND role='student'";
  const read = client.readPages('users', { filter, startOffset: 5 });
  const pages = await collect(read);
  assert.deepEqual(pages.map((p) => p.offset), [5, 10]);
  assert.equal(srv.hits[0]?.filter, filter);
  assert.equal(srv.hits[0]?.query, 'limit=5&offset=5&filter=dateLastModified%3E%272025-01-01T00%3A00%3A00Z%27%20AND%20role%3D%27student%27');
});

test('breaking out early cancels the prefetch cleanly; abort signal ends the read', async (t) => {
  const srv = await pagingServer({ data: users(0, 100), clamp: 10, delayMs: 20 });
  t.after(() => srv.close());
  const client = new OneRosterClient(testConnection(srv.baseUrl, { maxConcurrency: 2 }));
  t.after(() => client.close());
  let n = 0;
  for await (const _p of client.readPages('users')) if (++n === 2) break;
  assert.equal(n, 2);

  const ac = new AbortController();
  const read = client.readPages('users', { signal: ac.signal });
  await assert.rejects(collect(read, async () => ac.abort()), (e: unknown) => e instanceof SourceError && e.code === 'aborted');
});

test('429 during paging is retried and counted per read', async (t) => {
  let n = 0;
  const srv = await startServer((app) => {
    app.get(`${API}/enrollments`, async (req, reply) => {
      n++;
      if (n === 2) return reply.code(429).header('retry-after', '1').send({});
      const offset = Number((req.query as Record<string, string>)['offset']);
      return { enrollments: offset === 0 ? [{ sourcedId: 'e1' }] : [] };
    });
  });
  t.after(() => srv.close());
  const clock = fakeClock();
  const client = new OneRosterClient(testConnection(srv.baseUrl), { clock });
  t.after(() => client.close());
  const read = client.readPages('enrollments');
  await collect(read);
  assert.deepEqual(read.stats.retries, { '429': 1 });
  assert.equal(read.stats.requests, 3);
  assert.deepEqual(clock.sleeps, [1000]);
});

test('getOne, get, getRaw and ping', async (t) => {
  const srv = await pagingServer({ data: [{ sourcedId: 'a b/é' }] });
  t.after(() => srv.close());
  const client = new OneRosterClient(testConnection(srv.baseUrl));
  t.after(() => client.close());
  assert.deepEqual(await client.getOne('users', 'a b/é'), { sourcedId: 'a b/é' });
  assert.equal(await client.getOne('users', 'nobody'), undefined);
  const g = await client.get('/users', { limit: 1, filter: "status='active'" }, { expectKey: 'users' });
  assert.equal(g.status, 200);
  assert.equal(srv.hits.at(-1)?.filter, "status='active'");
  const raw = await client.getRaw('/users/nobody');
  assert.equal(raw.status, 404);
  assert.deepEqual(raw.json, { imsx_codeMajor: 'failure', imsx_codeMinor: 'unknownobject' });
  const ping = await client.ping();
  assert.equal(ping.status, 200);
  assert.equal(ping.totalHeader, 3);
  assert.equal(ping.sendsLink, false);
  assert.equal(ping.requests, 1);
  await assert.rejects(client.get('users'), (e: unknown) => e instanceof SourceError && e.code === 'invalid_config');
  await assert.rejects(client.fetchToken(), (e: unknown) => e instanceof SourceError && e.code === 'invalid_config');
});

test('empty collection yields no pages', async (t) => {
  const srv = await pagingServer({ data: [] });
  t.after(() => srv.close());
  const client = new OneRosterClient(testConnection(srv.baseUrl));
  t.after(() => client.close());
  const read = client.readPages('users');
  assert.deepEqual(await collect(read), []);
  assert.equal(read.stats.stoppedBy, 'empty-page');
  assert.equal(read.stats.requests, 1);
});

test('parseLinkHeader: several rels, unquoted rel, commas inside URLs', () => {
  const m = parseLinkHeader('<https://h/u?limit=10&offset=10&filter=a%2Cb>; rel="next last", <https://h/u?offset=0>;rel=first');
  assert.equal(m.get('next'), 'https://h/u?limit=10&offset=10&filter=a%2Cb');
  assert.equal(m.get('last'), 'https://h/u?limit=10&offset=10&filter=a%2Cb');
  assert.equal(m.get('first'), 'https://h/u?offset=0');
  assert.equal(parseLinkHeader(undefined).size, 0);
});

test('page hashes: every body is hashed; a recognised body is handed over unparsed and paging still advances by its count', async (t) => {
  const srv = await pagingServer({ data: users(0, 25), clamp: 10 });
  t.after(() => srv.close());
  const client = new OneRosterClient(testConnection(srv.baseUrl, { pageSize: 10 }));
  t.after(() => client.close());
  const salt = 'v1\nusers\n';
  const first = await collect(client.readPages('users', { pageHash: { salt } }));
  assert.equal(first.length, 3);
  assert.ok(first.every((p) => typeof p.bodyHash === 'string' && p.known === undefined));
  assert.equal(new Set(first.map((p) => p.bodyHash)).size, 3, 'different bodies, different hashes');
  const again = await collect(client.readPages('users', { pageHash: { salt } }));
  assert.deepEqual(again.map((p) => p.bodyHash), first.map((p) => p.bodyHash), 'same bytes, same hash');
  const other = await collect(client.readPages('users', { pageHash: { salt: 'v2\nusers\n' } }));
  assert.notEqual(other[0]!.bodyHash, first[0]!.bodyHash, 'the salt is part of the hash');

  // The middle page is known (its summary says 10 items from u10 to u19).
  const middle = first[1]!;
  const summary = { hash: middle.bodyHash!, count: 10, firstId: 'u10', lastId: 'u19', agg: 'x' };
  const asked: string[] = [];
  const read = client.readPages('users', { pageHash: { salt, known: (h) => (asked.push(h), h === summary.hash ? summary : undefined) } });
  const pages = await collect(read);
  assert.deepEqual(asked.slice(0, 3), first.map((p) => p.bodyHash), 'every page was looked up');
  assert.equal(asked.length, 4, 'and the empty last page');
  assert.deepEqual(pages.map((p) => [p.offset, p.items.length, p.known?.lastId]), [[0, 10, undefined], [10, 0, 'u19'], [20, 5, undefined]]);
  assert.equal(read.stats.items, 25, 'the known page counts its items');
  assert.deepEqual(srv.hits.slice(-4).map((h) => h.offset), [0, 10, 20, 25], 'paging advanced past the unparsed page');
  const items = pages[1]!.materialize!();
  assert.deepEqual(items.map((i) => (i as { sourcedId: string }).sourcedId), users(10, 10).map((u) => u.sourcedId));
  assert.equal(read.stats.duplicateCount, 0);

  // A summary whose count does not match the body is refused when the page is materialised.
  const wrong = { ...summary, count: 9 };
  const bad = await collect(client.readPages('users', { pageHash: { salt, known: (h) => (h === wrong.hash ? wrong : undefined) } }));
  assert.throws(() => bad[1]!.materialize!(), (err: Error & { code?: string }) => err.code === 'bad_envelope' && /holds 10 records, not 9/.test(err.message));
});
