/**
 * Politeness limits shared by every request of one connection: a concurrency semaphore
 * (`maxConcurrency`, default 1: Infinite Campus asks for serial requests at peak, ≤ 5 off-peak) and a
 * token bucket (`requestsPerSecond`). Each HTTP attempt, retries included, takes a permit and a token.
 */
import { abortedError, type Clock } from './retry.ts';

/** Counting semaphore with FIFO waiters; `acquire` resolves to a release function (idempotent). */
export class Semaphore {
  private available: number;
  private readonly waiters: Array<{ resolve: (release: () => void) => void; reject: (e: unknown) => void; signal?: AbortSignal; onAbort?: () => void }> = [];

  constructor(readonly permits: number) {
    this.available = permits;
  }

  /** Permits currently held. */
  get inUse(): number {
    return this.permits - this.available;
  }

  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(abortedError(signal));
    if (this.available > 0) {
      this.available--;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter: (typeof this.waiters)[number] = { resolve, reject };
      if (signal !== undefined) {
        waiter.signal = signal;
        waiter.onAbort = () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(abortedError(signal));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
    });
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiters.shift();
      if (next !== undefined) {
        if (next.onAbort !== undefined) next.signal?.removeEventListener('abort', next.onAbort);
        next.resolve(this.releaser());
      } else this.available++;
    };
  }
}

/**
 * Token bucket: `rate` tokens per second, capacity `burst` (default 1, i.e. evenly spaced requests —
 * the polite choice for a school's SIS). Waiters are served in order.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly rate: number,
    private readonly clock: Clock,
    private readonly burst = 1,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
  }

  /** Resolves when a token is available (and consumes it). */
  take(signal?: AbortSignal): Promise<void> {
    const run = async (): Promise<void> => {
      for (;;) {
        if (signal?.aborted) throw abortedError(signal);
        this.refill();
        if (this.tokens >= 1) {
          this.tokens -= 1;
          return;
        }
        await this.clock.sleep(Math.ceil(((1 - this.tokens) / this.rate) * 1000), signal);
      }
    };
    const p = this.queue.then(run);
    // Keep the chain alive even if one waiter aborts.
    this.queue = p.catch(() => undefined);
    return p;
  }
}
