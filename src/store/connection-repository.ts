/**
 * Connections: one SIS OneRoster endpoint per row, owned by a tenant. The secret (OAuth client
 * secret or OAuth 1.0a consumer secret) is sealed with `SecretBox` and is never part of what
 * `get`/`list` return; only `getSecret` opens it, for the composition root that builds a client.
 */
import { randomBytes } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { StoreError, isUniqueViolation } from './errors.ts';
import { liveTable, type ConnectionTable, type Database } from './schema.ts';
import { COLLECTIONS } from '../oneroster/types.ts';
import type { SecretBox } from './secret-box.ts';
import { DEFAULT_TENANT_ID, ID_PATTERN } from './tenant-repository.ts';

export const AUTH_KINDS = ['oauth1', 'oauth2', 'none'] as const;
export type AuthKind = (typeof AUTH_KINDS)[number];

export interface ConnectionInput {
  /** Defaults to a random `c` + 10 hex chars. Must match ID_PATTERN. */
  id?: string;
  tenantId?: string;
  name: string;
  baseUrl: string;
  authKind: AuthKind;
  /** Non-secret settings (client id, token URL, page size, optional data toggles …). */
  options?: Record<string, unknown>;
  /** Stored encrypted; requires the store to have a secret key. */
  secret?: string;
}

/** A connection as returned to callers: never carries the secret, only whether one is stored. */
export interface Connection {
  id: string;
  tenantId: string;
  name: string;
  baseUrl: string;
  authKind: AuthKind;
  options: Record<string, unknown>;
  hasSecret: boolean;
  createdAt: string;
  updatedAt: string;
}

function toConnection(r: Selectable<ConnectionTable>): Connection {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    name: r.name,
    baseUrl: r.base_url,
    authKind: r.auth_kind as AuthKind,
    options: JSON.parse(r.options) as Record<string, unknown>,
    hasSecret: r.secret_ciphertext !== null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Creates, reads, updates and deletes connections. */
export class ConnectionRepository {
  readonly #db: Kysely<Database>;
  readonly #box: SecretBox | undefined;

  constructor(db: Kysely<Database>, box: SecretBox | undefined) {
    this.#db = db;
    this.#box = box;
  }

  #seal(secret: string, id: string): string {
    if (!this.#box) throw new StoreError('secret_key_missing', 'open the store with a secret key to store connection secrets');
    return this.#box.seal(secret, `connection:${id}`);
  }

  /** Creates a connection. @throws StoreError `invalid_input` | `already_exists` | `not_found` (tenant) | `secret_key_missing`. */
  async create(input: ConnectionInput): Promise<Connection> {
    const id = input.id ?? `c${randomBytes(5).toString('hex')}`;
    if (!ID_PATTERN.test(id)) throw new StoreError('invalid_input', `connection id must match ${ID_PATTERN.source}`);
    if (!(AUTH_KINDS as readonly string[]).includes(input.authKind)) throw new StoreError('invalid_input', `auth kind must be one of ${AUTH_KINDS.join(', ')}`);
    const tenantId = input.tenantId ?? DEFAULT_TENANT_ID;
    const tenant = await this.#db.selectFrom('tenants').select('id').where('id', '=', tenantId).executeTakeFirst();
    if (!tenant) throw new StoreError('not_found', `tenant ${tenantId} does not exist`);
    const now = new Date().toISOString();
    const row = {
      id,
      tenant_id: tenantId,
      name: input.name,
      base_url: input.baseUrl,
      auth_kind: input.authKind,
      options: JSON.stringify(input.options ?? {}),
      secret_ciphertext: input.secret === undefined ? null : this.#seal(input.secret, id),
      created_at: now,
      updated_at: now,
    };
    try {
      await this.#db.insertInto('connections').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreError('already_exists', `connection ${id} or its name already exists in tenant ${tenantId}`, { cause: err });
      throw err;
    }
    return toConnection(row);
  }

  /** One connection (without its secret), or undefined. */
  async get(id: string): Promise<Connection | undefined> {
    const r = await this.#db.selectFrom('connections').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toConnection(r);
  }

  /** Connections (without secrets), by tenant then name. */
  async list(filter: { tenantId?: string } = {}): Promise<Connection[]> {
    let q = this.#db.selectFrom('connections').selectAll();
    if (filter.tenantId !== undefined) q = q.where('tenant_id', '=', filter.tenantId);
    const rows = await q.orderBy('tenant_id').orderBy('name').execute();
    return rows.map(toConnection);
  }

  /** Changes name, URL, auth kind, options, and/or the secret (`null` removes it). @throws StoreError `not_found`. */
  async update(
    id: string,
    patch: { name?: string; baseUrl?: string; authKind?: AuthKind; options?: Record<string, unknown>; secret?: string | null },
  ): Promise<Connection> {
    const set: Partial<ConnectionTable> = { updated_at: new Date().toISOString() };
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.baseUrl !== undefined) set.base_url = patch.baseUrl;
    if (patch.authKind !== undefined) set.auth_kind = patch.authKind;
    if (patch.options !== undefined) set.options = JSON.stringify(patch.options);
    if (patch.secret !== undefined) set.secret_ciphertext = patch.secret === null ? null : this.#seal(patch.secret, id);
    const res = await this.#db.updateTable('connections').set(set).where('id', '=', id).executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw new StoreError('not_found', `connection ${id} does not exist`);
    return (await this.get(id))!;
  }

  /** The decrypted secret, or undefined when none is stored. @throws StoreError `not_found` | `secret_key_missing` | `secret_unreadable`. */
  async getSecret(id: string): Promise<string | undefined> {
    const r = await this.#db.selectFrom('connections').select('secret_ciphertext').where('id', '=', id).executeTakeFirst();
    if (!r) throw new StoreError('not_found', `connection ${id} does not exist`);
    if (r.secret_ciphertext === null) return undefined;
    if (!this.#box) throw new StoreError('secret_key_missing', 'open the store with a secret key to read connection secrets');
    return this.#box.open(r.secret_ciphertext, `connection:${id}`);
  }

  /**
   * Deletes a connection with everything synced from it. Live rows and change history are deleted
   * explicitly (on PostgreSQL those bulk tables have no foreign key, migration 0008); runs and the
   * rest cascade. Returns whether it existed.
   */
  async delete(id: string): Promise<boolean> {
    return this.#db.transaction().execute(async (trx) => {
      for (const c of COLLECTIONS) await trx.deleteFrom(liveTable(c)).where('connection_id', '=', id).execute();
      await trx.deleteFrom('changes').where('connection_id', '=', id).execute();
      const res = await trx.deleteFrom('connections').where('id', '=', id).executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    });
  }
}
