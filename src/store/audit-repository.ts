/**
 * The audit log of admin actions (issue 7: "who, what, when", migration 0006). Append-only from
 * the application's side; read newest first with keyset paging on `seq`.
 *
 * What goes in: the acting account's username (`actor`; `system` for the server itself), the tenant
 * the action concerns (absent: installation-wide), a dotted action name (`connection.create`), the
 * target's id, and details as JSON with ids and settings. Never secrets, passwords, tokens or
 * student data: callers build `details` from a whitelist of fields.
 */
import type { Kysely, Selectable } from 'kysely';
import type { Database } from './schema.ts';

type AuditLogTable = {
  seq: number;
  at: string;
  actor: string;
  tenant_id: string | null;
  action: string;
  target: string | null;
  details: string | null;
};

// A type alias, not an interface: `withTables` needs an index-signature-compatible shape.
export type AuditTables = { audit_log: AuditLogTable };

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  tenantId?: string;
  action: string;
  target?: string;
  details?: Record<string, unknown>;
}

export interface AuditInput {
  actor: string;
  tenantId?: string;
  action: string;
  target?: string;
  details?: Record<string, unknown>;
}

function toEntry(r: Selectable<AuditLogTable>): AuditEntry {
  const e: AuditEntry = { seq: Number(r.seq), at: r.at, actor: r.actor, action: r.action };
  if (r.tenant_id !== null) e.tenantId = r.tenant_id;
  if (r.target !== null) e.target = r.target;
  if (r.details !== null) e.details = JSON.parse(r.details) as Record<string, unknown>;
  return e;
}

/** Appends to and reads the audit log. */
export class AuditRepository {
  readonly #db: Kysely<Database & AuditTables>;

  constructor(db: Kysely<Database>) {
    this.#db = db.withTables<AuditTables>();
  }

  /** Appends one entry and returns it. */
  async append(input: AuditInput, now: Date = new Date()): Promise<AuditEntry> {
    const row = {
      at: now.toISOString(),
      actor: input.actor,
      tenant_id: input.tenantId ?? null,
      action: input.action,
      target: input.target ?? null,
      details: input.details === undefined ? null : JSON.stringify(input.details),
    };
    // `seq` is generated (autoincrement / bigserial).
    const r = await this.#db.insertInto('audit_log').values(row as AuditLogTable).returning('seq').executeTakeFirstOrThrow();
    return toEntry({ ...row, seq: Number(r.seq) });
  }

  /**
   * Entries newest first. `tenantId` keeps one tenant's entries (installation-wide ones excluded);
   * `beforeSeq` pages backwards. `limit` 1..1000 (default 100).
   */
  async list(filter: { tenantId?: string; action?: string; actor?: string; target?: string; beforeSeq?: number; limit?: number } = {}): Promise<AuditEntry[]> {
    let q = this.#db.selectFrom('audit_log').selectAll();
    if (filter.tenantId !== undefined) q = q.where('tenant_id', '=', filter.tenantId);
    if (filter.action !== undefined) q = q.where('action', '=', filter.action);
    if (filter.actor !== undefined) q = q.where('actor', '=', filter.actor);
    if (filter.target !== undefined) q = q.where('target', '=', filter.target);
    if (filter.beforeSeq !== undefined) q = q.where('seq', '<', filter.beforeSeq);
    const limit = Math.max(1, Math.min(Math.floor(filter.limit ?? 100), 1000));
    return (await q.orderBy('seq', 'desc').limit(limit).execute()).map(toEntry);
  }
}
