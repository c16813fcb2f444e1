/**
 * A streaming CSV writer with backpressure: rows go through csv-stringify into a file or a zip
 * entry, and the producer awaits `drain()` whenever the stringifier's buffer is full, so memory
 * stays at a few buffers whatever the file's size (DESIGN.md "Performance approach").
 *
 * Format: UTF-8 without BOM, RFC 4180 (CRLF record ends; fields quoted when they hold a comma, a
 * quote, CR or LF; quotes doubled). csv-stringify only quotes a lone LF when LF is its record
 * delimiter, so `quoted_match` forces quoting of any CR/LF (RFC 4180 §2.6).
 */
import { createWriteStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify, type Stringifier } from 'csv-stringify';
import type { ZipFile } from 'yazl';

export interface CsvSinkOptions {
  /**
   * Replace CR, LF and CRLF inside values with one space. SDS v2.1 CSV allows "no line breaks in
   * data" (sds-notes §3.4); OneRoster CSV keeps them (quoted) for a faithful round trip.
   */
  singleLine?: boolean;
  /** Aborting rejects a pending `drain()`/`close()` (the export failed elsewhere, e.g. disk full). */
  signal?: AbortSignal;
  /** Called once when the destination fails, so the caller can stop everything else at once. */
  onError?: (err: unknown) => void;
}

const LINE_BREAKS = /\r\n|\r|\n/g;

/**
 * Resolves on `event`; rejects on `error`, on `close` before the event (a destroyed stream never
 * drains), or with the signal's own reason when it aborts.
 */
function onceOrAbort(emitter: NodeJS.EventEmitter, event: string, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const cleanup = () => {
      emitter.off(event, onEvent);
      emitter.off('error', onError);
      emitter.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
    };
    const onClose = () => {
      cleanup();
      reject(new Error(`stream closed before '${event}'`));
    };
    const onEvent = () => {
      cleanup();
      resolve();
    };
    const onError = (err: unknown) => {
      cleanup();
      reject(err);
    };
    const onAbort = () => {
      cleanup();
      reject(signal!.reason);
    };
    emitter.once(event, onEvent);
    emitter.once('error', onError);
    emitter.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Replaces line breaks with a space (SDS: "no line breaks in data"). */
export function flattenLineBreaks(value: string): string {
  return value.indexOf('\n') < 0 && value.indexOf('\r') < 0 ? value : value.replace(LINE_BREAKS, ' ');
}

/** Output chunk size: csv-stringify emits one small chunk per row. */
const CHUNK_BYTES = 64 * 1024;

/**
 * Joins csv-stringify's per-row chunks into ~64 KiB buffers. Without it every row is its own write
 * into zlib (yazl deflates each chunk through the thread pool) or into the file: measured at
 * `large`, the zip export ran at ~15 k rows/s instead of several hundred thousand.
 */
class Coalesce extends Transform {
  private parts: string[] = [];
  private length = 0;

  override _transform(chunk: string | Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    this.parts.push(text);
    this.length += text.length;
    if (this.length >= CHUNK_BYTES) this.flushParts();
    cb();
  }

  override _flush(cb: TransformCallback): void {
    this.flushParts();
    cb();
  }

  private flushParts(): void {
    if (this.parts.length === 0) return;
    this.push(Buffer.from(this.parts.join(''), 'utf8'));
    this.parts = [];
    this.length = 0;
  }
}

export class CsvSink {
  /** Data rows written (the header excluded). */
  rows = 0;
  private readonly stringifier: Stringifier;
  /** What leaves the sink: the stringifier's output in large chunks. */
  private readonly output: Coalesce;
  private readonly singleLine: boolean;
  private readonly signal: AbortSignal | undefined;
  private done: Promise<void>;

  private constructor(columns: readonly string[], options: CsvSinkOptions) {
    this.singleLine = options.singleLine ?? false;
    this.signal = options.signal;
    this.stringifier = stringify({
      header: true,
      columns: [...columns],
      record_delimiter: '\r\n',
      quoted_match: /[\r\n]/,
    });
    this.output = new Coalesce();
    this.done = Promise.resolve();
  }

  /** A sink writing `path` (created or truncated). `close()` resolves once the file is flushed. */
  static toFile(path: string, columns: readonly string[], options: CsvSinkOptions = {}): CsvSink {
    const sink = new CsvSink(columns, options);
    const file = createWriteStream(path);
    sink.done = pipeline(sink.stringifier, sink.output, file, options.signal ? { signal: options.signal } : {});
    // close() observes the rejection; onError lets the caller stop at once instead of at close().
    sink.done.catch((err: unknown) => options.onError?.(err));
    return sink;
  }

  /**
   * A sink feeding a zip entry. yazl reads entries one after another, so the caller must `close()`
   * this sink before writing the next entry's rows, or the writes block (correctly) on `drain()`.
   */
  static toZip(zip: ZipFile, name: string, columns: readonly string[], options: CsvSinkOptions & { mtime?: Date; compressionLevel?: number } = {}): CsvSink {
    const sink = new CsvSink(columns, options);
    const entry: { mtime?: Date; compressionLevel?: number; compress?: boolean } = {};
    if (options.mtime) entry.mtime = options.mtime;
    if (options.compressionLevel !== undefined) {
      entry.compressionLevel = options.compressionLevel;
      entry.compress = options.compressionLevel > 0;
    }
    sink.stringifier.on('error', (err) => sink.output.destroy(err));
    sink.stringifier.pipe(sink.output);
    zip.addReadStream(sink.output, name, entry);
    sink.done = onceOrAbort(sink.output, 'end', options.signal);
    sink.done.catch((err: unknown) => options.onError?.(err));
    return sink;
  }

  /**
   * Writes one row (values in column order; `undefined` → empty). Returns false when the caller
   * should `await drain()` before writing more.
   */
  write(values: ReadonlyArray<string | undefined>): boolean {
    const row = new Array<string>(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      // String() guards against a non-string that slipped past validation (the type says string).
      const text = v === undefined || v === null ? '' : typeof v === 'string' ? v : String(v);
      row[i] = this.singleLine ? flattenLineBreaks(text) : text;
    }
    this.rows++;
    return this.stringifier.write(row);
  }

  /** Resolves when the stringifier can take more rows; rejects if the export was aborted. */
  async drain(): Promise<void> {
    if (!this.stringifier.writableNeedDrain) return;
    await onceOrAbort(this.stringifier, 'drain', this.signal);
  }

  /** Ends the file and waits until every byte reached its destination. */
  async close(): Promise<void> {
    this.stringifier.end();
    await this.done;
  }

  /**
   * Abandons the sink after a failure (no further writes) and resolves once its streams have
   * settled: a file sink's file is then closed, so removing it cannot race the file's own
   * (asynchronous) creation.
   */
  async destroy(error?: Error): Promise<void> {
    this.stringifier.destroy(error);
    this.output.destroy(error);
    await this.done.catch(() => {});
  }
}
