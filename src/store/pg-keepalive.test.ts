/**
 * The server-side keepalive every store and leader session asks for (pg-keepalive.ts). A vanished
 * machine cannot be simulated here without changing the server's listen addresses (that is
 * scripts/verify-vanished-client.sh), so these tests check the two things that make it work: each
 * session carries the settings, and the server's socket of the session has its keepalive timer armed
 * accordingly (read with iproute2's `ss`, as the kernel reports it), minutes and hours sooner than
 * the server's default.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import pg from 'pg';
import { LeaderLock } from '../services/leader-lock.ts';
import { keepaliveHorizonS, keepaliveSql, LEADER_KEEPALIVE, STORE_KEEPALIVE } from './pg-keepalive.ts';
import { forEachDialect } from './test-dialects.ts';

describe('keepalive policies', () => {
  it('are SET statements of whole seconds, and end a silent session within the documented times', () => {
    assert.equal(keepaliveSql(STORE_KEEPALIVE), 'set tcp_keepalives_idle = 30; set tcp_keepalives_interval = 10; set tcp_keepalives_count = 3');
    assert.equal(keepaliveHorizonS(STORE_KEEPALIVE), 60);
    assert.equal(keepaliveHorizonS(LEADER_KEEPALIVE), 25);
    assert.throws(() => keepaliveSql({ idleS: 0.5, intervalS: 1, count: 1 }), /whole seconds/);
    assert.throws(() => keepaliveSql({ idleS: 1, intervalS: 1, count: 0 }), /≥ 1/);
  });

  it('reads the timers `ss` prints', () => {
    assert.deepEqual(['119min', '2min3sec', '12sec', '8.536ms', '536ms', 'x'].map(ssTimerS), [7140, 123, 12, 8.536, 0.536, Number.NaN]);
  });
});

const run = promisify(execFile);

/** An `ss` timer (iproute2's print_ms_timer: `119min`, `2min3sec`, `12sec`, `8.536ms`, `536ms`) in seconds. */
function ssTimerS(t: string): number {
  const m = /^(?:(\d+)min)?(?:(\d+)(?:sec|\.))?(?:(\d+)ms)?$/.exec(t);
  return m ? Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0) + Number(m[3] ?? 0) / 1000 : Number.NaN;
}

/**
 * Seconds until the next keepalive probe of the server's socket towards `clientPort`, from
 * `ss -tno`; undefined when the socket shows no keepalive timer.
 */
async function serverKeepaliveS(serverPort: number, clientPort: number): Promise<number | undefined> {
  const out = (await run('ss', ['-tnoH', 'state', 'established', `( sport = :${serverPort} and dport = :${clientPort} )`])).stdout;
  const m = /timer:\(keepalive,([^,]+),/.exec(out);
  return m ? ssTimerS(m[1]!) : undefined;
}

/** `ss` can see the server's sockets only when the server runs on this machine. */
async function ssUsable(url: string): Promise<string | undefined> {
  const host = new URL(url).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') return `the PostgreSQL server (${host}) is not on this machine`;
  try {
    await run('ss', ['-V']);
    return undefined;
  } catch {
    return 'iproute2 `ss` is not installed';
  }
}

forEachDialect(
  'keepalive of PostgreSQL sessions',
  ({ it: dialectIt, freshUrl, openAt }) => {
    dialectIt('every pooled store session, in and out of transactions, asks the server to probe after 30 s of silence', async () => {
      const store = await openAt(await freshUrl());
      const show = async (db: typeof store.db): Promise<string[]> => {
        const r = await sql<{ i: string; n: string; c: string }>`select current_setting('tcp_keepalives_idle') as i,
          current_setting('tcp_keepalives_interval') as n, current_setting('tcp_keepalives_count') as c`.execute(db);
        return [r.rows[0]!.i, r.rows[0]!.n, r.rows[0]!.c];
      };
      assert.deepEqual(await show(store.db), ['30', '10', '3']);
      // A transaction holds a second pooled session meanwhile: it is set up the same way.
      const trx = await store.db.startTransaction().execute();
      try {
        const [inTrx, outside] = await Promise.all([show(trx), show(store.db)]);
        assert.deepEqual(inTrx, ['30', '10', '3']);
        assert.deepEqual(outside, ['30', '10', '3']);
      } finally {
        await trx.rollback().execute();
      }
    });

    dialectIt("the server's sockets of a store session and of the leader arm their keepalive timers within the policy, not the OS default's two hours", async (t) => {
      const url = await freshUrl();
      const skip = await ssUsable(url);
      if (skip !== undefined) {
        t.skip(skip);
        return;
      }
      const serverPort = Number(new URL(url).port || 5432);
      const store = await openAt(url);
      await sql`select set_config('application_name', 'rostersync-keepalive-store', false)`.execute(store.db);
      const lock = new LeaderLock({ url, name: 'keepalive', retryMs: 500, onElected: () => {}, onDeposed: () => {} });
      t.after(() => lock.stop());
      lock.start();
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      t.after(() => admin.end());
      const deadline = Date.now() + 15_000;
      while (!lock.isLeader && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.ok(lock.isLeader, 'the lock was taken');
      const portOf = async (app: string): Promise<number> => {
        const r = await admin.query<{ p: number }>('select client_port as p from pg_stat_activity where application_name = $1', [app]);
        assert.equal(r.rowCount, 1, `one session named ${app}`);
        return Number(r.rows[0]!.p);
      };
      // A timer shows while the session is idle; both sessions go quiet for a moment first.
      await new Promise((r) => setTimeout(r, 200));
      const storeS = await serverKeepaliveS(serverPort, await portOf('rostersync-keepalive-store'));
      const leaderS = await serverKeepaliveS(serverPort, await portOf('rostersync-leader-keepalive'));
      assert.ok(storeS !== undefined && storeS <= STORE_KEEPALIVE.idleS, `store session's next probe in ${storeS} s, at most ${STORE_KEEPALIVE.idleS}`);
      assert.ok(leaderS !== undefined && leaderS <= LEADER_KEEPALIVE.idleS, `leader session's next probe in ${leaderS} s, at most ${LEADER_KEEPALIVE.idleS}`);
    });
  },
  { dialects: ['postgres'] },
);
