/**
 * Webhook subscribers (issue 6 "Webhooks", migration 0005): who receives change events, which,
 * with what signing secret, and where each one's delivery stands.
 *
 * - The signing secret is generated here, returned once by `create` (the CLI prints it once), and
 *   stored sealed with the store's SecretBox (the row id as associated data, as for connection
 *   secrets). Reads never carry it; only `secret(id)` opens it, for the delivery composition root.
 * - Delivery state is what `webhook-delivery.ts`'s SubscriberStore port needs: the seq of the last
 *   acknowledged event, consecutive failures (reset by a success), the last failure's reason, and
 *   the disable reason. The cursor only moves forward, so two deliverers racing (a scheduled run
 *   and a manual `webhook deliver`) can duplicate a batch (at-least-once allows that) but never
 *   move a cursor back.
 */
import { randomBytes } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import { COLLECTIONS } from '../oneroster/types.ts';
import { ChangeRepository } from './change-repository.ts';
import { StoreError } from './errors.ts';
import type { Database, WebhookSubscriberTable } from './schema.ts';
import type { SecretBox } from './secret-box.ts';
import { DEFAULT_TENANT_ID } from './tenant-repository.ts';

/** A subscriber as returned to callers: never carries the secret. */
export interface WebhookSubscriber {
  id: string;
  tenantId: string;
  /** Absent: every connection of the tenant. */
  connectionId?: string;
  url: string;
  /** Absent: every collection. */
  entities?: string[];
  /** Seq of the last acknowledged event (absent: none acknowledged yet). */
  cursorSeq?: number;
  consecutiveFailures: number;
  lastError?: string;
  lastFailureAt?: string;
  disabledAt?: string;
  disabledReason?: string;
  createdAt: string;
  lastDeliveryAt?: string;
}

export interface WebhookSubscriberInput {
  tenantId?: string;
  connectionId?: string;
  url: string;
  entities?: readonly string[];
  /** Where delivery starts (seq of the last event *not* to send). Default: the current head, i.e. only changes applied from now on. */
  startSeq?: number;
}

function toSubscriber(r: Selectable<WebhookSubscriberTable>): WebhookSubscriber {
  const s: WebhookSubscriber = {
    id: r.id,
    tenantId: r.tenant_id,
    url: r.url,
    consecutiveFailures: Number(r.consecutive_failures),
    createdAt: r.created_at,
  };
  if (r.connection_id !== null) s.connectionId = r.connection_id;
  if (r.entities !== null) s.entities = JSON.parse(r.entities) as string[];
  if (r.cursor_seq !== null) s.cursorSeq = Number(r.cursor_seq);
  if (r.last_error !== null) s.lastError = r.last_error;
  if (r.last_failure_at !== null) s.lastFailureAt = r.last_failure_at;
  if (r.disabled_at !== null) s.disabledAt = r.disabled_at;
  if (r.disabled_reason !== null) s.disabledReason = r.disabled_reason;
  if (r.last_delivery_at !== null) s.lastDeliveryAt = r.last_delivery_at;
  return s;
}

/**
 * Checks a receiver URL: absolute http(s), no credentials in it (they would be stored and shown in
 * clear; receivers authenticate us by the signature instead). Returns the normalised URL.
 * @throws StoreError `invalid_input`.
 */
export function checkWebhookUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new StoreError('invalid_input', `webhook URL "${url}" is not an absolute URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new StoreError('invalid_input', `webhook URL must be http or https, got ${u.protocol}`);
  if (u.username !== '' || u.password !== '') throw new StoreError('invalid_input', 'webhook URL must not carry credentials; receivers verify the Rostersync-Signature header instead');
  return u.toString();
}

/** Creates, reads and updates webhook subscribers and their delivery state. */
export class WebhookRepository {
  readonly #db: Kysely<Database>;
  readonly #box: SecretBox | undefined;

  constructor(db: Kysely<Database>, box: SecretBox | undefined) {
    this.#db = db;
    this.#box = box;
  }

  /**
   * Adds a subscriber and generates its signing secret, returned here and never again.
   * @throws StoreError `invalid_input` (URL, entities) | `not_found` (tenant, connection) | `secret_key_missing`.
   */
  async create(input: WebhookSubscriberInput, now: Date = new Date()): Promise<{ subscriber: WebhookSubscriber; secret: string }> {
    if (!this.#box) throw new StoreError('secret_key_missing', 'open the store with a secret key to store webhook signing secrets');
    const url = checkWebhookUrl(input.url);
    const tenantId = input.tenantId ?? DEFAULT_TENANT_ID;
    const tenant = await this.#db.selectFrom('tenants').select('id').where('id', '=', tenantId).executeTakeFirst();
    if (!tenant) throw new StoreError('not_found', `tenant ${tenantId} does not exist`);
    if (input.connectionId !== undefined) {
      const c = await this.#db.selectFrom('connections').select('tenant_id').where('id', '=', input.connectionId).executeTakeFirst();
      if (!c || c.tenant_id !== tenantId) throw new StoreError('not_found', `connection ${input.connectionId} does not exist in tenant ${tenantId}`);
    }
    let entities: string[] | null = null;
    if (input.entities !== undefined && input.entities.length > 0) {
      const unknown = input.entities.filter((e) => !(COLLECTIONS as readonly string[]).includes(e));
      if (unknown.length > 0) throw new StoreError('invalid_input', `unknown entities: ${unknown.join(', ')} (known: ${COLLECTIONS.join(', ')})`);
      entities = [...new Set(input.entities)];
    }
    const id = `wh${randomBytes(5).toString('hex')}`;
    const secret = `whsec_${randomBytes(24).toString('base64url')}`;
    const startSeq = input.startSeq ?? (await new ChangeRepository(this.#db).headSeq());
    const row = {
      id,
      tenant_id: tenantId,
      connection_id: input.connectionId ?? null,
      url,
      entities: entities === null ? null : JSON.stringify(entities),
      secret_ciphertext: this.#box.seal(secret, `webhook:${id}`),
      cursor_seq: startSeq,
      last_error: null,
      last_failure_at: null,
      disabled_at: null,
      disabled_reason: null,
      created_at: now.toISOString(),
      last_delivery_at: null,
    };
    await this.#db.insertInto('webhook_subscribers').values(row).execute();
    return { subscriber: toSubscriber({ ...row, consecutive_failures: 0 }), secret };
  }

  /** One subscriber (without its secret), or undefined. */
  async get(id: string): Promise<WebhookSubscriber | undefined> {
    const r = await this.#db.selectFrom('webhook_subscribers').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toSubscriber(r);
  }

  /**
   * Subscribers by creation time. `connectionId` selects those receiving that connection's events
   * (its own and its tenant's all-connection subscribers); `enabledOnly` leaves disabled ones out.
   */
  async list(filter: { tenantId?: string; connectionId?: string; enabledOnly?: boolean } = {}): Promise<WebhookSubscriber[]> {
    let q = this.#db.selectFrom('webhook_subscribers').selectAll();
    if (filter.tenantId !== undefined) q = q.where('tenant_id', '=', filter.tenantId);
    if (filter.connectionId !== undefined) {
      const c = await this.#db.selectFrom('connections').select('tenant_id').where('id', '=', filter.connectionId).executeTakeFirst();
      if (!c) return [];
      const connectionId = filter.connectionId;
      q = q.where('tenant_id', '=', c.tenant_id).where((eb) => eb.or([eb('connection_id', 'is', null), eb('connection_id', '=', connectionId)]));
    }
    if (filter.enabledOnly) q = q.where('disabled_at', 'is', null);
    const rows = await q.orderBy('created_at').orderBy('id').execute();
    return rows.map(toSubscriber);
  }

  /** Deletes a subscriber. Returns whether it existed. */
  async remove(id: string): Promise<boolean> {
    const res = await this.#db.deleteFrom('webhook_subscribers').where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /** The decrypted signing secret. @throws StoreError `not_found` | `secret_key_missing` | `secret_unreadable`. */
  async secret(id: string): Promise<string> {
    const r = await this.#db.selectFrom('webhook_subscribers').select('secret_ciphertext').where('id', '=', id).executeTakeFirst();
    if (!r) throw new StoreError('not_found', `webhook ${id} does not exist`);
    if (!this.#box) throw new StoreError('secret_key_missing', 'open the store with a secret key to read webhook signing secrets');
    return this.#box.open(r.secret_ciphertext, `webhook:${id}`);
  }

  /** Seq of the last acknowledged event, or undefined. */
  async cursor(id: string): Promise<number | undefined> {
    const r = await this.#db.selectFrom('webhook_subscribers').select('cursor_seq').where('id', '=', id).executeTakeFirst();
    return r?.cursor_seq === null || r?.cursor_seq === undefined ? undefined : Number(r.cursor_seq);
  }

  /** Records an acknowledged batch ending at `seq`: the cursor moves forward (never back), failures reset. */
  async advance(id: string, seq: number, now: Date = new Date()): Promise<void> {
    await this.#db
      .updateTable('webhook_subscribers')
      .set({
        cursor_seq: sql<number>`case when cursor_seq is null or cursor_seq < ${seq} then ${seq} else cursor_seq end`,
        consecutive_failures: 0,
        last_delivery_at: now.toISOString(),
      })
      .where('id', '=', id)
      .execute();
  }

  /**
   * Moves the cursor forward over history with nothing for this subscriber (never back; failures
   * and delivery time untouched), so a narrow subscriber's cursor does not fall out of retention
   * while other collections change.
   */
  async skipTo(id: string, seq: number): Promise<void> {
    await this.#db
      .updateTable('webhook_subscribers')
      .set({ cursor_seq: sql<number>`case when cursor_seq is null or cursor_seq < ${seq} then ${seq} else cursor_seq end` })
      .where('id', '=', id)
      .execute();
  }

  /** Records a failed attempt; returns the consecutive failures including this one. */
  async recordFailure(id: string, reason: string, now: Date = new Date()): Promise<number> {
    const r = await this.#db
      .updateTable('webhook_subscribers')
      .set((eb) => ({ consecutive_failures: eb('consecutive_failures', '+', 1), last_error: reason, last_failure_at: now.toISOString() }))
      .where('id', '=', id)
      .returning('consecutive_failures')
      .executeTakeFirst();
    if (!r) throw new StoreError('not_found', `webhook ${id} does not exist`);
    return Number(r.consecutive_failures);
  }

  /** Disables a subscriber with a reason an admin can read. */
  async disable(id: string, reason: string, now: Date = new Date()): Promise<void> {
    await this.#db.updateTable('webhook_subscribers').set({ disabled_at: now.toISOString(), disabled_reason: reason }).where('id', '=', id).execute();
  }

  /**
   * Re-enables a subscriber: clears the disable reason and the failure count. `cursorSeq` moves its
   * cursor (used when the old one fell out of the retained history).
   * @throws StoreError `not_found`.
   */
  async enable(id: string, options: { cursorSeq?: number } = {}): Promise<WebhookSubscriber> {
    const res = await this.#db
      .updateTable('webhook_subscribers')
      .set({
        disabled_at: null,
        disabled_reason: null,
        consecutive_failures: 0,
        ...(options.cursorSeq !== undefined ? { cursor_seq: options.cursorSeq } : {}),
      })
      .where('id', '=', id)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw new StoreError('not_found', `webhook ${id} does not exist`);
    return (await this.get(id))!;
  }
}
