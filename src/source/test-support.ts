/**
 * Helpers for `source/` tests only: small local fastify providers on 127.0.0.1:0 and a fake clock.
 * (Not the simulator: these servers misbehave on purpose, one quirk per test.)
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { parseConnection, type ConnectionConfig } from './connection.ts';
import { abortedError, type Clock } from './retry.ts';

export const API = '/ims/oneroster/v1p1';

export interface TestServer {
  app: FastifyInstance;
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** `origin + API` */
  baseUrl: string;
  close(): Promise<void>;
}

/** Starts a fastify app on 127.0.0.1, port 0, with routes added by `setup`. */
export async function startServer(setup: (app: FastifyInstance) => void | Promise<void>): Promise<TestServer> {
  const app = Fastify({ logger: false, keepAliveTimeout: 1000 });
  // Token endpoints take form bodies (RFC 6749 §4.4.2); fastify has no parser for them built in.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  await setup(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  const origin = `http://127.0.0.1:${addr.port}`;
  return { app, origin, baseUrl: origin + API, close: () => app.close() };
}

/** A connection to `baseUrl` with test-friendly retry timings; `extra` overrides any setting. */
export function testConnection(baseUrl: string, extra: Record<string, unknown> = {}): ConnectionConfig {
  return parseConnection({
    baseUrl,
    retry: { maxAttempts: 5, maxElapsedMs: 60_000, baseDelayMs: 10, maxDelayMs: 1_000 },
    timeouts: { connectMs: 2_000, requestMs: 5_000 },
    ...extra,
  });
}

/** Virtual time: `sleep` records the wait and advances `now` immediately. */
export interface FakeClock extends Clock {
  sleeps: number[];
  t: number;
}

export function fakeClock(start = 1_700_000_000_000): FakeClock {
  const c: FakeClock = {
    t: start,
    sleeps: [],
    now: () => c.t,
    sleep: async (ms: number, signal?: AbortSignal) => {
      if (signal?.aborted) throw abortedError(signal);
      c.sleeps.push(ms);
      c.t += ms;
      await new Promise((r) => setImmediate(r));
    },
  };
  return c;
}

/** `n` fake users with sourcedIds `u{from}`…; enough shape for paging tests. */
export function users(from: number, n: number): Array<{ sourcedId: string; status: string }> {
  return Array.from({ length: Math.max(0, n) }, (_, i) => ({ sourcedId: `u${from + i}`, status: 'active' }));
}
