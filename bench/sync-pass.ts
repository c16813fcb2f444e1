/**
 * One pass of the sync benchmark, in its own process so its peak RSS is its own.
 * argv[2]: JSON `{kind: 'raw' | 'sync', baseUrl, tokenUrl, clientId, clientSecret, db?, bulk?, entities}`
 * (`db`: a SQLite path or a PostgreSQL URL).
 * Prints one JSON line: `{kind, records, wallMs, cpuMs, peakRssMiB, ...}` (`cpuMs`: this process's
 * user + system CPU, which a busy shared machine disturbs less than wall time).
 */
import { OneRosterClient } from '../src/source/oneroster-client.ts';
import { connectionConfig, syncConnection } from '../src/services/sync-service.ts';
import { openStore } from '../src/store/store.ts';
import type { CollectionName } from '../src/oneroster/types.ts';

interface PassInput {
  kind: 'raw' | 'sync';
  baseUrl: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** A SQLite path or a PostgreSQL URL. */
  db?: string;
  /** Staging writer (default native). */
  bulk?: 'native' | 'portable';
  entities: CollectionName[];
  /** Sync mode (default full). */
  mode?: 'full' | 'delta';
}

const input = JSON.parse(process.argv[2]!) as PassInput;
const access = {
  baseUrl: input.baseUrl,
  auth: { kind: 'oauth2' as const, tokenUrl: input.tokenUrl, clientId: input.clientId, clientSecret: input.clientSecret },
};
const t0 = performance.now();
if (process.env['BENCH_MEM_TRACE']) {
  const mib = (n: number): number => Math.round(n / 2 ** 20);
  setInterval(() => {
    const m = process.memoryUsage();
    process.stderr.write(`mem ${Math.round(performance.now() - t0)} rss ${mib(m.rss)} heapTotal ${mib(m.heapTotal)} heapUsed ${mib(m.heapUsed)} external ${mib(m.external)}\n`);
  }, 2000).unref();
}
let records = 0;
let bytes = 0;
let extra: Record<string, unknown> = {};
if (input.kind === 'raw') {
  // The practical limit: download and JSON.parse every page of the same endpoints, nothing else.
  const client = new OneRosterClient(connectionConfig(access));
  for (const c of input.entities) {
    for await (const page of client.readPages(c, { filter: "status='active'" })) {
      records += page.items.length;
      bytes += page.bytes;
    }
  }
  await client.close();
} else {
  const store = await openStore({ url: input.db!, bulk: input.bulk ?? 'native' });
  const { result } = await syncConnection({
    store,
    access,
    connectionName: 'bench',
    mode: input.mode ?? 'full',
    // The product default for an ad-hoc sync: SDS rules on, every optional-data toggle on.
    toggles: { contacts: true, demographics: true, userFlags: true },
    optional: { courses: input.entities.includes('courses'), demographics: input.entities.includes('demographics') },
  });
  await store.close();
  for (const c of Object.values(result.entities)) {
    if (!c) continue;
    records += c.fetched;
    bytes += c.bytes;
  }
  const sum = (k: 'created' | 'updated' | 'unchanged' | 'deleted' | 'invalid'): number =>
    Object.values(result.entities).reduce((n, c) => n + (c?.[k] ?? 0), 0);
  extra = {
    status: result.status,
    mode: result.mode,
    fetched: records,
    created: sum('created'),
    updated: sum('updated'),
    unchanged: sum('unchanged'),
    deleted: sum('deleted'),
    invalid: sum('invalid'),
    ...((result as { timings?: unknown }).timings ? { timings: (result as { timings?: unknown }).timings } : {}),
  };
}
const wallMs = performance.now() - t0;
const usage = process.resourceUsage();
const peakRssMiB = usage.maxRSS / 1024;
const cpuMs = (usage.userCPUTime + usage.systemCPUTime) / 1000;
process.stdout.write(`${JSON.stringify({ kind: input.kind, records, bytes, wallMs, cpuMs, peakRssMiB, ...extra })}\n`);
