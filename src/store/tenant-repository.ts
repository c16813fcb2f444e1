/**
 * Tenants: the top-level owner of connections, runs and records. Migration 0001 creates the
 * `default` tenant for single-district use.
 */
import type { Kysely } from 'kysely';
import { StoreError, isUniqueViolation } from './errors.ts';
import type { Database } from './schema.ts';

export const DEFAULT_TENANT_ID = 'default';

/** Tenant and connection ids: short, URL- and log-safe, and cheap as an index-key prefix. */
export const ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export interface Tenant {
  id: string;
  name: string;
  createdAt: string;
}

/** Reads and creates tenants. */
export class TenantRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Every tenant, by id. */
  async list(): Promise<Tenant[]> {
    const rows = await this.#db.selectFrom('tenants').selectAll().orderBy('id').execute();
    return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at }));
  }

  /** One tenant, or undefined. */
  async get(id: string): Promise<Tenant | undefined> {
    const r = await this.#db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
    return r && { id: r.id, name: r.name, createdAt: r.created_at };
  }

  /** Creates a tenant. @throws StoreError `invalid_input` | `already_exists`. */
  async create(input: { id: string; name: string }): Promise<Tenant> {
    if (!ID_PATTERN.test(input.id)) throw new StoreError('invalid_input', `tenant id must match ${ID_PATTERN.source}`);
    const row = { id: input.id, name: input.name, created_at: new Date().toISOString() };
    try {
      await this.#db.insertInto('tenants').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreError('already_exists', `tenant ${input.id} already exists`, { cause: err });
      throw err;
    }
    return { id: row.id, name: row.name, createdAt: row.created_at };
  }
}
