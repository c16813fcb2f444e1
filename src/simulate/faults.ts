import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { failureBody } from '../oneroster/imsx.ts';

/**
 * Fault injection for the simulated provider: the misbehaviours real OneRoster APIs show
 * (spec notes §9.2 "Fault injection knobs", §2.5 client paging), so clients can be tested
 * against them. Deterministic for a given seed: request n always gets the same decisions.
 *
 * Spec grammar (comma-separated items, whitespace around items ignored):
 *
 * ```
 * spec        := "" | "none" | item ("," item)*
 * item        := "latency=" duration ( "-" duration )?   fixed or uniform random delay; "20ms", "1s", bare = ms
 *              | "429=" rate                              answer 429 server_busy with Retry-After
 *              | "retry-after=" ra ("|" ra)?              ra := seconds | "date"; default 1 s, seconds form
 *              | "5xx=" rate                              answer 500/502/503/504, picked at random
 *              | ("500"|"502"|"503"|"504") "=" rate       answer that status
 *              | "clamp=" integer                         silently cap `limit` at this many records
 *              | "no-total"                               omit X-Total-Count
 *              | "no-link"                                omit Link
 *              | "drop=" rate                             send half the body, then destroy the socket
 *              | "seed=" integer                          PRNG seed (default 1)
 * rate        := decimal in [0, 1]
 * ```
 * Example: `latency=20ms,429=0.1,retry-after=2|date,5xx=0.05,clamp=1000,no-total,no-link,drop=0.02,seed=7`
 * (`retry-after=2|date` sends `Retry-After` as an HTTP-date 2 s ahead).
 *
 * Faults apply to the OneRoster routes only: `installFaults` is called on the OneRoster scope,
 * never on the token or simulator control endpoints.
 */
export interface FaultConfig {
  /** Delay before handling, uniform in [min, max] ms. */
  latencyMs?: { min: number; max: number };
  /** Probability of a 429. */
  rate429: number;
  retryAfter: { seconds: number; form: 'seconds' | 'date' };
  /** Probability of each specific 5xx status (`5xx=r` spreads r evenly over 500/502/503/504). */
  rate5xx: Partial<Record<500 | 502 | 503 | 504, number>>;
  /** Silent cap on `limit`. */
  clamp?: number;
  noTotal: boolean;
  noLink: boolean;
  /** Probability of dropping the connection mid-response. */
  drop: number;
  seed: number;
}

/** A configuration that injects nothing. */
export function noFaults(): FaultConfig {
  return { rate429: 0, retryAfter: { seconds: 1, form: 'seconds' }, rate5xx: {}, noTotal: false, noLink: false, drop: 0, seed: 1 };
}

/** Thrown by `parseFaults` with a message naming the offending item. */
export class FaultSpecError extends Error {
  override readonly name = 'FaultSpecError';
}

function parseRate(name: string, value: string | undefined): number {
  const n = value === undefined || value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) {
    throw new FaultSpecError(`invalid value for fault "${name}": "${value ?? ''}" (expected a rate between 0 and 1)`);
  }
  return n;
}

function parseDuration(name: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text.trim());
  if (!m) throw new FaultSpecError(`invalid value for fault "${name}": "${text}" (expected a duration like 20ms or 1s)`);
  const n = Number(m[1]);
  return m[2] === 's' ? n * 1000 : n;
}

function parseIntStrict(name: string, value: string | undefined, min: number): number {
  if (value === undefined || !/^\d+$/.test(value.trim()) || Number(value) < min) {
    throw new FaultSpecError(`invalid value for fault "${name}": "${value ?? ''}" (expected an integer ≥ ${min})`);
  }
  return Number(value);
}

/**
 * Parses a fault spec (grammar in the module JSDoc). Throws `FaultSpecError` with a clear
 * message (`unknown fault "x"`, `invalid value for fault "429": ...`, `fault "clamp" needs a value`).
 */
export function parseFaults(spec: string): FaultConfig {
  const config = noFaults();
  const trimmed = spec.trim();
  if (trimmed === '' || trimmed === 'none') return config;
  for (const rawItem of trimmed.split(',')) {
    const item = rawItem.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    const name = (eq === -1 ? item : item.slice(0, eq)).trim();
    const value = eq === -1 ? undefined : item.slice(eq + 1).trim();
    const flag = (): void => {
      if (value !== undefined) throw new FaultSpecError(`fault "${name}" takes no value`);
    };
    const needValue = (): string => {
      if (value === undefined || value === '') throw new FaultSpecError(`fault "${name}" needs a value`);
      return value;
    };
    switch (name) {
      case 'latency': {
        const v = needValue();
        // "10-50ms": the unit may be written once at the end.
        const range = /^(\d+(?:\.\d+)?)(ms|s)?-(\d+(?:\.\d+)?)(ms|s)?$/.exec(v);
        if (range) {
          const unit = range[4] ?? range[2] ?? 'ms';
          const min = parseDuration(name, `${range[1]}${range[2] ?? unit}`);
          const max = parseDuration(name, `${range[3]}${unit}`);
          if (max < min) throw new FaultSpecError(`invalid value for fault "latency": "${v}" (max below min)`);
          config.latencyMs = { min, max };
        } else {
          const ms = parseDuration(name, v);
          config.latencyMs = { min: ms, max: ms };
        }
        break;
      }
      case '429':
        config.rate429 = parseRate(name, needValue());
        break;
      case 'retry-after':
        for (const part of needValue().split('|')) {
          const p = part.trim();
          if (p === 'date') config.retryAfter.form = 'date';
          else if (p === 'seconds') config.retryAfter.form = 'seconds';
          else config.retryAfter.seconds = parseIntStrict(name, p, 0);
        }
        break;
      case '5xx': {
        const r = parseRate(name, needValue());
        for (const s of [500, 502, 503, 504] as const) config.rate5xx[s] = (config.rate5xx[s] ?? 0) + r / 4;
        break;
      }
      case '500':
      case '502':
      case '503':
      case '504': {
        const s = Number(name) as 500 | 502 | 503 | 504;
        config.rate5xx[s] = (config.rate5xx[s] ?? 0) + parseRate(name, needValue());
        break;
      }
      case 'clamp':
        config.clamp = parseIntStrict(name, needValue(), 1);
        break;
      case 'no-total':
        flag();
        config.noTotal = true;
        break;
      case 'no-link':
        flag();
        config.noLink = true;
        break;
      case 'drop':
        config.drop = parseRate(name, needValue());
        break;
      case 'seed':
        config.seed = parseIntStrict(name, needValue(), 0);
        break;
      default:
        throw new FaultSpecError(`unknown fault "${name}"`);
    }
  }
  const total5xx = Object.values(config.rate5xx).reduce((a, b) => a + b, 0);
  if (config.rate429 + total5xx > 1) throw new FaultSpecError('fault rates 429 + 5xx add up to more than 1');
  return config;
}

/** True when the config injects anything at all. */
export function hasFaults(c: FaultConfig): boolean {
  return (
    c.latencyMs !== undefined || c.rate429 > 0 || Object.values(c.rate5xx).some((r) => r > 0) ||
    c.clamp !== undefined || c.noTotal || c.noLink || c.drop > 0
  );
}

/** mulberry32: tiny, fast, good enough for fault dice; deterministic per seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What happens to one request. */
export interface FaultDecision {
  delayMs: number;
  /** 429, a 5xx status, or undefined to serve normally. */
  status?: 429 | 500 | 502 | 503 | 504;
  drop: boolean;
}

/**
 * The dice: one decision per request, in arrival order. Every request consumes the same number
 * of random draws, so the n-th request's fate depends only on the seed and n.
 */
export class FaultDice {
  readonly #config: FaultConfig;
  readonly #random: () => number;

  constructor(config: FaultConfig) {
    this.#config = config;
    this.#random = mulberry32(config.seed);
  }

  next(): FaultDecision {
    const c = this.#config;
    const rLatency = this.#random();
    const rStatus = this.#random();
    const rDrop = this.#random();
    const delayMs = c.latencyMs ? c.latencyMs.min + (c.latencyMs.max - c.latencyMs.min) * rLatency : 0;
    let status: FaultDecision['status'];
    let acc = c.rate429;
    if (rStatus < acc) status = 429;
    else {
      for (const s of [500, 502, 503, 504] as const) {
        acc += c.rate5xx[s] ?? 0;
        if (rStatus < acc) {
          status = s;
          break;
        }
      }
    }
    const decision: FaultDecision = { delayMs, drop: status === undefined && rDrop < c.drop };
    if (status !== undefined) decision.status = status;
    return decision;
  }
}

const kDrop = Symbol('rostersync.faultDrop');

/** Stream that emits the first half of `payload` and then fails, so fastify destroys the socket. */
function truncatedStream(payload: string | Buffer): Readable {
  const buf = typeof payload === 'string' ? Buffer.from(payload) : payload;
  // A copy: the payload may be a pooled page buffer that is reused once the response closes.
  const half = Buffer.from(buf.subarray(0, Math.floor(buf.length / 2)));
  return new Readable({
    read() {
      this.push(half);
      // Give the half a chance to reach the socket before the connection dies.
      setImmediate(() => this.destroy(new Error('fault injection: connection dropped')));
    },
  });
}

async function sleep(ms: number): Promise<void> {
  if (ms <= 0) return;
  await new Promise((r) => setTimeout(r, ms));
}

/**
 * Adds the fault hooks to a fastify scope (call it on the OneRoster scope before its routes and
 * auth hooks are added, so that 429/5xx answer before authentication like a gateway would).
 * `clamp` rewrites `request.query.limit`, so paging headers agree with what was served.
 */
export function installFaults(scope: FastifyInstance, config: FaultConfig): void {
  if (!hasFaults(config)) return;
  const dice = new FaultDice(config);

  scope.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const d = dice.next();
    await sleep(d.delayMs);
    if (d.status === 429) {
      const seconds = config.retryAfter.seconds;
      const value = config.retryAfter.form === 'date' ? new Date(Date.now() + seconds * 1000).toUTCString() : String(seconds);
      reply
        .code(429)
        .header('retry-after', value)
        .type('application/json')
        .send(Buffer.from(JSON.stringify(failureBody('server_busy', 'Too many requests (simulated); retry later'))));
      return reply;
    }
    if (d.status === 500 || d.status === 503) {
      const codeMinor = d.status === 503 ? 'server_busy' : 'internal_server_error';
      reply.code(d.status).type('application/json').send(Buffer.from(JSON.stringify(failureBody(codeMinor, `Simulated ${d.status}`))));
      return reply;
    }
    if (d.status === 502 || d.status === 504) {
      // What a load balancer in front of a SIS sends: HTML, not imsx.
      reply.code(d.status).type('text/html').send(`<html><body><h1>${d.status} ${d.status === 502 ? 'Bad Gateway' : 'Gateway Timeout'}</h1></body></html>`);
      return reply;
    }
    if (d.drop) (request as unknown as Record<symbol, boolean>)[kDrop] = true;
    if (config.clamp !== undefined) {
      const q = request.query as Record<string, unknown> | undefined;
      if (q && typeof q === 'object') {
        const raw = q['limit'];
        const requested = raw === undefined ? 100 : typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : undefined;
        if (requested !== undefined && requested > config.clamp) q['limit'] = String(config.clamp);
      }
    }
    return undefined;
  });

  if (config.noTotal || config.noLink || config.drop > 0) {
    scope.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
      if (config.noTotal) reply.removeHeader('x-total-count');
      if (config.noLink) reply.removeHeader('link');
      if ((request as unknown as Record<symbol, boolean>)[kDrop] && (typeof payload === 'string' || Buffer.isBuffer(payload))) {
        reply.removeHeader('content-length');
        return truncatedStream(payload);
      }
      return payload;
    });
  }
}
