/**
 * Downstream API clients of the re-served OneRoster API (issue 6, migration 0004): who may read
 * which connection's roster, with which OneRoster scopes.
 *
 * - The secret is generated here and returned once by `create`/`rotate` (the CLI prints it once).
 *   The store keeps a scrypt hash (`secret-hash.ts`); OAuth 1.0a clients (`oauth1: true`) also keep
 *   the secret sealed with the store's SecretBox, because checking an HMAC signature needs it.
 *   No read returns either.
 * - A client belongs to exactly one connection (and that connection's tenant): the server serves it
 *   that connection's data and nothing else.
 * - Revoking keeps the row (who had access, until when); a revoked client can neither get tokens
 *   nor use ones it already holds (the server checks the client on every request).
 */
import { randomBytes } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { StoreError, isUniqueViolation } from './errors.ts';
import type { ApiClientTable, Database } from './schema.ts';
import type { SecretBox } from './secret-box.ts';
import { hashSecret, verifyDummy, verifySecret } from './secret-hash.ts';

/** The scopes an API client can hold, by short name (mapped to OneRoster scope URIs by `serve/`). */
export const API_SCOPES = ['roster-core', 'roster', 'demographics'] as const;
export type ApiScope = (typeof API_SCOPES)[number];

/** An API client as returned to callers: never carries the secret or its hash. */
export interface ApiClient {
  id: string;
  tenantId: string;
  connectionId: string;
  name: string;
  /** Public: the OAuth 2 client id / OAuth 1.0a consumer key. */
  clientId: string;
  scopes: ApiScope[];
  /** The client may also sign requests with OAuth 1.0a (its secret is kept sealed). */
  oauth1: boolean;
  createdAt: string;
  rotatedAt?: string;
  revokedAt?: string;
  lastUsedAt?: string;
}

export interface ApiClientInput {
  connectionId: string;
  name: string;
  scopes: readonly string[];
  /** Allow OAuth 1.0a signatures too (needs the store's secret key). Default false. */
  oauth1?: boolean;
}

/** A client with its freshly generated secret: the only time the secret is available. */
export interface IssuedClient {
  client: ApiClient;
  clientSecret: string;
}

function toClient(r: Selectable<ApiClientTable>): ApiClient {
  const c: ApiClient = {
    id: r.id,
    tenantId: r.tenant_id,
    connectionId: r.connection_id,
    name: r.name,
    clientId: r.client_id,
    scopes: JSON.parse(r.scopes) as ApiScope[],
    oauth1: r.secret_ciphertext !== null,
    createdAt: r.created_at,
  };
  if (r.rotated_at !== null) c.rotatedAt = r.rotated_at;
  if (r.revoked_at !== null) c.revokedAt = r.revoked_at;
  if (r.last_used_at !== null) c.lastUsedAt = r.last_used_at;
  return c;
}

/**
 * Parses scope names (`roster-core,roster` or a list), de-duplicated in `API_SCOPES` order.
 * @throws StoreError `invalid_input` for an unknown name or an empty list.
 */
export function parseApiScopes(scopes: string | readonly string[]): ApiScope[] {
  const list = (typeof scopes === 'string' ? scopes.split(',') : [...scopes]).map((s) => s.trim()).filter((s) => s !== '');
  for (const s of list) {
    if (!(API_SCOPES as readonly string[]).includes(s)) {
      throw new StoreError('invalid_input', `unknown scope "${s.slice(0, 40)}"; use ${API_SCOPES.join(', ')}`);
    }
  }
  if (list.length === 0) throw new StoreError('invalid_input', `at least one scope is required (${API_SCOPES.join(', ')})`);
  return API_SCOPES.filter((s) => list.includes(s));
}

/** A new secret: 32 random bytes, base64url (43 characters, no padding). */
function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Creates, reads, authenticates, rotates and revokes API clients. */
export class ApiClientRepository {
  readonly #db: Kysely<Database>;
  readonly #box: SecretBox | undefined;

  constructor(db: Kysely<Database>, box: SecretBox | undefined) {
    this.#db = db;
    this.#box = box;
  }

  /**
   * The key bearer tokens of the re-served API are signed with (derived from the store's secret
   * key, so every node configured with that key accepts them), or undefined without a key.
   */
  tokenSigningKey(): Buffer | undefined {
    return this.#box?.derive('api-client-bearer-tokens-v1');
  }

  #seal(secret: string, id: string): string {
    if (!this.#box) throw new StoreError('secret_key_missing', 'open the store with a secret key to store OAuth 1.0a client secrets');
    return this.#box.seal(secret, `api-client:${id}`);
  }

  /**
   * Creates a client of a connection (in the connection's tenant) and returns it with its secret.
   * @throws StoreError `not_found` (connection) | `invalid_input` (name, scopes) | `secret_key_missing` (oauth1).
   */
  async create(input: ApiClientInput): Promise<IssuedClient> {
    const name = input.name.trim();
    if (name === '' || name.length > 200) throw new StoreError('invalid_input', 'an API client needs a name of 1 to 200 characters');
    const scopes = parseApiScopes(input.scopes);
    const conn = await this.#db.selectFrom('connections').select(['id', 'tenant_id']).where('id', '=', input.connectionId).executeTakeFirst();
    if (!conn) throw new StoreError('not_found', `connection ${input.connectionId} does not exist`);
    const id = `k${randomBytes(5).toString('hex')}`;
    const clientSecret = newSecret();
    const row = {
      id,
      tenant_id: conn.tenant_id,
      connection_id: conn.id,
      name,
      // Public, but unguessable: a client id is also the OAuth 1.0a consumer key.
      client_id: `rsc_${randomBytes(12).toString('hex')}`,
      secret_hash: await hashSecret(clientSecret),
      secret_ciphertext: input.oauth1 ? this.#seal(clientSecret, id) : null,
      scopes: JSON.stringify(scopes),
      created_at: new Date().toISOString(),
      rotated_at: null,
      revoked_at: null,
      last_used_at: null,
    };
    try {
      await this.#db.insertInto('api_clients').values(row).execute();
    } catch (err) {
      // 96 random bits make a client id collision practically impossible; say so if it happens.
      if (isUniqueViolation(err)) throw new StoreError('already_exists', `API client id ${row.client_id} already exists; try again`, { cause: err });
      throw err;
    }
    return { client: toClient(row), clientSecret };
  }

  /** One client by row id or by client id (revoked ones included), or undefined. */
  async get(idOrClientId: string): Promise<ApiClient | undefined> {
    const r = await this.#db
      .selectFrom('api_clients')
      .selectAll()
      .where((eb) => eb.or([eb('id', '=', idOrClientId), eb('client_id', '=', idOrClientId)]))
      .executeTakeFirst();
    return r && toClient(r);
  }

  /** Clients, by tenant, connection and name; revoked ones only with `includeRevoked`. */
  async list(filter: { tenantId?: string; connectionId?: string; includeRevoked?: boolean } = {}): Promise<ApiClient[]> {
    let q = this.#db.selectFrom('api_clients').selectAll();
    if (filter.tenantId !== undefined) q = q.where('tenant_id', '=', filter.tenantId);
    if (filter.connectionId !== undefined) q = q.where('connection_id', '=', filter.connectionId);
    if (!filter.includeRevoked) q = q.where('revoked_at', 'is', null);
    const rows = await q.orderBy('tenant_id').orderBy('connection_id').orderBy('name').orderBy('created_at').execute();
    return rows.map(toClient);
  }

  /**
   * The active (not revoked) client with this client id when `secret` is its secret; otherwise
   * undefined, after the same scrypt work (timing does not tell unknown ids from wrong secrets).
   */
  async authenticate(clientId: string, secret: string): Promise<ApiClient | undefined> {
    const r = await this.#db.selectFrom('api_clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();
    if (!r || r.revoked_at !== null) {
      await verifyDummy(secret);
      return undefined;
    }
    return (await verifySecret(secret, r.secret_hash)) ? toClient(r) : undefined;
  }

  /**
   * An active OAuth 1.0a client and its unsealed secret, for checking a signature; undefined when
   * the client id is unknown, revoked, or not an OAuth 1.0a client.
   * @throws StoreError `secret_key_missing` | `secret_unreadable`.
   */
  async oauth1Secret(clientId: string): Promise<{ client: ApiClient; secret: string } | undefined> {
    const r = await this.#db.selectFrom('api_clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();
    if (!r || r.revoked_at !== null || r.secret_ciphertext === null) return undefined;
    if (!this.#box) throw new StoreError('secret_key_missing', 'open the store with a secret key to check OAuth 1.0a signatures');
    return { client: toClient(r), secret: this.#box.open(r.secret_ciphertext, `api-client:${r.id}`) };
  }

  /** Revokes a client (idempotent: an already revoked client keeps its first revocation time). @throws StoreError `not_found`. */
  async revoke(idOrClientId: string, now: Date = new Date()): Promise<ApiClient> {
    const c = await this.get(idOrClientId);
    if (!c) throw new StoreError('not_found', `API client ${idOrClientId.slice(0, 80)} does not exist`);
    if (c.revokedAt === undefined) {
      await this.#db.updateTable('api_clients').set({ revoked_at: now.toISOString() }).where('id', '=', c.id).where('revoked_at', 'is', null).execute();
    }
    return (await this.get(c.id))!;
  }

  /**
   * Replaces a client's secret (the old one stops working at once; tokens already issued stay valid
   * until they expire) and returns the new one.
   * @throws StoreError `not_found` | `invalid_input` (revoked) | `secret_key_missing` (oauth1).
   */
  async rotate(idOrClientId: string, now: Date = new Date()): Promise<IssuedClient> {
    const c = await this.get(idOrClientId);
    if (!c) throw new StoreError('not_found', `API client ${idOrClientId.slice(0, 80)} does not exist`);
    if (c.revokedAt !== undefined) throw new StoreError('invalid_input', `API client ${c.clientId} is revoked; add a new one instead`);
    const clientSecret = newSecret();
    const res = await this.#db
      .updateTable('api_clients')
      .set({
        secret_hash: await hashSecret(clientSecret),
        secret_ciphertext: c.oauth1 ? this.#seal(clientSecret, c.id) : null,
        rotated_at: now.toISOString(),
      })
      .where('id', '=', c.id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw new StoreError('invalid_input', `API client ${c.clientId} was revoked meanwhile`);
    return { client: (await this.get(c.id))!, clientSecret };
  }

  /** Records that a client used the API (callers throttle this; it is a write). */
  async touch(id: string, at: Date = new Date()): Promise<void> {
    await this.#db.updateTable('api_clients').set({ last_used_at: at.toISOString() }).where('id', '=', id).execute();
  }
}
