/**
 * The web console (issue 7): the Vite build of `web/` (`npm run build:web` → `web/dist`), served by
 * `rostersync serve` at `/` with @fastify/static. The console is a single-page app talking to the
 * admin API (`/api/v1`) with the session cookie, so every GET that is not an API path and not a
 * built file answers `index.html` (the app routes itself: `/runs/12`, `/holds` …).
 *
 * - Built files are listed once at start (`wildcard: false`): no catch-all route competes with the
 *   API's routes, and a path that is neither a file nor a console route is an honest 404.
 * - Hashed assets (`/assets/*`) are cached for a year; `index.html` never (a new build must load).
 * - Every console answer carries a strict Content-Security-Policy: scripts, styles, fonts and
 *   connections from this origin only (the console uses no CDN and no network fonts), no framing.
 * - Without a build the API works as before; `/` then answers a short page saying how to build the
 *   console, and the plugin logs the same hint once.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface ConsoleOptions {
  /** The built console (the directory holding `index.html`). Default: `consoleRoot()`. */
  root?: string;
}

/** Paths that belong to the APIs and probes, never to the console (a miss there is a JSON 404). */
const NOT_CONSOLE = /^\/(api|ims|healthz|simulator|oauth)(\/|$|\?)/;

/** Security headers of every console answer (see the file comment). */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

/**
 * Where the built console is: `ROSTERSYNC_WEB_DIST` when set, else `web/dist` of this checkout
 * (two levels above this file in `src/http/`, and in the compiled `dist/http/` alike).
 */
export function consoleRoot(): string {
  return process.env.ROSTERSYNC_WEB_DIST || join(import.meta.dirname, '..', '..', 'web', 'dist');
}

/** Whether `root` holds a console build. */
export function consoleBuilt(root = consoleRoot()): boolean {
  return existsSync(join(root, 'index.html'));
}

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Rostersync</title></head>
<body><main><h1>Rostersync</h1>
<p>The web console is not built. Run <code>npm run build:web</code> in the Rostersync checkout, then restart <code>rostersync serve</code>.</p>
<p>The admin API works without it: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p></main></body></html>
`;

/** The console plugin (see the file comment). Register without a prefix. */
export async function consolePlugin(app: FastifyInstance, options: ConsoleOptions): Promise<void> {
  const root = options.root ?? consoleRoot();
  const built = consoleBuilt(root);
  if (!built) app.log.warn({ root }, 'web console not built: run `npm run build:web` to serve it at / (the API works without it)');
  // Read once: the build does not change under a running server (its file list is fixed at start too).
  const index = built ? readFileSync(join(root, 'index.html'), 'utf8') : NOT_BUILT_PAGE;

  const secure = (reply: FastifyReply): FastifyReply => reply.headers(CONSOLE_HEADERS);

  if (built) {
    await app.register(fastifyStatic, {
      root,
      prefix: '/',
      wildcard: false,
      // `/` and the app's routes go through the fallback below (with its headers), not send's index.
      index: false,
      serveDotFiles: false,
      // send's own Cache-Control (max-age=0) would override the one set below.
      cacheControl: false,
      setHeaders: (res, path) => {
        for (const [k, v] of Object.entries(CONSOLE_HEADERS)) res.setHeader(k, v);
        // Vite names assets by content hash: a changed file has a new name.
        res.setHeader('cache-control', /[\\/]assets[\\/]/.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  }

  app.setNotFoundHandler(async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0] ?? '/';
    const page = (request.method === 'GET' || request.method === 'HEAD') && !NOT_CONSOLE.test(path) && !path.startsWith('/assets/');
    if (!page) return reply.code(404).send({ error: 'not_found', message: `no route ${request.method} ${path}` });
    return secure(reply).code(built ? 200 : 404).header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(index);
  });
}
