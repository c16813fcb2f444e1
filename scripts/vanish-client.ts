/**
 * The client side of scripts/verify-vanished-client.sh: holds what a worker may hold when its machine
 * vanishes, through the product's own code: the scheduler's leader lock (`LeaderLock`) and an open
 * store transaction holding a lock (as an early-insert or apply transaction does). Prints `elected`
 * and `holding`, then waits until killed.
 *
 * Run: `node --import tsx scripts/vanish-client.ts postgres://…`
 */
import { sql } from 'kysely';
import { LeaderLock } from '../src/services/leader-lock.ts';
import { openStore } from '../src/store/store.ts';

const url = process.argv[2];
if (url === undefined) throw new Error('usage: vanish-client.ts <postgres URL>');
const lock = new LeaderLock({ url, name: 'vanish', retryMs: 1000, onElected: () => console.log('elected'), onDeposed: () => console.log('deposed') });
lock.start();
const store = await openStore({ url });
const trx = await store.db.startTransaction().execute();
await sql`select pg_advisory_xact_lock(4242)`.execute(trx);
console.log('holding');
setInterval(() => {}, 60_000);
