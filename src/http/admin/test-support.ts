/**
 * Helpers for the admin API's tests only: an app with the admin plugin over an in-memory store
 * (cheap scrypt, a known first admin), and sign-in helpers that return what a browser or a script
 * would send.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { openStore, type Store } from '../../store/store.ts';
import { buildApp } from '../app.ts';
import { adminApiPlugin, type AdminApiOptions } from './admin-api.ts';
import { CSRF_HEADER, SESSION_COOKIE } from './auth.ts';

export const TEST_COST = { N: 1 << 10, r: 8, p: 1 };
export const ADMIN_PASSWORD = 'correct horse battery staple';

export interface TestAdmin {
  app: FastifyInstance;
  store: Store;
  /** What the plugin announced (setup token, created admin). */
  announced: string[];
  close(): Promise<void>;
}

/** An app with the admin API over a fresh store (`:memory:` unless `url`). */
export async function startAdmin(options: Partial<AdminApiOptions> & { url?: string; store?: Store } = {}): Promise<TestAdmin> {
  const store = options.store ?? (await openStore({ url: options.url ?? ':memory:', secretKey: randomBytes(32) }));
  const announced: string[] = [];
  const { url: _url, store: _s, ...rest } = options;
  const app = await buildApp({
    store,
    plugins: [
      {
        name: 'admin',
        plugin: adminApiPlugin,
        options: {
          store,
          passwordCost: TEST_COST,
          adminPassword: ADMIN_PASSWORD,
          announce: (t: string) => void announced.push(t),
          auth: { cookieSecure: false },
          ...rest,
        } satisfies AdminApiOptions as unknown as Record<string, unknown>,
      },
    ],
  });
  return {
    app,
    store,
    announced,
    async close() {
      await app.close();
      await store.close();
    },
  };
}

/** How a caller authenticates in a test. */
export interface Caller {
  headers: Record<string, string>;
  /** For a session: the CSRF token. */
  csrf?: string;
}

/** Logs in and returns the cookie + CSRF headers a browser would send. */
export async function login(app: FastifyInstance, username: string, password: string): Promise<Caller> {
  const res = await app.inject({ method: 'POST', url: '/api/v1/login', payload: { username, password } });
  if (res.statusCode !== 200) throw new Error(`login of ${username} failed: ${res.statusCode} ${res.body}`);
  const cookie = res.cookies.find((c) => c.name === SESSION_COOKIE);
  if (!cookie) throw new Error('no session cookie');
  const csrf = (res.json() as { csrfToken: string }).csrfToken;
  return { headers: { cookie: `${SESSION_COOKIE}=${cookie.value}`, [CSRF_HEADER]: csrf }, csrf };
}

/** A bearer-token caller for `username` (creates the token through a session). */
export async function tokenCaller(app: FastifyInstance, username: string, password: string): Promise<Caller> {
  const s = await login(app, username, password);
  const res = await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: s.headers, payload: { name: 'test script' } });
  if (res.statusCode !== 201) throw new Error(`token for ${username} failed: ${res.statusCode} ${res.body}`);
  return { headers: { authorization: `Bearer ${(res.json() as { token: string }).token}` } };
}

/** `app.inject` as `caller`. */
export function as(app: FastifyInstance, caller: Caller, req: InjectOptions): Promise<LightMyRequestResponse> {
  return app.inject({ ...req, headers: { ...(req.headers as Record<string, string> | undefined), ...caller.headers } }) as Promise<LightMyRequestResponse>;
}

/** Reads a server-sent event stream until `done` (or the deadline); returns the events in order. */
export async function readEvents(url: string, headers: Record<string, string>, deadlineMs = 60_000): Promise<Array<{ event: string; data: any }>> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(deadlineMs) });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const events: Array<{ event: string; data: any }> = [];
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) !== -1) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const event = /^event: (.+)$/m.exec(block)?.[1];
      const data = /^data: (.+)$/m.exec(block)?.[1];
      if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
    }
  }
  return events;
}
