/**
 * A connection's settings as the admin API receives them (the onboarding wizard's fields), checked
 * the way `rostersync connection add` checks them: the provider from the SDS catalog (a Test
 * provider needs the tenant's flight or promotion), the access settings (`connectionConfig`), the
 * provider's hints (ClassLink's URL, token URL ≠ web access URL), the optional-data toggles
 * (greyed-out ones refused) and the schedules. Produces the stored `options` in the same shape the
 * CLI stores, so the scheduler, `sync --connection` and the API read a connection alike.
 */
import { connectionHints, findProvider, type Provider } from '../../sds/provider-catalog.ts';
import { canChoose, resolveToggles, type ToggleRequest, type Toggles } from '../../sds/toggles.ts';
import { connectionConfig, type ProviderAccess } from '../../services/sync-service.ts';
import type { ConnectionConfig } from '../../source/connection.ts';
import type { AuthKind, Connection } from '../../store/connection-repository.ts';
import type { Store } from '../../store/store.ts';
import { withSchedule, type ScheduleChange } from '../../sync/schedule.ts';
import { AdminError } from './admin-errors.ts';

/** Provider access as the API takes it (the secret is write-only: never returned). */
export interface AccessInput {
  kind: AuthKind;
  clientId?: string;
  clientSecret?: string;
  tokenUrl?: string;
  scope?: string;
  signatureMethod?: 'HMAC-SHA256' | 'HMAC-SHA1';
}

/** Everything a new connection (or a connection test before saving) is made of. */
export interface ConnectionInput {
  provider?: string;
  baseUrl: string;
  auth: AccessInput;
  toggles?: ToggleRequest;
  courses?: boolean;
  pageSize?: number;
  maxConcurrency?: number;
  requestsPerSecond?: number;
}

/** Checked settings. */
export interface CheckedSettings {
  provider: Provider;
  config: ConnectionConfig;
  access: ProviderAccess;
  toggles: Toggles;
  courses: boolean;
  /** Provider advice to show the admin (the settings are accepted). */
  warnings: string[];
  /** The options keys these settings own (merged into the stored options). */
  options: Record<string, unknown>;
  /** The secret to store, when the access needs one. */
  secret?: string;
}

/** Option keys that describe access, provider and toggles (replaced as a whole on a change). */
const ACCESS_KEYS = ['provider', 'toggles', 'courses', 'pageSize', 'maxConcurrency', 'requestsPerSecond', 'clientId', 'tokenUrl', 'scope', 'signatureMethod'];

function accessOf(input: ConnectionInput, secret: string | undefined): ProviderAccess {
  const a = input.auth;
  let auth: ProviderAccess['auth'];
  if (a.kind === 'oauth2') {
    auth = { kind: 'oauth2', tokenUrl: a.tokenUrl ?? '', clientId: a.clientId ?? '', clientSecret: secret ?? '', ...(a.scope !== undefined ? { scope: a.scope } : {}) };
  } else if (a.kind === 'oauth1') {
    auth = { kind: 'oauth1', clientId: a.clientId ?? '', clientSecret: secret ?? '', signatureMethod: a.signatureMethod ?? 'HMAC-SHA256' };
  } else auth = { kind: 'none' };
  return {
    baseUrl: input.baseUrl,
    auth,
    ...(input.pageSize !== undefined ? { pageSize: input.pageSize } : {}),
    ...(input.maxConcurrency !== undefined ? { maxConcurrency: input.maxConcurrency } : {}),
    ...(input.requestsPerSecond !== undefined ? { requestsPerSecond: input.requestsPerSecond } : {}),
  };
}

/**
 * Checks settings for `tenantId`.
 * @param options.keptSecret the connection already stores a secret that stays (an update without a new one).
 * @param options.providerChanged false: the provider is the connection's current one, so its
 *   flight is not asked for again (unflighting does not break existing connections).
 * @throws AdminError `invalid_request` | `provider_unavailable`; ToggleError; SourceError `invalid_config`.
 */
export async function checkSettings(store: Store, tenantId: string, input: ConnectionInput, options: { keptSecret?: boolean; providerChanged?: boolean } = {}): Promise<CheckedSettings> {
  const provider = findProvider(input.provider ?? 'custom');
  if (!provider) throw new AdminError('invalid_request', `unknown provider "${(input.provider ?? '').slice(0, 80)}"; GET /api/v1/providers lists them`);
  if (options.providerChanged !== false) {
    const ctx = provider.status === 'Test' ? await store.providerStates.state(tenantId) : { flighted: new Set<string>(), promoted: new Set<string>() };
    const choice = canChoose(provider, ctx);
    if (!choice.ok) throw new AdminError('provider_unavailable', choice.reason);
  }
  const secret = input.auth.kind === 'none' ? undefined : input.auth.clientSecret;
  // A kept secret is not read here: a placeholder lets the access settings be validated.
  const access = accessOf(input, secret ?? (options.keptSecret ? 'kept-secret' : undefined));
  const config = connectionConfig(access);
  const hints = connectionHints(provider, { baseUrl: config.baseUrl, ...(config.auth.kind === 'oauth2' ? { tokenUrl: config.auth.tokenUrl } : {}) });
  if (hints.errors.length > 0) throw new AdminError('invalid_request', hints.errors.join(' '));
  const toggles = resolveToggles(provider, input.toggles ?? {});
  const courses = input.courses !== false;
  const stored: Record<string, unknown> = {
    provider: provider.id,
    toggles,
    courses,
    pageSize: config.pageSize,
    maxConcurrency: config.maxConcurrency,
    ...(config.requestsPerSecond !== undefined ? { requestsPerSecond: config.requestsPerSecond } : {}),
  };
  if (config.auth.kind !== 'none') stored.clientId = config.auth.clientId;
  if (config.auth.kind === 'oauth2') {
    stored.tokenUrl = config.auth.tokenUrl;
    if (config.auth.scope !== undefined) stored.scope = config.auth.scope;
  }
  if (config.auth.kind === 'oauth1') stored.signatureMethod = config.auth.signatureMethod;
  return { provider, config, access, toggles, courses, warnings: hints.warnings, options: stored, ...(secret !== undefined && secret !== '' ? { secret } : {}) };
}

/**
 * The stored options of a new connection: its settings, the complete schedule (defaults
 * included) and the retention, as `connection add` stores them.
 * @throws ScheduleError `invalid_schedule` | `invalid_retention`.
 */
export function newConnectionOptions(settings: CheckedSettings, schedule: ScheduleChange): Record<string, unknown> {
  const next = withSchedule({ options: { provider: settings.provider.id } }, schedule);
  return { schedule: next.schedule, tombstoneRetentionDays: next.tombstoneRetentionDays, ...settings.options };
}

/** A stored connection's settings back in input form (no secret), for a partial update to merge into. */
export function inputOf(c: Connection): ConnectionInput {
  const o = c.options;
  const str = (k: string): string | undefined => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  const num = (k: string): number | undefined => (typeof o[k] === 'number' ? (o[k] as number) : undefined);
  const t = (typeof o.toggles === 'object' && o.toggles !== null ? o.toggles : {}) as Record<string, unknown>;
  const toggles: ToggleRequest = {};
  for (const k of ['contacts', 'demographics', 'userFlags'] as const) if (typeof t[k] === 'boolean') toggles[k] = t[k];
  const auth: AccessInput = { kind: c.authKind };
  for (const k of ['clientId', 'tokenUrl', 'scope'] as const) {
    const v = str(k);
    if (v !== undefined) auth[k] = v;
  }
  if (str('signatureMethod') === 'HMAC-SHA1' || str('signatureMethod') === 'HMAC-SHA256') auth.signatureMethod = str('signatureMethod') as 'HMAC-SHA1' | 'HMAC-SHA256';
  const input: ConnectionInput = { provider: str('provider') ?? 'custom', baseUrl: c.baseUrl, auth, toggles, courses: o.courses !== false };
  for (const k of ['pageSize', 'maxConcurrency', 'requestsPerSecond'] as const) {
    const v = num(k);
    if (v !== undefined) input[k] = v;
  }
  return input;
}

/** The stored options after an update: untouched keys (schedule, retention, safeguards …) kept, access keys replaced. */
export function updatedOptions(current: Record<string, unknown>, settings: CheckedSettings): Record<string, unknown> {
  const kept = Object.fromEntries(Object.entries(current).filter(([k]) => !ACCESS_KEYS.includes(k)));
  return { ...kept, ...settings.options };
}
