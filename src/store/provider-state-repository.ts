/**
 * Provider flighting and local promotion, per tenant (issue 5; sds-notes §6 and the seed's FAQ on
 * the Test status): "A provider whose SDS status is `Test` can be chosen only when the installation
 * (or tenant) is flighted for it", and it "can be promoted from Test to Yes locally after a
 * successful provider check; the promotion is recorded with who and when".
 *
 * The store only records; deciding what may be chosen is `canChoose` in `sds/toggles.ts`, which
 * takes `state(tenantId)` as its context. Tables come from migration 0002; they are typed here with
 * `withTables` so `schema.ts` need not change.
 */
import type { Kysely } from 'kysely';
import { StoreError } from './errors.ts';
import type { Database } from './schema.ts';

type ProviderFlightTable = {
  tenant_id: string;
  provider_id: string;
  flighted_by: string;
  flighted_at: string;
};

type ProviderPromotionTable = {
  tenant_id: string;
  provider_id: string;
  promoted_by: string;
  promoted_at: string;
  /** JSON `PromotionCheckSummary`. */
  check_summary: string;
};

/** The tables of migration 0002. */
// Type aliases, not interfaces: `withTables` needs an index-signature-compatible shape.
export type ProviderStateTables = {
  provider_flights: ProviderFlightTable;
  provider_promotions: ProviderPromotionTable;
};

/** What a promotion was granted on: the provider checks that ran, by id and status (no response data). */
export interface PromotionCheckSummary {
  /** The OneRoster base URL that was checked (without credentials or query). */
  baseUrl?: string;
  checks: ReadonlyArray<{ id: string; status: 'pass' | 'skip' | 'fail' }>;
}

/** Who flighted a provider, and when. */
export interface ProviderFlight {
  tenantId: string;
  providerId: string;
  by: string;
  at: string;
}

/** Who promoted a provider, when, and on which checks. */
export interface ProviderPromotion {
  tenantId: string;
  providerId: string;
  by: string;
  at: string;
  checkSummary: PromotionCheckSummary;
}

/** One provider's flight and promotion in a tenant (at least one is present). */
export interface ProviderStateEntry {
  providerId: string;
  flight?: ProviderFlight;
  promotion?: ProviderPromotion;
}

/** The shape `canChoose` / `effectiveStatus` take (`ChoiceContext` in sds/toggles.ts). */
export interface ProviderChoiceState {
  flighted: Set<string>;
  promoted: Set<string>;
}

const MAX_BY = 200;
/** Catalog slugs (`infinite-campus`); the catalog is in code, so this checks shape only. */
const PROVIDER_ID = /^[a-z0-9][a-z0-9-]{0,99}$/;

function checkIds(providerId: string, by?: string): string | undefined {
  if (!PROVIDER_ID.test(providerId)) throw new StoreError('invalid_input', `provider id must match ${PROVIDER_ID.source}`);
  if (by === undefined) return undefined;
  const who = by.trim();
  if (who === '' || who.length > MAX_BY) throw new StoreError('invalid_input', `"by" must be 1..${MAX_BY} characters`);
  return who;
}

/** Records and reads provider flights and promotions. */
export class ProviderStateRepository {
  readonly #db: Kysely<Database & ProviderStateTables>;
  readonly #now: () => Date;

  constructor(db: Kysely<Database>, now: () => Date = () => new Date()) {
    this.#db = db.withTables<ProviderStateTables>();
    this.#now = now;
  }

  async #requireTenant(tenantId: string): Promise<void> {
    const t = await this.#db.selectFrom('tenants').select('id').where('id', '=', tenantId).executeTakeFirst();
    if (!t) throw new StoreError('not_found', `tenant ${tenantId} does not exist`);
  }

  /**
   * Flights a provider for a tenant. Idempotent: flighting again keeps the first who/when
   * (`created: false`), so the record answers "since when".
   * @throws StoreError `invalid_input` | `not_found` (tenant).
   */
  async flight(providerId: string, tenantId: string, by: string): Promise<{ created: boolean; flight: ProviderFlight }> {
    const who = checkIds(providerId, by)!;
    await this.#requireTenant(tenantId);
    const row = { tenant_id: tenantId, provider_id: providerId, flighted_by: who, flighted_at: this.#now().toISOString() };
    // ON CONFLICT DO NOTHING: same statement on SQLite and PostgreSQL; no read-then-write race.
    const res = await this.#db
      .insertInto('provider_flights')
      .values(row)
      .onConflict((oc) => oc.columns(['tenant_id', 'provider_id']).doNothing())
      .executeTakeFirst();
    const created = Number(res.numInsertedOrUpdatedRows ?? 0n) > 0;
    const r = await this.#db
      .selectFrom('provider_flights')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('provider_id', '=', providerId)
      .executeTakeFirst();
    if (!r) throw new StoreError('not_found', `flight of ${providerId} was removed concurrently`);
    return { created, flight: { tenantId, providerId, by: r.flighted_by, at: r.flighted_at } };
  }

  /** Removes a tenant's flight of a provider; true when there was one. A promotion is kept. */
  async unflight(providerId: string, tenantId: string): Promise<boolean> {
    checkIds(providerId);
    const res = await this.#db
      .deleteFrom('provider_flights')
      .where('tenant_id', '=', tenantId)
      .where('provider_id', '=', providerId)
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /**
   * Records a local promotion from Test to Yes. Refuses a summary with a failed check (the
   * promotion is granted "after a successful provider check" only). Promoting again replaces the
   * record with the newer who/when/checks.
   * @throws StoreError `invalid_input` | `not_found` (tenant).
   */
  async promote(providerId: string, tenantId: string, by: string, checkSummary: PromotionCheckSummary): Promise<ProviderPromotion> {
    const who = checkIds(providerId, by)!;
    const failed = checkSummary.checks.filter((c) => c.status === 'fail').map((c) => c.id);
    if (failed.length > 0) throw new StoreError('invalid_input', `cannot promote ${providerId}: failed checks ${failed.join(', ')}`);
    if (!checkSummary.checks.some((c) => c.status === 'pass')) {
      throw new StoreError('invalid_input', `cannot promote ${providerId}: no provider check passed`);
    }
    await this.#requireTenant(tenantId);
    const summary: PromotionCheckSummary = {
      ...(checkSummary.baseUrl !== undefined ? { baseUrl: checkSummary.baseUrl } : {}),
      checks: checkSummary.checks.map((c) => ({ id: c.id, status: c.status })),
    };
    const row = { tenant_id: tenantId, provider_id: providerId, promoted_by: who, promoted_at: this.#now().toISOString(), check_summary: JSON.stringify(summary) };
    await this.#db
      .insertInto('provider_promotions')
      .values(row)
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'provider_id']).doUpdateSet({ promoted_by: row.promoted_by, promoted_at: row.promoted_at, check_summary: row.check_summary }),
      )
      .execute();
    return { tenantId, providerId, by: who, at: row.promoted_at, checkSummary: summary };
  }

  /** The flighted and promoted provider ids of a tenant, as `canChoose` takes them. */
  async state(tenantId: string): Promise<ProviderChoiceState> {
    const [f, p] = await Promise.all([
      this.#db.selectFrom('provider_flights').select('provider_id').where('tenant_id', '=', tenantId).execute(),
      this.#db.selectFrom('provider_promotions').select('provider_id').where('tenant_id', '=', tenantId).execute(),
    ]);
    return { flighted: new Set(f.map((r) => r.provider_id)), promoted: new Set(p.map((r) => r.provider_id)) };
  }

  /** A tenant's flights, by provider id. */
  async flights(tenantId: string): Promise<ProviderFlight[]> {
    const rows = await this.#db.selectFrom('provider_flights').selectAll().where('tenant_id', '=', tenantId).orderBy('provider_id').execute();
    return rows.map((r) => ({ tenantId: r.tenant_id, providerId: r.provider_id, by: r.flighted_by, at: r.flighted_at }));
  }

  /** A tenant's promotions, by provider id. */
  async promotions(tenantId: string): Promise<ProviderPromotion[]> {
    const rows = await this.#db.selectFrom('provider_promotions').selectAll().where('tenant_id', '=', tenantId).orderBy('provider_id').execute();
    return rows.map((r) => ({
      tenantId: r.tenant_id,
      providerId: r.provider_id,
      by: r.promoted_by,
      at: r.promoted_at,
      checkSummary: JSON.parse(r.check_summary) as PromotionCheckSummary,
    }));
  }

  /** Every provider with a flight or promotion in the tenant, with who and when, by provider id. */
  async list(tenantId: string): Promise<ProviderStateEntry[]> {
    const [flights, promotions] = await Promise.all([this.flights(tenantId), this.promotions(tenantId)]);
    const byId = new Map<string, ProviderStateEntry>();
    const entry = (id: string): ProviderStateEntry => {
      let e = byId.get(id);
      if (!e) byId.set(id, (e = { providerId: id }));
      return e;
    };
    for (const f of flights) entry(f.providerId).flight = f;
    for (const p of promotions) entry(p.providerId).promotion = p;
    return [...byId.values()].sort((a, b) => (a.providerId < b.providerId ? -1 : a.providerId > b.providerId ? 1 : 0));
  }
}
