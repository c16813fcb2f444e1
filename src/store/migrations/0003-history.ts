/**
 * Migration 0003 (issue 4): change history, delta cursors, holds and dry runs.
 *
 * - `changes`: every applied change (run, entity, sourcedId, kind, changed fields with before/after
 *   values), ordered by `seq` (the cursor of the events API). Rows of a held run are its *plan*
 *   (`applied = 0`): kept for review, never shown as history, deleted when the hold is discarded.
 * - `sync_cursors`: per connection and collection, the `dateLastModified` a delta sync asks from;
 *   written in the apply transaction, so it advances only with an applied run.
 * - `runs` gains: `dry_run`, `sds_status`, the hold (`hold` JSON reasons, `hold_state`
 *   pending|approved|discarded, who/when resolved, the run that applied an approval), `approval_of`
 *   (the held run an approval re-run applies), `cursor` (what a delta asked from), and `resumes`
 *   (how often a killed run was taken over and continued).
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../migrations.ts';
import { sourcedIdType } from './column-types.ts';

export function migration0003(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<any>): Promise<void> {
      let changes = db.schema.createTable('changes');
      changes =
        dialect === 'postgres'
          ? changes.addColumn('seq', 'bigserial', (c) => c.primaryKey())
          : changes.addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement());
      await changes
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('connection_id', 'text', (c) => c.notNull().references('connections.id').onDelete('cascade'))
        .addColumn('run_id', 'integer', (c) => c.notNull())
        .addColumn('entity', 'text', (c) => c.notNull())
        .addColumn('sourced_id', sourcedIdType(dialect), (c) => c.notNull())
        // created | updated | deleted | restored
        .addColumn('kind', 'text', (c) => c.notNull())
        // JSON {field: {before, after}} for updated/restored/deleted; null for created.
        .addColumn('fields', 'text')
        // 1: applied (history); 0: the plan of a held run.
        .addColumn('applied', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('changes_run').on('changes').columns(['run_id']).execute();
      await db.schema.createIndex('changes_record').on('changes').columns(['connection_id', 'entity', 'sourced_id']).execute();
      await db.schema.createIndex('changes_at').on('changes').columns(['connection_id', 'at']).execute();

      await db.schema
        .createTable('sync_cursors')
        .addColumn('connection_id', 'text', (c) => c.notNull().references('connections.id').onDelete('cascade'))
        .addColumn('collection', 'text', (c) => c.notNull())
        .addColumn('cursor', 'text', (c) => c.notNull())
        .addColumn('run_id', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('sync_cursors_pk', ['connection_id', 'collection'])
        .execute();

      const cols: Array<[string, 'text' | 'integer', boolean]> = [
        ['dry_run', 'integer', true],
        ['sds_status', 'text', false],
        ['hold', 'text', false],
        ['hold_state', 'text', false],
        ['hold_resolved_by', 'text', false],
        ['hold_resolved_at', 'text', false],
        ['approved_run', 'integer', false],
        ['approval_of', 'integer', false],
        ['cursor', 'text', false],
        ['resumes', 'integer', true],
      ];
      for (const [name, type, zero] of cols) {
        await db.schema
          .alterTable('runs')
          .addColumn(name, type, (c) => (zero ? c.notNull().defaultTo(0) : c))
          .execute();
      }
      await db.schema.createIndex('runs_holds').on('runs').columns(['hold_state']).where(sql.ref('hold_state'), '=', sql.lit('pending')).execute();
    },
    async down(db: Kysely<any>): Promise<void> {
      await db.schema.dropIndex('runs_holds').execute();
      for (const name of ['dry_run', 'sds_status', 'hold', 'hold_state', 'hold_resolved_by', 'hold_resolved_at', 'approved_run', 'approval_of', 'cursor', 'resumes']) {
        await db.schema.alterTable('runs').dropColumn(name).execute();
      }
      await db.schema.dropTable('sync_cursors').execute();
      await db.schema.dropTable('changes').execute();
    },
  };
}
