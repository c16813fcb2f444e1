/**
 * Server-sent events (the WHATWG `text/event-stream` format) over a fastify reply: the run
 * progress stream of the admin API. The reply is hijacked (fastify no longer touches it); the
 * stream answers 200 and writes `event:`/`data:` blocks, a comment every `keepAliveMs` so proxies
 * keep the connection open, and ends when the caller closes it or the client goes away.
 */
import type { FastifyReply } from 'fastify';

export interface SseStream {
  /** Sends one event (`data` is JSON-encoded on one line). No-op once closed. */
  send(event: string, data: unknown, id?: string): void;
  /** Ends the response. Idempotent. */
  close(): void;
  readonly closed: boolean;
  /** Called once when the stream ends (closed by us or by the client). */
  onClose(fn: () => void): void;
}

/** Every open stream of a server, so shutdown can end them (an open stream would hold `close()`). */
export class SseRegistry {
  readonly #open = new Set<SseStream>();

  /** Starts a stream on `reply`. */
  open(reply: FastifyReply, options: { keepAliveMs?: number } = {}): SseStream {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // nginx buffers responses by default; this header turns it off for this one.
      'x-accel-buffering': 'no',
    });
    raw.write(': rostersync run events\n\n');
    let closed = false;
    const listeners: Array<() => void> = [];
    const timer = setInterval(() => {
      if (!closed) raw.write(': keep-alive\n\n');
    }, options.keepAliveMs ?? 15_000);
    timer.unref();
    const end = (): void => {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      this.#open.delete(stream);
      if (!raw.writableEnded) raw.end();
      for (const fn of listeners.splice(0)) fn();
    };
    const stream: SseStream = {
      send(event, data, id) {
        if (closed) return;
        raw.write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      },
      close: end,
      get closed() {
        return closed;
      },
      onClose(fn) {
        if (closed) fn();
        else listeners.push(fn);
      },
    };
    // The response's 'close' (not the request's: that fires once a GET's empty body is read).
    raw.on('close', end);
    this.#open.add(stream);
    return stream;
  }

  /** Ends every open stream. */
  closeAll(): void {
    for (const s of [...this.#open]) s.close();
  }
}
