import { pickFields, toWire } from '../oneroster/serialize.ts';
import type { StatusInfo } from '../oneroster/imsx.ts';
import type { AnyEntity, CollectionName } from '../oneroster/types.ts';
import { StoredJsonWriter, storedEntity, type StoredRecord } from './stored-json.ts';
import { ByteSink, WireJsonWriter } from './wire-json.ts';

/**
 * Builds response bodies (spec notes §3.1 envelopes) as bytes, record by record, with
 * `WireJsonWriter` (see there for the measurements behind it).
 *
 * Page buffers are pooled: a fresh multi-megabyte buffer per page costs page faults and GC
 * pressure on every request, so the handler returns the buffer through `release()` once the
 * response has been flushed, and the next page reuses its (already mapped) memory.
 */

/** Writers are per base URL (hrefs embed it); a server sees one or two, keep a few. */
const MAX_WRITERS = 8;
/** Free page buffers kept for reuse. */
const MAX_POOLED = 4;
/** Buffers larger than this are not pooled (a one-off huge page should not pin memory). */
const MAX_POOLED_BYTES = 64 * 1024 * 1024;

export interface PageBody {
  /** The response bytes: a view of a pooled buffer, valid until `release` is called. */
  body: Buffer;
  /** Returns the buffer to the pool; call once the response is fully written or aborted. Idempotent. */
  release: () => void;
}

export class PageSerializer {
  readonly #writers = new Map<string, WireJsonWriter>();
  readonly #storedWriters = new Map<string, StoredJsonWriter>();
  readonly #pool: Buffer[] = [];

  #writer(baseUrl: string): WireJsonWriter {
    let w = this.#writers.get(baseUrl);
    if (!w) {
      if (this.#writers.size >= MAX_WRITERS) this.#writers.delete(this.#writers.keys().next().value as string);
      w = new WireJsonWriter(baseUrl);
      this.#writers.set(baseUrl, w);
    }
    return w;
  }

  #storedWriter(baseUrl: string): StoredJsonWriter {
    let w = this.#storedWriters.get(baseUrl);
    if (!w) {
      if (this.#storedWriters.size >= MAX_WRITERS) this.#storedWriters.delete(this.#storedWriters.keys().next().value as string);
      w = new StoredJsonWriter(baseUrl);
      this.#storedWriters.set(baseUrl, w);
    }
    return w;
  }

  #acquire(estimate: number): Buffer {
    for (let i = 0; i < this.#pool.length; i++) {
      const b = this.#pool[i] as Buffer;
      if (b.length >= estimate) {
        this.#pool.splice(i, 1);
        return b;
      }
    }
    // Too small ones are replaced by what this request grows into.
    return Buffer.allocUnsafe(Math.max(estimate, 64 * 1024));
  }

  #giveBack(b: Buffer): void {
    if (b.length > MAX_POOLED_BYTES) return;
    if (this.#pool.length >= MAX_POOLED) {
      // keep the biggest buffers
      let smallest = 0;
      for (let i = 1; i < this.#pool.length; i++) if ((this.#pool[i] as Buffer).length < (this.#pool[smallest] as Buffer).length) smallest = i;
      if ((this.#pool[smallest] as Buffer).length >= b.length) return;
      this.#pool.splice(smallest, 1);
    }
    this.#pool.push(b);
  }

  /** JSON text of one record on the wire (1.1 shape with hrefs), optionally projected to `fields` (§2.2). */
  recordJson(collection: CollectionName, record: AnyEntity, baseUrl: string, fields?: readonly string[]): string {
    if (fields !== undefined) return JSON.stringify(pickFields(toWire(collection, record, baseUrl), fields));
    return this.#writer(baseUrl).record(collection, record);
  }

  /** `{"<wrapper>":[...],"statusInfoSet":[...]?}` as UTF-8 bytes in a pooled buffer. */
  collectionBody(
    wrapper: string,
    collection: CollectionName,
    records: readonly AnyEntity[],
    baseUrl: string,
    options: { fields?: readonly string[] | undefined; warnings?: readonly StatusInfo[] } = {},
  ): PageBody {
    const writer = this.#writer(baseUrl);
    return this.#page(wrapper, records.length * 600 + 256, options.warnings, (sink) => {
      for (let i = 0; i < records.length; i++) {
        if (i > 0) sink.byte(0x2c);
        const record = records[i] as AnyEntity;
        if (options.fields !== undefined) sink.text(JSON.stringify(pickFields(toWire(collection, record, baseUrl), options.fields)));
        else writer.write(sink, collection, record);
      }
    });
  }

  /**
   * `collectionBody` for records held as stored canonical JSON (a store-backed dataset): written
   * from the text without parsing it (stored-json.ts), unless `fields` asks for a projection.
   */
  storedCollectionBody(
    wrapper: string,
    collection: CollectionName,
    stored: readonly StoredRecord[],
    baseUrl: string,
    options: { fields?: readonly string[] | undefined; warnings?: readonly StatusInfo[] } = {},
  ): PageBody {
    if (options.fields !== undefined) return this.collectionBody(wrapper, collection, stored.map(storedEntity), baseUrl, options);
    const writer = this.#storedWriter(baseUrl);
    let estimate = 256;
    for (const r of stored) estimate += r.json.length + 256;
    return this.#page(wrapper, estimate, options.warnings, (sink) => writer.writeList(sink, collection, stored));
  }

  #page(wrapper: string, estimate: number, warnings: readonly StatusInfo[] | undefined, writeList: (sink: ByteSink) => void): PageBody {
    const sink = new ByteSink(this.#acquire(estimate));
    sink.text(`{${JSON.stringify(wrapper)}:[`);
    writeList(sink);
    sink.byte(0x5d);
    if (warnings && warnings.length > 0) sink.text(`,"statusInfoSet":${JSON.stringify(warnings)}`);
    sink.byte(0x7d);
    let released = false;
    return {
      body: sink.view(),
      release: () => {
        if (released) return;
        released = true;
        this.#giveBack(sink.buf);
      },
    };
  }

  /** `{"<wrapper>":{...},"statusInfoSet":[...]?}` */
  singleBody(
    wrapper: string,
    collection: CollectionName,
    record: AnyEntity,
    baseUrl: string,
    options: { fields?: readonly string[] | undefined; warnings?: readonly StatusInfo[] } = {},
  ): string {
    const json = this.recordJson(collection, record, baseUrl, options.fields);
    const warnings = options.warnings && options.warnings.length > 0 ? `,"statusInfoSet":${JSON.stringify(options.warnings)}` : '';
    return `{${JSON.stringify(wrapper)}:${json}${warnings}}`;
  }
}
