/**
 * The worker-thread side of `prep-pool.ts`: parses a page body as its collection's envelope and
 * prepares its items (page-prep.ts), off the sync's thread. Pure apart from the messages: the same
 * `parseEnvelope` and `prepareItems` the sync's thread would run, with a codec rebuilt from its
 * recipe (`RecordCodec.worker`) and the reference sets the pool sent for the read.
 */
import { parentPort } from 'node:worker_threads';
import type { CollectionName } from '../oneroster/types.ts';
import { SourceError } from '../source/errors.ts';
import { prepareBody } from './page-prep.ts';
import type { PrepReply, PrepRequest, ReadSetup } from './prep-protocol.ts';
import { takeCounters, type CodecRecipe, type RecordCodec } from './record-codec.ts';
import { crossCheckOf, type CrossCheck } from './reference-check.ts';

interface Read {
  collection: CollectionName;
  codec: RecordCodec;
  eager: boolean;
  cross: CrossCheck | undefined;
}

const codecs = new Map<string, Promise<RecordCodec>>();
const reads = new Map<number, Promise<Read>>();

/** The codec a recipe builds (one per recipe: a codec's counters are taken after every page). */
function codecFor(recipe: CodecRecipe): Promise<RecordCodec> {
  const key = JSON.stringify(recipe);
  let c = codecs.get(key);
  if (c === undefined) {
    c = import(recipe.module).then((m: Record<string, unknown>) => {
      const factory = m[recipe.factory];
      if (typeof factory !== 'function') throw new Error(`codec recipe: ${recipe.factory} is not a function of ${recipe.module}`);
      return (factory as (...args: unknown[]) => RecordCodec)(...recipe.args);
    });
    codecs.set(key, c);
  }
  return c;
}

async function setup(s: ReadSetup): Promise<Read> {
  const codec = await codecFor(s.codec);
  let cross: CrossCheck | undefined;
  if (s.cross !== undefined) {
    const sets = new Map(s.cross.map(([t, ids]) => [t, new Set(ids)] as const));
    cross = crossCheckOf(new Set(sets.keys()), sets);
  }
  return { collection: s.collection, codec, eager: s.eager, cross };
}

async function parse(m: Extract<PrepRequest, { type: 'parse' }>): Promise<PrepReply> {
  const read = await reads.get(m.readId);
  if (read === undefined) throw new Error(`prep worker: no read ${m.readId}`);
  const raw = Buffer.from(m.raw.buffer, m.raw.byteOffset, m.raw.byteLength);
  const body = prepareBody(read.collection, raw, { status: m.status, headers: m.headers, label: m.label }, { codec: read.codec, eager: read.eager, cross: read.cross });
  const reply: PrepReply = { reqId: m.reqId, ok: true, ...body };
  const counters = read.codec.stats === undefined ? undefined : takeCounters(read.codec.stats);
  if (counters !== undefined) reply.counters = counters;
  return reply;
}

function failure(reqId: number, err: unknown): PrepReply {
  if (err instanceof SourceError) {
    return { reqId, ok: false, error: { kind: 'source', code: err.code, message: err.message, ...(err.status !== undefined ? { status: err.status } : {}), ...(err.path !== undefined ? { path: err.path } : {}) } };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return { reqId, ok: false, error: { kind: 'error', message: e.message, ...(e.stack !== undefined ? { stack: e.stack } : {}) } };
}

const port = parentPort;
if (port === null) throw new Error('prep-worker.ts runs in a worker thread (see prep-pool.ts)');
port.on('message', (m: PrepRequest) => {
  switch (m.type) {
    case 'read': {
      const r = setup(m.setup);
      r.catch(() => undefined); // reported by the first parse that needs it
      reads.set(m.readId, r);
      return;
    }
    case 'end':
      reads.delete(m.readId);
      return;
    case 'parse':
      parse(m).then(
        (reply) => port.postMessage(reply),
        (err: unknown) => port.postMessage(failure(m.reqId, err)),
      );
      return;
  }
});
