/**
 * Page preparation off the sync's thread. A first sync spends most of its CPU parsing page bodies
 * and preparing records (page-prep.ts: read, SDS rules, reference checks, canonical JSON, hashes),
 * and the rest writing them to the store. Both ran on one thread, one after the other. With a
 * pool, the HTTP client hands each 2xx page body (`PageOffload`) to a worker thread
 * (prep-worker.ts), which parses it and prepares its items while the sync's thread stages the
 * previous page; the sync receives prepared entries (plain strings and numbers) instead of items.
 *
 * What stays exactly as before: the envelope checks and their errors (`parseEnvelope` runs in the
 * worker), paging and duplicate checks (the worker returns each item's raw sourcedId), the prepared
 * entries (the same `prepareItems`, with a codec rebuilt from its recipe and the same reference
 * sets), and the codec's counters (the worker's are added into the sync's codec after each page).
 * A codec without a recipe (`RecordCodec.worker`), a reference check without its sets, or a body
 * under `minBytes` is prepared on the sync's thread as before.
 *
 * What makes it pay: the client asks for one page more ahead when it offloads (still within the
 * connection's concurrency cap), so the provider produces page N+2 while the worker parses N+1
 * and the sync's thread writes N. Without that, the worker waited for each page in turn and an
 * earlier attempt (session 3, docs/benchmarks.md) measured no gain.
 *
 * One pool per process (`sharedPrepPool`), shared by every run in it; workers start on first use and
 * do not keep the process alive while idle. A worker that dies (its heap limit, a crash) is
 * replaced on the next page; the pages it held are prepared on the sync's thread, so the read goes
 * on with the same result. After `MAX_DEATHS` deaths the process stops offloading.
 *
 * Off by default (`defaultPrepThreads`): on the 2-core reference machine the memory it costs puts
 * the `large` first sync over its 512 MiB target.
 */
import { Worker } from 'node:worker_threads';
import type { CollectionName } from '../oneroster/types.ts';
import { SourceError } from '../source/errors.ts';
import type { OffloadedBody, PageOffload } from '../source/page-reader.ts';
import { prepareBody, type PrepTimings, type PreparedBodyParts, type PreparedEntry } from './page-prep.ts';
import type { PrepReply, PrepRequest, ReadSetup } from './prep-protocol.ts';
import { addCounters, type RecordCodec } from './record-codec.ts';
import type { CrossCheck } from './reference-check.ts';

/** `OffloadedBody.result` of a pool's page. */
export interface PreparedBody {
  entries: PreparedEntry[];
  t: PrepTimings;
}

export interface PrepPoolOptions {
  /** Worker threads (0: none, every page is prepared on the sync's thread). */
  threads: number;
  /** Bodies smaller than this are parsed on the sync's thread (messaging costs more than it saves). */
  minBytes: number;
  /** A worker's old-generation heap limit, MiB (default `DEFAULT_HEAP_MIB`). */
  heapMiB?: number;
}

/**
 * A worker's old-generation limit: a safety net, not a tuning knob. Unbounded, the worker's heap
 * peaked at ~145 MiB at `large`; capped at 96 MiB the sync's peak RSS fell from ~620 to ~500 MiB
 * but the worker spent ~18 s more CPU at `large` collecting garbage (a page's objects outlive the
 * young generation and are promoted). A page that does not fit kills the worker
 * (ERR_WORKER_OUT_OF_MEMORY): that page is prepared on the sync's thread and the next one starts a
 * fresh worker.
 */
export const DEFAULT_HEAP_MIB = 256;

/** After this many worker deaths the process prepares every page on the sync's thread. */
const MAX_DEATHS = 3;

/** Bodies below 64 KiB (a few hundred records) stay on the sync's thread by default. */
export const DEFAULT_MIN_BYTES = 64 * 1024;

/**
 * Threads from `ROSTERSYNC_PREP_THREADS`; default 0 (off). Measured on this project's 2-core
 * reference machine, where the provider simulator, the sync's thread and a worker share two cores:
 * the `large` first sync on SQLite went from 60.4 s to 49.5-50.1 s in one hour and from 59.0 s to
 * 60.1 s (no gain) in another, while its peak RSS went from 368-416 to 518-641 MiB (a worker's own
 * heap and module loader), over the 512 MiB target; capping the worker's heap brought RSS to ~500 MiB
 * and took the gain away in garbage collection (docs/benchmarks.md, session 6). Not measured on a
 * machine with more cores, so not on by default.
 */
export function defaultPrepThreads(env: NodeJS.ProcessEnv = process.env): number {
  const v = env['ROSTERSYNC_PREP_THREADS'];
  if (v === undefined || v === '') return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 16) throw new Error(`ROSTERSYNC_PREP_THREADS must be an integer from 0 to 16, not ${v}`);
  return n;
}

/**
 * A worker runs the TypeScript module through tsx when this module itself runs as TypeScript (the
 * CLI, tests, benches); compiled, it imports the compiled module.
 */
const ENTRY = new URL(import.meta.url.endsWith('.ts') ? './prep-worker.ts' : './prep-worker.js', import.meta.url).href;
const TSX = import.meta.url.endsWith('.ts') ? import.meta.resolve('tsx/esm/api') : undefined;
const BOOT = `const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  await import(workerData.entry);
})().catch((err) => { setImmediate(() => { throw err; }); });`;

interface Pending {
  resolve: (r: PrepReply) => void;
  reject: (err: Error) => void;
}

class PrepThread {
  readonly worker: Worker;
  readonly pending = new Map<number, Pending>();
  /** Died, or was stopped by `stop()`. */
  dead = false;

  constructor(heapMiB: number, onDeath: (t: PrepThread) => void) {
    this.worker = new Worker(BOOT, { eval: true, workerData: { entry: ENTRY, tsx: TSX }, name: 'rostersync-prep', resourceLimits: { maxOldGenerationSizeMb: heapMiB } });
    this.worker.unref();
    this.worker.on('message', (m: PrepReply) => {
      const p = this.pending.get(m.reqId);
      if (p === undefined) return;
      this.pending.delete(m.reqId);
      if (this.pending.size === 0) this.worker.unref();
      p.resolve(m);
    });
    const die = (err: Error): void => {
      if (this.dead) return;
      this.dead = true;
      onDeath(this);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', (err) => die(new Error(`page preparation thread failed: ${err.message}`, { cause: err })));
    this.worker.on('exit', (code) => die(new Error(`page preparation thread exited (code ${code})`)));
  }

  /** Ends the thread (not counted as a death; pages in flight fail over to the sync's thread). */
  async stop(): Promise<void> {
    if (!this.dead) {
      this.dead = true;
      for (const p of this.pending.values()) p.reject(new Error('page preparation thread stopped'));
      this.pending.clear();
    }
    await this.worker.terminate();
  }

  send(m: PrepRequest): void {
    this.worker.postMessage(m);
  }

  request(reqId: number, m: PrepRequest, transfer: ArrayBuffer[]): Promise<PrepReply> {
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref(); // a page in flight keeps the process alive
      this.pending.set(reqId, { resolve, reject });
      this.worker.postMessage(m, transfer);
    });
  }
}

/** Worker threads that parse and prepare pages (see the module comment). */
export class PrepPool {
  readonly threads: number;
  readonly minBytes: number;
  readonly heapMiB: number;
  /** Pages prepared by workers; pages of dead workers prepared on the sync's thread; workers that died. */
  readonly counts = { pages: 0, fallbacks: 0, deaths: 0 };
  #workers: PrepThread[] = [];
  #nextRead = 1;
  #nextReq = 1;

  constructor(options: PrepPoolOptions) {
    this.threads = options.threads;
    this.minBytes = options.minBytes;
    this.heapMiB = options.heapMiB ?? DEFAULT_HEAP_MIB;
  }

  /**
   * The offload of one collection read, or undefined when its pages must be prepared on the sync's
   * thread (no threads, a codec without a recipe, a reference check without its sets). `close()`
   * it when the read ends.
   */
  offload(
    collection: CollectionName,
    codec: RecordCodec,
    options: { eager: boolean; cross?: CrossCheck | undefined; onFallback?: (reason: string) => void },
  ): (PageOffload & { close(): void }) | undefined {
    if (this.threads <= 0 || codec.worker === undefined) return undefined;
    const setup: ReadSetup = { collection, codec: codec.worker, eager: options.eager };
    const cross = options.eager && options.cross !== undefined && options.cross.targets.size > 0 ? options.cross : undefined;
    if (cross !== undefined) {
      const sets = cross.sets;
      if (sets === undefined || [...cross.targets].some((t) => !sets.has(t))) return undefined;
      setup.cross = [...cross.targets].map((t) => [t, [...sets.get(t)!]]);
    }
    const readId = this.#nextRead++;
    const told = new Set<PrepThread>();
    const stats = codec.stats;
    const local = { codec, eager: options.eager, cross };
    const offloaded = (b: PreparedBodyParts): OffloadedBody => ({ count: b.count, ids: b.ids, warnings: b.warnings, result: { entries: b.entries, t: b.t } satisfies PreparedBody });
    return {
      wants: (bytes) => bytes >= this.minBytes && this.counts.deaths < MAX_DEATHS,
      parse: async (raw, res): Promise<OffloadedBody> => {
        const w = this.#pick();
        if (!told.has(w)) {
          w.send({ type: 'read', readId, setup });
          told.add(w);
        }
        const reqId = this.#nextReq++;
        // A copy of exactly the body, moved to the worker (cloning a Buffer would copy the whole
        // ArrayBuffer it may share with other data); `raw` stays for the fallback.
        const body = new Uint8Array(raw);
        let reply: PrepReply;
        try {
          reply = await w.request(reqId, { type: 'parse', reqId, readId, raw: body, status: res.status, headers: res.headers, label: res.label }, [body.buffer]);
        } catch (err) {
          // The worker died (e.g. this page outgrew its heap limit): this page is prepared here.
          this.counts.fallbacks++;
          options.onFallback?.(err instanceof Error ? err.message : String(err));
          return offloaded(prepareBody(collection, raw, res, local));
        }
        if (!reply.ok) throw revive(reply.error);
        this.counts.pages++;
        if (reply.counters !== undefined && stats !== undefined) addCounters(stats, reply.counters);
        return offloaded(reply);
      },
      close: () => {
        for (const w of told) if (!w.dead) w.send({ type: 'end', readId });
      },
    };
  }

  /** The worker with the fewest pages in flight (starting workers up to `threads`). */
  #pick(): PrepThread {
    let best: PrepThread | undefined;
    for (const w of this.#workers) if (best === undefined || w.pending.size < best.pending.size) best = w;
    if (best === undefined || (best.pending.size > 0 && this.#workers.length < this.threads)) {
      best = new PrepThread(this.heapMiB, (dead) => {
        this.#workers = this.#workers.filter((w) => w !== dead);
        this.counts.deaths++;
      });
      this.#workers.push(best);
    }
    return best;
  }

  /** Stops the workers (their pages in flight are prepared on the sync's thread). */
  async close(): Promise<void> {
    const ws = this.#workers;
    this.#workers = [];
    await Promise.all(ws.map((w) => w.stop()));
  }
}

function revive(e: Extract<PrepReply, { ok: false }>['error']): Error {
  if (e.kind === 'source') {
    return new SourceError(e.code, e.message, { ...(e.status !== undefined ? { status: e.status } : {}), ...(e.path !== undefined ? { path: e.path } : {}) });
  }
  const err = new Error(e.message);
  if (e.stack !== undefined) err.stack = e.stack;
  return err;
}

let shared: PrepPool | undefined;

/** The process's pool (`defaultPrepThreads`, `DEFAULT_MIN_BYTES`), created on first use. */
export function sharedPrepPool(): PrepPool {
  shared ??= new PrepPool({ threads: defaultPrepThreads(), minBytes: DEFAULT_MIN_BYTES });
  return shared;
}
