/**
 * The admin API client of the console: same-origin fetches with the session cookie (http-only,
 * set by POST /api/v1/login) and the CSRF token in `x-csrf-token` on every state-changing request.
 * Errors come back as `ApiError` with the API's stable `code` and its admin-readable message.
 */
import type { Me } from './types.ts';

export const API = '/api/v1';

export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let csrfToken: string | undefined;
let onUnauthorized: (() => void) | undefined;

/** Remembers the CSRF token of the session (from login or /me). */
export function setCsrf(token: string | undefined): void {
  csrfToken = token;
}

/** Called when the session ended (a 401 on any request): the app shows the login page. */
export function onSessionEnd(fn: () => void): void {
  onUnauthorized = fn;
}

type Query = Record<string, string | number | boolean | undefined>;

/** `path?query` with undefined values left out. */
export function withQuery(path: string, query: Query = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s === '' ? path : `${path}?${s}`;
}

/** One admin API request; resolves with the JSON body (undefined for 204). */
export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken !== undefined) headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(`${API}${path}`, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError(0, 'network', 'The Rostersync server did not answer. Is `rostersync serve` running?');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const e = (json ?? {}) as { error?: string; message?: string };
    const err = new ApiError(res.status, e.error ?? `http_${res.status}`, e.message ?? `${res.status} ${res.statusText}`);
    const publicCall = path === '/login' || path === '/setup';
    if ((res.status === 401 || e.error === 'session_expired') && !publicCall) onUnauthorized?.();
    throw err;
  }
  return json as T;
}

export const get = <T>(path: string, query?: Query): Promise<T> => api<T>('GET', withQuery(path, query));
export const post = <T>(path: string, body?: unknown): Promise<T> => api<T>('POST', path, body ?? {});

/** The signed-in account, or undefined when there is no session. */
export async function fetchMe(): Promise<Me | undefined> {
  try {
    const me = await api<Me>('GET', '/me');
    setCsrf(me.csrfToken);
    return me;
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.code === 'session_expired')) return undefined;
    throw err;
  }
}

/** A message for the admin from any error. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.code === 'network' ? err.message : `${err.message} (${err.code})`;
  return err instanceof Error ? err.message : String(err);
}
