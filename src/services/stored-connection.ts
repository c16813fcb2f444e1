/**
 * A stored connection as the services need it: provider access (the secret unsealed from the
 * store), the optional-data toggles, the sync schedules and the tombstone retention, all read from
 * the connection's `options` JSON. Shared by `rostersync sync --connection`, the scheduler and
 * (later) the admin API, so the three read a connection the same way. Schedules and retention are
 * parsed by `sync/schedule.ts`.
 */
import type { Toggles } from '../sds/toggles.ts';
import type { Connection } from '../store/connection-repository.ts';
import { StoreError } from '../store/errors.ts';
import type { Store } from '../store/store.ts';
import { retentionDaysOf, scheduleOf, withSchedule, type ConnectionSchedule, type ScheduleChange } from '../sync/schedule.ts';
import type { ProviderAccess } from './sync-service.ts';

export const STORED_CONNECTION_ERROR_CODES = [
  /** The connection authenticates with a secret, but none is stored (e.g. registered by an ad-hoc `sync --base-url`). */
  'secret_missing',
] as const;
export type StoredConnectionErrorCode = (typeof STORED_CONNECTION_ERROR_CODES)[number];

/** An operational failure reading or changing a stored connection. `code` is stable; `message` is for an admin. */
export class StoredConnectionError extends Error {
  readonly code: StoredConnectionErrorCode;

  constructor(code: StoredConnectionErrorCode, message: string) {
    super(message);
    this.name = 'StoredConnectionError';
    this.code = code;
  }
}

/** True when `err` is a StoredConnectionError. */
export function isStoredConnectionError(err: unknown): err is StoredConnectionError {
  return err instanceof StoredConnectionError;
}

/** What a sync of a stored connection needs, plus its schedule and retention. */
export interface StoredAccess {
  access: ProviderAccess;
  connectionId: string;
  tenantId: string;
  optional: { courses: boolean; demographics: boolean };
  toggles: Toggles;
  schedule: ConnectionSchedule;
  retentionDays: number;
}

/**
 * Changes a stored connection's schedule and/or retention. Enabling the schedules of a connection
 * that needs a secret but has none is refused: every scheduled run would fail.
 * @throws ScheduleError `invalid_schedule` | `invalid_retention`; StoredConnectionError `secret_missing`; StoreError `not_found`.
 */
export async function updateSchedule(store: Store, connection: Connection, change: ScheduleChange): Promise<Connection> {
  const options = withSchedule(connection, change);
  if ((options.schedule as ConnectionSchedule).enabled && connection.authKind !== 'none' && !connection.hasSecret) {
    throw new StoredConnectionError(
      'secret_missing',
      `connection ${connection.id} has no stored secret, so scheduled syncs could not authenticate; add it with \`rostersync connection add\` (the secret is stored encrypted)`,
    );
  }
  return store.connections.update(connection.id, { options });
}

/**
 * Provider access of a stored connection: settings from its options, the secret unsealed from the
 * store, and the toggles, schedule and retention.
 * @throws StoredConnectionError `secret_missing`; StoreError `not_found` | `secret_key_missing` | `secret_unreadable`.
 */
export async function storedAccess(store: Store, idOrConnection: string | Connection): Promise<StoredAccess> {
  let c: Connection;
  if (typeof idOrConnection === 'string') {
    const found = await store.connections.get(idOrConnection);
    if (!found) throw new StoreError('not_found', `connection ${idOrConnection} does not exist`);
    c = found;
  } else {
    c = idOrConnection;
  }
  const o = c.options;
  const str = (k: string): string | undefined => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  const secret = c.authKind === 'none' ? undefined : await store.connections.getSecret(c.id);
  if (c.authKind !== 'none' && secret === undefined) {
    throw new StoredConnectionError('secret_missing', `connection ${c.id} uses ${c.authKind} but has no stored secret; add it with \`rostersync connection add\``);
  }
  let auth: ProviderAccess['auth'];
  if (c.authKind === 'oauth2') {
    auth = { kind: 'oauth2', tokenUrl: str('tokenUrl') ?? '', clientId: str('clientId') ?? '', clientSecret: secret!, ...(str('scope') !== undefined ? { scope: str('scope')! } : {}) };
  } else if (c.authKind === 'oauth1') {
    auth = { kind: 'oauth1', clientId: str('clientId') ?? '', clientSecret: secret!, signatureMethod: str('signatureMethod') === 'HMAC-SHA1' ? 'HMAC-SHA1' : 'HMAC-SHA256' };
  } else {
    auth = { kind: 'none' };
  }
  const t = (typeof o.toggles === 'object' && o.toggles !== null ? o.toggles : {}) as { contacts?: unknown; demographics?: unknown; userFlags?: unknown };
  // Connections added with `connection add` store all three resolved toggles. Ones registered by an
  // ad-hoc `sync --base-url` store none: they get the ad-hoc defaults (contacts and user flags on,
  // demographics only when asked for), see `sync-command.ts`.
  const toggles: Toggles = { contacts: t.contacts !== false, demographics: t.demographics === true, userFlags: t.userFlags !== false };
  const access: ProviderAccess = {
    baseUrl: c.baseUrl,
    auth,
    ...(typeof o.pageSize === 'number' ? { pageSize: o.pageSize } : {}),
    ...(typeof o.maxConcurrency === 'number' ? { maxConcurrency: o.maxConcurrency } : {}),
    ...(typeof o.requestsPerSecond === 'number' ? { requestsPerSecond: o.requestsPerSecond } : {}),
  };
  return {
    access,
    connectionId: c.id,
    tenantId: c.tenantId,
    optional: { courses: o.courses !== false, demographics: toggles.demographics },
    toggles,
    schedule: scheduleOf(c),
    retentionDays: retentionDaysOf(c),
  };
}
