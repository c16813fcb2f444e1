/**
 * Leader election over a PostgreSQL session advisory lock (issue 8: "schedules fire once, not once
 * per worker"). Every `serve` node runs one; the node whose dedicated client holds the lock is the
 * leader, and only the leader runs the scheduler (which enqueues due syncs).
 *
 * The lock belongs to the client's session: when the leader process dies or its connection drops,
 * PostgreSQL releases it and a standby takes it at its next try (every `retryMs`). A leader machine
 * that vanishes without closing its connection is dropped by the server's keepalive probes, which
 * the session asks for (`LEADER_KEEPALIVE`: about 25 s). The leader checks
 * its session every `retryMs` too and steps down when the check fails. Between PostgreSQL dropping
 * a session and its process noticing, two nodes may briefly both think they lead; that is harmless
 * here, because the queue holds at most one queued or active job per connection.
 */
import pg from 'pg';
import type { SyncLogger } from '../sync/full-sync.ts';
import { errorCode } from '../error-info.ts';
import { askServerKeepalive, LEADER_KEEPALIVE } from '../store/pg-keepalive.ts';

export interface LeaderLockOptions {
  /** The store's PostgreSQL URL. */
  url: string;
  /** What is led (one lock per name). Default `scheduler`. */
  name?: string;
  /** How often a standby tries to take the lock and the leader checks its session. Default 5000 ms. */
  retryMs?: number;
  /** Called when this process becomes the leader. */
  onElected(): void | Promise<void>;
  /** Called when it stops being the leader (lost session, or `stop()`). */
  onDeposed(): void | Promise<void>;
  logger?: SyncLogger;
}


/** Tries to lead until stopped. `start()` begins at once; `stop()` releases the lock. */
export class LeaderLock {
  readonly #url: string;
  readonly #name: string;
  readonly #retryMs: number;
  readonly #opts: LeaderLockOptions;
  readonly #log: SyncLogger | undefined;
  #client: pg.Client | undefined;
  #leader = false;
  #stopped = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #ticking: Promise<void> | undefined;

  constructor(options: LeaderLockOptions) {
    this.#url = options.url;
    this.#name = options.name ?? 'scheduler';
    this.#retryMs = Math.max(100, options.retryMs ?? 5000);
    this.#opts = options;
    this.#log = options.logger;
  }

  /** True while this process holds the lock (as far as it knows). */
  get isLeader(): boolean {
    return this.#leader;
  }

  /** Starts trying to lead (idempotent). */
  start(): void {
    if (this.#stopped || this.#timer !== undefined || this.#ticking) return;
    this.#schedule(0);
  }

  /** Stops trying; a leader steps down (`onDeposed`) and releases the lock by closing its session. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#ticking;
    await this.#depose('stopped');
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#ticking = this.#tick().finally(() => {
        this.#ticking = undefined;
        this.#schedule(this.#retryMs);
      });
    }, ms);
  }

  async #tick(): Promise<void> {
    let fresh: pg.Client | undefined;
    try {
      if (this.#leader) {
        // Still our session? (A dropped connection took the lock with it.)
        await this.#client!.query('select 1');
        return;
      }
      if (!this.#client) {
        const client = (fresh = new pg.Client({
          connectionString: this.#url,
          application_name: `rostersync-leader-${this.#name}`,
          connectionTimeoutMillis: this.#retryMs * 2,
          // A half-open connection must not hang the check forever.
          query_timeout: this.#retryMs * 2,
          keepAlive: true,
        }));
        // Only the current session's loss deposes (an old client's late events are ignored).
        client.on('error', () => void (this.#client === client ? this.#depose('connection error') : undefined));
        client.on('end', () => void (this.#client === client ? this.#depose('connection closed') : undefined));
        await client.connect();
        // Without it a vanished leader machine keeps the lock for the server's default keepalive
        // (two hours on Linux), and no schedule fires meanwhile (pg-keepalive.ts).
        await askServerKeepalive(client, LEADER_KEEPALIVE);
        if (this.#stopped) {
          await client.end().catch(() => undefined);
          return;
        }
        this.#client = client;
        fresh = undefined;
      }
      const r = await this.#client.query<{ ok: boolean }>('select pg_try_advisory_lock(hashtext($1), hashtext($2)) as ok', ['rostersync', `leader:${this.#name}`]);
      if (r.rows[0]?.ok === true && !this.#stopped) {
        this.#leader = true;
        this.#log?.info('elected leader', { role: this.#name });
        await this.#opts.onElected();
      }
    } catch (err) {
      this.#log?.warn('leader check failed', { role: this.#name, code: errorCode(err) });
      await fresh?.end().catch(() => undefined);
      await this.#depose('check failed');
    }
  }

  async #depose(why: string): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    const was = this.#leader;
    this.#leader = false;
    // Step down before the session closes: closing it releases the lock, and a standby may be elected
    // at once; the old leader's scheduler must have stopped by then (schedules fire once).
    if (was) {
      this.#log?.info('stepped down as leader', { role: this.#name, reason: why });
      await Promise.resolve(this.#opts.onDeposed()).catch((err: unknown) => this.#log?.warn('step-down failed', { role: this.#name, code: errorCode(err) }));
    }
    if (client) await client.end().catch(() => undefined);
  }
}
