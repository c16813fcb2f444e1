/**
 * Column types that differ between the dialects, shared by the migrations (kept out of
 * `migrations.ts` so the per-migration files do not import their own importer).
 *
 * SQLite output must stay byte-for-byte what migrations 0001–0003 have always produced (applied
 * SQLite files are never re-migrated), so every helper returns the plain SQLite type name there.
 */
import { sql, type ColumnDataType, type Expression } from 'kysely';
import type { StoreDialect } from '../migrations.ts';

/**
 * A column holding sourcedIds (a row's own `sourced_id`, and the references to other records).
 *
 * The sync checks and compares sourcedIds in byte (UTF-8) order (`lookupRange`, the tail absence
 * rule, keyset paging); SQLite's default BINARY collation is exactly that, but a PostgreSQL
 * database's default collation is usually linguistic (`en_US.UTF-8`: `a_b` sorts after `ab`, case
 * is folded first), which would make range queries disagree with the sync's order check and skip
 * or double-visit rows. `COLLATE "C"` is byte order on a UTF-8 database, and also the fastest to
 * compare. Reference columns get it too, so equality joins on them use the same collation as the
 * key index they join against.
 */
export function sourcedIdType(dialect: StoreDialect): ColumnDataType | Expression<unknown> {
  return dialect === 'postgres' ? sql`text collate "C"` : 'text';
}
