import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyRequest, FastifyServerOptions } from 'fastify';
import { ProviderAuth } from '../serve/auth.ts';
import type { AuthMode } from '../serve/auth.ts';
import { MemoryDataset } from '../serve/memory-dataset.ts';
import { DEFAULT_PREFIX, imsxFrameworkErrors, oneRosterPlugin } from '../serve/oneroster-server.ts';
import { District } from './district.ts';
import type { DistrictSize } from './district.ts';
import { installFaults, noFaults, parseFaults } from './faults.ts';
import type { FaultConfig } from './faults.ts';

/**
 * The runnable simulator: a generated `District` served as a OneRoster 1.1 provider with auth and
 * fault injection, plus two control endpoints on the same host:
 * - `POST /simulator/advance` with `{"days": N}` → the churn summary of `District.advance(N)`;
 * - `GET /simulator/stats` → `District.stats()`.
 * Control endpoints need no OneRoster auth and are never faulted.
 */

/**
 * Most days one `POST /simulator/advance` may move the clock: churn costs ~80 ms per simulated day at
 * `large`, and the request blocks the event loop while it runs, so a year is the sensible ceiling.
 */
export const MAX_ADVANCE_DAYS = 366;

export interface SimulatorOptions {
  /** Default `small`. */
  size?: DistrictSize;
  seed?: number;
  dirtyRate?: number;
  /** A fault spec (see `faults.ts`) or a parsed config. Default none. */
  faults?: string | FaultConfig;
  /** Default `oauth2`. */
  auth?: AuthMode;
  /** Generated (random) when absent. */
  clientId?: string;
  clientSecret?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Default `/ims/oneroster/v1p1`. */
  prefix?: string;
  tokenTtlSeconds?: number;
  /** Default 10000. */
  maxLimit?: number;
  unknownParent?: 'empty' | '404';
  /** Use an existing district instead of generating one (size/seed/dirtyRate are then ignored). */
  district?: District;
  /** fastify/pino logging; default off. Logs carry request ids and paths, never bodies or secrets. */
  logger?: boolean;
}

export interface RunningSimulator {
  /** OneRoster base URL, e.g. `http://127.0.0.1:41234/ims/oneroster/v1p1`. */
  baseUrl: string;
  /** OAuth 2 token URL (only served when auth is oauth2). */
  tokenUrl: string;
  /** Server root, e.g. `http://127.0.0.1:41234` (control endpoints live under it). */
  rootUrl: string;
  clientId: string;
  clientSecret: string;
  auth: AuthMode;
  district: District;
  app: FastifyInstance;
  close(): Promise<void>;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Generates the district (in this process: `large` takes seconds and ~1–2 GB) and starts
 * listening. Credentials are random unless given; they are returned, never logged.
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const authMode = options.auth ?? 'oauth2';
  const faults = typeof options.faults === 'string' ? parseFaults(options.faults) : (options.faults ?? noFaults());
  const clientId = options.clientId ?? `sim-${randomBytes(6).toString('hex')}`;
  const clientSecret = options.clientSecret ?? randomBytes(24).toString('base64url');
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const host = options.host ?? '127.0.0.1';

  const district =
    options.district ??
    District.generate({
      size: options.size ?? 'small',
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.dirtyRate !== undefined ? { dirtyRate: options.dirtyRate } : {}),
    });
  const dataset = new MemoryDataset(district);
  const auth = new ProviderAuth({
    mode: authMode,
    credentials: [{ clientId, clientSecret }],
    ...(options.tokenTtlSeconds !== undefined ? { tokenTtlSeconds: options.tokenTtlSeconds } : {}),
  });

  // Request logs carry method and path only: query strings hold filter values (emails), and
  // headers hold credentials.
  const logger: FastifyServerOptions['logger'] = options.logger
    ? { level: 'info', serializers: { req: (r: FastifyRequest) => ({ method: r.method, url: r.url.split('?')[0] ?? '' }) } }
    : false;
  const app: FastifyInstance = Fastify({ logger, frameworkErrors: imsxFrameworkErrors });
  // The provider's clock is the simulated one: `Date` says when, in simulated time, the answer was
  // given, so a client taking its delta cursor from `Date` sees the same clock that stamps
  // `dateLastModified` (a real SIS stamps both from its own clock too).
  app.addHook('onSend', async (_request, reply) => {
    reply.header('date', district.now().toUTCString());
  });
  auth.registerTokenRoute(app);
  await app.register(oneRosterPlugin, {
    prefix,
    dataset,
    auth,
    ...(options.maxLimit !== undefined ? { maxLimit: options.maxLimit } : {}),
    ...(options.unknownParent !== undefined ? { unknownParent: options.unknownParent } : {}),
    configure: (scope) => installFaults(scope, faults),
  });

  app.post('/simulator/advance', async (request, reply) => {
    const days = (request.body as { days?: unknown } | null | undefined)?.days;
    if (typeof days !== 'number' || !Number.isInteger(days) || days < 0 || days > MAX_ADVANCE_DAYS) {
      return reply.code(400).send({ error: `body must be {"days": N} with N an integer 0..${MAX_ADVANCE_DAYS}` });
    }
    return district.advance(days);
  });
  app.get('/simulator/stats', async () => district.stats());

  await app.listen({ host, port: options.port ?? 0 });
  const port = (app.server.address() as AddressInfo).port;
  const rootUrl = `http://${urlHost(host)}:${port}`;
  return {
    baseUrl: `${rootUrl}${prefix}`,
    tokenUrl: `${rootUrl}${auth.tokenPath}`,
    rootUrl,
    clientId,
    clientSecret,
    auth: authMode,
    district,
    app,
    close: async () => {
      await app.close();
    },
  };
}
