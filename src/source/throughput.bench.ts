/**
 * Raw page throughput of the source layer: a local server hands out pre-built 5000-record enrollment pages;
 * we time (a) bare undici request + body + JSON.parse and (b) the full OneRosterClient.readPages path
 * (limiter, retry bookkeeping, envelope check, duplicate check, prefetch) with a consumer that does nothing.
 * (a) is the practical ceiling for a sync (DESIGN.md "Performance approach").
 *
 * Run: node --import tsx src/source/throughput.bench.ts [pages=20] [rounds=3]
 */
import { createServer } from 'node:http';
import { Agent } from 'undici';
import { OneRosterClient } from './oneroster-client.ts';
import { parseConnection } from './connection.ts';

const PAGE = 5000;
const pages = Number(process.argv[2] ?? 20);
const rounds = Number(process.argv[3] ?? 3);
const API = '/ims/oneroster/v1p1';

function enrollment(i: number): Record<string, unknown> {
  const ref = (type: string, id: string) => ({ href: `https://sis.example.org${API}/${type}s/${id}`, sourcedId: id, type });
  return {
    sourcedId: `enr-${String(i).padStart(8, '0')}-4b1f-9a7e-2c1d5e6f7a8b`,
    status: 'active',
    dateLastModified: '2025-08-14T12:34:56.789Z',
    metadata: null,
    user: ref('user', `usr-${String(i % 150_000).padStart(8, '0')}-6c2e`),
    class: ref('class', `cls-${String(i % 9000).padStart(6, '0')}-1a2b`),
    school: ref('org', `sch-${String(i % 40).padStart(3, '0')}`),
    role: i % 25 === 0 ? 'teacher' : 'student',
    primary: i % 25 === 0,
    beginDate: '2025-08-20',
    endDate: '2026-06-12',
  };
}

const bodies: Buffer[] = [];
for (let p = 0; p < pages; p++) {
  const items = Array.from({ length: PAGE }, (_, k) => enrollment(p * PAGE + k));
  bodies.push(Buffer.from(JSON.stringify({ enrollments: items })));
}
const empty = Buffer.from('{"enrollments":[]}');
const total = pages * PAGE;

const server = createServer((req, res) => {
  const u = new URL(req.url ?? '/', 'http://x');
  const offset = Number(u.searchParams.get('offset') ?? 0);
  const body = bodies[Math.floor(offset / PAGE)] ?? empty;
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length, 'x-total-count': String(total) });
  res.end(body);
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const addr = server.address();
if (addr === null || typeof addr === 'string') throw new Error('no address');
const origin = `http://127.0.0.1:${addr.port}`;

const mb = (n: number) => n / 1e6;
const line = (label: string, bytes: number, records: number, ms: number) =>
  console.log(`${label.padEnd(34)} ${mb(bytes).toFixed(1).padStart(7)} MB  ${(mb(bytes) / (ms / 1000)).toFixed(0).padStart(5)} MB/s  ${Math.round(records / (ms / 1000)).toLocaleString('en-US').padStart(10)} records/s  (${ms.toFixed(0)} ms)`);

console.log(`page: ${PAGE} enrollments, ${(bodies[0]!.length / 1e6).toFixed(2)} MB; ${pages} pages; node ${process.version}`);

const agent = new Agent({ connections: 1 });
for (let r = 0; r < rounds; r++) {
  let bytes = 0;
  let records = 0;
  const t0 = performance.now();
  for (let p = 0; p < pages; p++) {
    const res = await agent.request({ origin, path: `${API}/enrollments?limit=${PAGE}&offset=${p * PAGE}`, method: 'GET' });
    const chunks: Buffer[] = [];
    for await (const c of res.body) chunks.push(c as Buffer);
    const buf = Buffer.concat(chunks);
    bytes += buf.length;
    records += (JSON.parse(buf.toString('utf8')) as { enrollments: unknown[] }).enrollments.length;
  }
  line(`raw undici+JSON.parse (round ${r + 1})`, bytes, records, performance.now() - t0);
}
await agent.close();

for (const maxConcurrency of [1, 2]) {
  const client = new OneRosterClient(parseConnection({ baseUrl: origin + API, pageSize: PAGE, maxConcurrency }));
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    const read = client.readPages('enrollments');
    let records = 0;
    for await (const page of read) records += page.items.length;
    line(`readPages c=${maxConcurrency} (round ${r + 1})`, read.stats.bytes, records, performance.now() - t0);
  }
  await client.close();
}
server.close();
