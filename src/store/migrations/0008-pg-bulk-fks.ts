/**
 * Migration 0008 (PostgreSQL only): drop the foreign keys from the bulk tables (`live_*`,
 * `changes`) to `connections`. Measured at `large` (issue 8): the per-row FK check cost 5.6 s of
 * the 20.6 s upsert of 1.1M enrollments and 3.6 s of the change-history insert, in the one apply
 * transaction. The rows are only ever written by the sync of an existing connection (its run row,
 * which keeps its FK, proves it exists), and `ConnectionRepository.delete` removes a connection's
 * live rows and history explicitly, so the cascade these keys gave is kept. SQLite keeps its keys:
 * there the check is cheap and the apply is not bound by it.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../migrations.ts';

const TABLES = ['live_academic_sessions', 'live_orgs', 'live_courses', 'live_classes', 'live_users', 'live_enrollments', 'live_demographics', 'changes'];

export function migration0008(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>): Promise<void> {
      if (dialect !== 'postgres') return;
      const fks = await sql<{ conname: string; tbl: string }>`
        select c.conname, t.relname as tbl from pg_constraint c
        join pg_class t on t.oid = c.conrelid join pg_class r on r.oid = c.confrelid
        where c.contype = 'f' and r.relname = 'connections' and t.relname in (${sql.join(TABLES)})`.execute(db);
      for (const fk of fks.rows) await db.schema.alterTable(fk.tbl).dropConstraint(fk.conname).execute();
    },
    async down(db: Kysely<any>): Promise<void> {
      if (dialect !== 'postgres') return;
      for (const t of TABLES) {
        await db.schema.alterTable(t).addForeignKeyConstraint(`${t}_connection_id_fkey`, ['connection_id'], 'connections', ['id'], (cb) => cb.onDelete('cascade')).execute();
      }
    },
  };
}
