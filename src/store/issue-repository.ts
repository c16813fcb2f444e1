/**
 * Per-run data issues (the rows of a run's error report). Each row is a `DataIssue`
 * (oneroster/issues.ts): rule code, entity, sourcedId, field, and a message that names the rule,
 * never the person. `seq` keeps the order the sync found them in.
 */
import type { Kysely } from 'kysely';
import type { DataIssue, Severity } from '../oneroster/issues.ts';
import type { Database } from './schema.ts';

/** Rows per INSERT: 9 parameters each stays far below SQLite's 32,766 and PG's 65,535 limits. */
const CHUNK = 200;

export interface StoredIssue extends DataIssue {
  runId: number;
  seq: number;
}

/** Appends and lists the issues of runs. */
export class IssueRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Appends issues numbered from `firstSeq` on. */
  async add(runId: number, firstSeq: number, issues: readonly DataIssue[], db: Kysely<Database> = this.#db): Promise<void> {
    for (let i = 0; i < issues.length; i += CHUNK) {
      const rows = issues.slice(i, i + CHUNK).map((d, j) => ({
        run_id: runId,
        seq: firstSeq + i + j,
        severity: d.severity,
        rule: d.rule,
        entity: d.entity,
        sourced_id: d.sourcedId ?? null,
        field: d.field ?? null,
        value: d.value ?? null,
        message: d.message,
      }));
      await db.insertInto('run_issues').values(rows).execute();
    }
  }

  /** Issues of a run in the order found. `limit` defaults to 100 (max 10,000). */
  async list(
    runId: number,
    options: { limit?: number; offset?: number; severity?: Severity; entity?: string; rule?: string } = {},
  ): Promise<StoredIssue[]> {
    let q = this.#db.selectFrom('run_issues').selectAll().where('run_id', '=', runId);
    if (options.severity !== undefined) q = q.where('severity', '=', options.severity);
    if (options.entity !== undefined) q = q.where('entity', '=', options.entity);
    if (options.rule !== undefined) q = q.where('rule', '=', options.rule);
    const limit = Math.max(1, Math.min(options.limit ?? 100, 10_000));
    const rows = await q.orderBy('seq').limit(limit).offset(Math.max(0, options.offset ?? 0)).execute();
    return rows.map((r) => {
      const issue: StoredIssue = { runId: r.run_id, seq: r.seq, severity: r.severity as Severity, rule: r.rule, entity: r.entity, message: r.message };
      if (r.sourced_id !== null) issue.sourcedId = r.sourced_id;
      if (r.field !== null) issue.field = r.field;
      if (r.value !== null) issue.value = r.value;
      return issue;
    });
  }

  /** Deletes a run's issues numbered `fromSeq` or higher (a collection read that is restarted). */
  async deleteFrom(runId: number, fromSeq: number): Promise<void> {
    await this.#db.deleteFrom('run_issues').where('run_id', '=', runId).where('seq', '>=', fromSeq).execute();
  }

  /** Number of stored issues of a run. */
  async count(runId: number): Promise<number> {
    const r = await this.#db
      .selectFrom('run_issues')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('run_id', '=', runId)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }
}
