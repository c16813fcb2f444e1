/**
 * SQLite: a large apply (a first sync) runs with a rollback journal instead of the WAL, when no
 * other connection has the store file open. In WAL mode every new page is written twice: into the
 * WAL, then into the file by the checkpoint at commit (~1.7 GB at `large`); with a rollback journal,
 * pages past the file's old end are written once (apply 16.5 s against 25.5 s at `large`,
 * docs/benchmarks.md session 7). The commit still syncs the file, and a kill leaves a hot journal
 * that the next open rolls back.
 *
 * Leaving WAL needs the file alone: the switch asks without waiting (busy timeout 0), so the stage
 * file keeps its own journal and a process that has the store open (e.g. `serve`) keeps it in WAL
 * mode, and the apply then runs in WAL as before. While a journaled apply runs, a process that
 * opens the file waits for its busy timeout and may get "database is locked"
 * (`StoreOptions.bulkJournal: false` turns this off).
 */
import { sql, type Kysely } from 'kysely';
import type { BulkApply } from './apply.ts';
import type { Database } from './schema.ts';

/** The `BulkApply` of a SQLite store file (`openStore` gives it to `StagingArea`). */
export function rollbackJournalApply(db: Kysely<Database>): BulkApply {
  return async (apply) => {
    const journaled = await leaveWal(db);
    try {
      return await apply();
    } finally {
      // Back to WAL (waiting up to the busy timeout for a reader that opened the file meanwhile).
      // Should that fail, the store stays in rollback-journal mode until its next open sets WAL again.
      if (journaled) await journalMode(db, 'wal').catch(() => undefined);
    }
  };
}

/** The store file's journal mode after asking for `mode`. */
async function journalMode(db: Kysely<Database>, mode: 'delete' | 'wal'): Promise<string | undefined> {
  return (await sql<{ journal_mode: string }>`pragma main.journal_mode = ${sql.raw(mode)}`.execute(db)).rows[0]?.journal_mode;
}

/** A rollback journal for the next transaction, without waiting: false when another connection has the file open. */
async function leaveWal(db: Kysely<Database>): Promise<boolean> {
  const busy = (await sql<{ timeout: number }>`pragma busy_timeout`.execute(db)).rows[0]?.timeout ?? 0;
  await sql`pragma busy_timeout = 0`.execute(db);
  try {
    return (await journalMode(db, 'delete')) === 'delete';
  } catch {
    return false;
  } finally {
    await sql`pragma busy_timeout = ${sql.lit(Number(busy))}`.execute(db);
  }
}
