/**
 * PostgreSQL learns that a client machine vanished (power cut, kernel panic, a network partition:
 * no FIN, no RST) only from TCP keepalive, and the server's default is the operating system's:
 * on Linux the first probe goes out after two hours of silence. Until then the session keeps what
 * it holds, and in a scaled setup (README, "Scaled setup") that is a lot:
 * - a worker's early-insert transaction (early-inserts.ts): its uncommitted rows block the next
 *   attempt of the run, on the same keys, until the transaction's idle limit (10 min) ends it;
 * - an apply's history-order lock (apply.ts; its own idle limit is 60 s);
 * - the scheduler's leader lock (leader-lock.ts): a session advisory lock with no idle limit, so
 *   no schedule fires anywhere until the server drops the session.
 *
 * So every session the store and the leader open asks the server (per session, `SET`; the settings
 * are user-settable) to probe an idle connection sooner. Measured with a client in a network
 * namespace whose link was cut while it held a transaction lock and the leader lock (scripts/
 * verify-vanished-client.sh): both still held after 100 s without these settings; released after
 * about the policy's idle + interval × count with them.
 *
 * Keepalive covers a session the server waits on, which is where these locks sit between
 * statements. Data the server is sending when the machine vanishes is retransmitted until
 * `tcp_retries2` instead (~15 min on Linux); `tcp_user_timeout` would bound that too, but also
 * applies to a live client that is slow to read, so it is not set.
 *
 * Over a Unix socket the settings are ignored (0). Behind PgBouncer the server's peer is the
 * bouncer, whose own keepalive settings decide.
 */
import type pg from 'pg';

/** When the server gives up on a silent client: after `idleS` of silence, `count` probes `intervalS` apart. */
export interface KeepalivePolicy {
  idleS: number;
  intervalS: number;
  count: number;
}

/** Store sessions (the pool): a vanished worker's locks go within about a minute. */
export const STORE_KEEPALIVE: KeepalivePolicy = { idleS: 30, intervalS: 10, count: 3 };

/**
 * The leader's session: it queries every few seconds while alive, so probing after 10 s of
 * silence costs nothing, and a standby takes over within about 25 s of the leader vanishing.
 */
export const LEADER_KEEPALIVE: KeepalivePolicy = { idleS: 10, intervalS: 5, count: 3 };

/** Seconds from a client's last packet until the server drops its session (at most). */
export function keepaliveHorizonS(p: KeepalivePolicy): number {
  return p.idleS + p.intervalS * p.count;
}

/** The `SET` statements of a policy, as one simple query. */
export function keepaliveSql(p: KeepalivePolicy): string {
  const n = (v: number): number => {
    if (!Number.isInteger(v) || v < 1) throw new Error(`keepalive settings are whole seconds or counts ≥ 1, not ${v}`);
    return v;
  };
  return `set tcp_keepalives_idle = ${n(p.idleS)}; set tcp_keepalives_interval = ${n(p.intervalS)}; set tcp_keepalives_count = ${n(p.count)}`;
}

/**
 * Sets `policy` on the session of `client`. Await it before the client's next query (a pool's
 * `onConnect` hook does: pg is dropping queries queued behind a running one). A refusal is ignored:
 * the session keeps the server's defaults, as before.
 */
export function askServerKeepalive(client: pg.ClientBase, policy: KeepalivePolicy): Promise<void> {
  return client.query(keepaliveSql(policy)).then(
    () => undefined,
    () => undefined,
  );
}
