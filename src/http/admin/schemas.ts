/**
 * Route schemas of the admin API (typebox): fastify validates requests with them and serialises
 * responses through them, and @fastify/swagger builds `/api/v1/openapi.json` from them. Objects
 * whose shape belongs to another module (run counts, plans, reports, provider details) are declared
 * open (`additionalProperties: true`) with their stable keys listed.
 */
import Type from 'typebox';

const Str = (o: Record<string, unknown> = {}) => Type.String(o);
const Opt = Type.Optional;
const Open = { additionalProperties: true };

export const ErrorBody = Type.Object({ error: Str({ description: 'stable error code' }), message: Str() });

/** Error responses every route may give. */
export const errors = { '4xx': ErrorBody, '5xx': ErrorBody };

export const Role = Type.Union([Type.Literal('installation_admin'), Type.Literal('tenant_admin'), Type.Literal('viewer')]);

export const User = Type.Object({
  id: Str(),
  username: Str(),
  role: Role,
  tenantId: Opt(Str({ description: 'absent: installation-wide' })),
  createdAt: Str(),
  passwordChangedAt: Str(),
  disabledAt: Opt(Str()),
});

export const Tenant = Type.Object({ id: Str(), name: Str(), createdAt: Str() });

export const Flight = Type.Object({ tenantId: Str(), providerId: Str(), by: Str(), at: Str() });

export const Toggles = Type.Object({ contacts: Type.Boolean(), demographics: Type.Boolean(), userFlags: Type.Boolean() });
const ToggleRequest = Type.Object(
  { contacts: Opt(Type.Boolean()), demographics: Opt(Type.Boolean()), userFlags: Opt(Type.Boolean()) },
  { additionalProperties: false },
);

export const Provider = Type.Object(
  {
    id: Str(),
    name: Str(),
    status: Opt(Str({ description: 'SDS status: Yes | Test | No (absent: not listed)' })),
    classicStatus: Opt(Str()),
    effectiveStatus: Opt(Str({ description: 'status counting a local promotion from Test to Yes' })),
    listed: Type.Boolean(),
    custom: Type.Boolean(),
    supports: Opt(Toggles),
    flighted: Type.Boolean(),
    promoted: Type.Boolean(),
    selectable: Type.Boolean({ description: 'a connection of this tenant may choose it' }),
    reason: Opt(Str({ description: 'why it cannot be chosen' })),
  },
  Open,
);

export const Connection = Type.Object(
  {
    id: Str(),
    tenantId: Str(),
    name: Str(),
    baseUrl: Str(),
    authKind: Str(),
    options: Type.Record(Type.String(), Type.Unknown(), { description: 'non-secret settings: provider, toggles, clientId, tokenUrl, schedule …' }),
    hasSecret: Type.Boolean({ description: 'a secret is stored (it is never returned)' }),
    createdAt: Str(),
    updatedAt: Str(),
  },
  Open,
);

export const AccessInput = Type.Object(
  {
    kind: Type.Union([Type.Literal('oauth2'), Type.Literal('oauth1'), Type.Literal('none')]),
    clientId: Opt(Str({ maxLength: 1000 })),
    clientSecret: Opt(Str({ maxLength: 4000, description: 'write-only' })),
    tokenUrl: Opt(Str({ maxLength: 2000 })),
    scope: Opt(Str({ maxLength: 2000 })),
    signatureMethod: Opt(Type.Union([Type.Literal('HMAC-SHA256'), Type.Literal('HMAC-SHA1')])),
  },
  { additionalProperties: false },
);

/** A change of access settings: fields given replace the stored ones (a new `kind` starts them over). */
export const AccessPatch = Type.Object(
  {
    kind: Opt(Type.Union([Type.Literal('oauth2'), Type.Literal('oauth1'), Type.Literal('none')])),
    clientId: Opt(Str({ maxLength: 1000 })),
    clientSecret: Opt(Str({ maxLength: 4000, description: 'write-only: replaces the stored secret' })),
    tokenUrl: Opt(Str({ maxLength: 2000 })),
    scope: Opt(Str({ maxLength: 2000 })),
    signatureMethod: Opt(Type.Union([Type.Literal('HMAC-SHA256'), Type.Literal('HMAC-SHA1')])),
  },
  { additionalProperties: false },
);

export const ScheduleChange = Type.Object(
  {
    enabled: Opt(Type.Boolean()),
    delta: Opt(Str({ maxLength: 200, description: 'cron, 5 fields' })),
    full: Opt(Str({ maxLength: 200 })),
    timezone: Opt(Str({ maxLength: 100 })),
    retentionDays: Opt(Type.Integer({ minimum: 1, maximum: 3650 })),
  },
  { additionalProperties: false },
);

const settingsFields = {
  provider: Opt(Str({ maxLength: 200, description: 'catalog id (default custom)' })),
  baseUrl: Str({ maxLength: 2000 }),
  auth: AccessInput,
  toggles: Opt(ToggleRequest),
  courses: Opt(Type.Boolean()),
  pageSize: Opt(Type.Integer({ minimum: 1, maximum: 10_000 })),
  maxConcurrency: Opt(Type.Integer({ minimum: 1, maximum: 5 })),
  requestsPerSecond: Opt(Type.Number({ exclusiveMinimum: 0 })),
};

export const ConnectionCreate = Type.Object(
  { tenantId: Opt(Str()), name: Str({ minLength: 1, maxLength: 200 }), ...settingsFields, schedule: Opt(ScheduleChange) },
  { additionalProperties: false },
);

export const ConnectionCheck = Type.Object({ tenantId: Opt(Str()), ...settingsFields }, { additionalProperties: false });

export const ConnectionPatch = Type.Object(
  {
    name: Opt(Str({ minLength: 1, maxLength: 200 })),
    provider: Opt(Str({ maxLength: 200 })),
    baseUrl: Opt(Str({ maxLength: 2000 })),
    auth: Opt(AccessPatch),
    toggles: Opt(ToggleRequest),
    courses: Opt(Type.Boolean()),
    pageSize: Opt(Type.Integer({ minimum: 1, maximum: 10_000 })),
    maxConcurrency: Opt(Type.Integer({ minimum: 1, maximum: 5 })),
    requestsPerSecond: Opt(Type.Number({ exclusiveMinimum: 0 })),
  },
  { additionalProperties: false },
);

export const ScheduleView = Type.Object(
  {
    enabled: Type.Boolean(),
    delta: Str(),
    full: Str(),
    timezone: Str(),
    retentionDays: Type.Integer(),
    nextFull: Opt(Str()),
    nextDelta: Opt(Str()),
    due: Opt(Str()),
    reason: Opt(Str()),
    error: Opt(Str()),
  },
  Open,
);

export const CheckResult = Type.Object({ id: Str(), title: Str(), status: Str({ description: 'pass | fail | skip' }), reason: Opt(Str()), durationMs: Type.Number() });
export const CheckTable = Type.Object({ passed: Type.Boolean(), checks: Type.Array(CheckResult) });

export const Run = Type.Object(
  {
    id: Type.Integer(),
    tenantId: Str(),
    connectionId: Str(),
    mode: Str(),
    status: Str({ description: 'running | succeeded | partial | failed | held' }),
    startedAt: Str(),
    finishedAt: Opt(Str()),
    dryRun: Type.Boolean(),
    entities: Type.Record(Type.String(), Type.Unknown(), { description: 'per collection: outcome, fetched, created, updated, restored, unchanged, deleted, invalid …' }),
    requests: Type.Record(Type.String(), Type.Unknown()),
    issues: Type.Unknown({ description: 'counts by severity and rule' }),
    sdsStatus: Opt(Str()),
    holdState: Opt(Str()),
    error: Opt(Type.Object({ code: Str(), message: Str() })),
  },
  Open,
);

export const SyncStarted = Type.Object({
  runId: Type.Integer(),
  connectionId: Str(),
  mode: Str(),
  dryRun: Type.Boolean(),
  approvalOf: Opt(Type.Integer()),
  links: Type.Object({ run: Str(), events: Str() }),
});

export const ChangeEvent = Type.Object(
  { cursor: Str(), seq: Type.Integer(), at: Str(), runId: Type.Integer(), connectionId: Str(), entity: Str(), sourcedId: Str(), kind: Str(), fields: Type.Unknown() },
  Open,
);

export const ApiToken = Type.Object({ id: Str(), userId: Str(), name: Str(), createdAt: Str(), expiresAt: Opt(Str()), lastUsedAt: Opt(Str()), revokedAt: Opt(Str()) });

export const AuditEntry = Type.Object({ seq: Type.Integer(), at: Str(), actor: Str(), tenantId: Opt(Str()), action: Str(), target: Opt(Str()), details: Opt(Type.Unknown()) });

export const Webhook = Type.Object(
  {
    id: Str(),
    tenantId: Str(),
    connectionId: Opt(Str()),
    url: Str(),
    entities: Opt(Type.Array(Str())),
    cursorSeq: Opt(Type.Integer()),
    consecutiveFailures: Type.Integer(),
    lastError: Opt(Str()),
    disabledAt: Opt(Str()),
    disabledReason: Opt(Str()),
    createdAt: Str(),
    lastDeliveryAt: Opt(Str()),
  },
  Open,
);

export const ApiClient = Type.Object(
  {
    id: Str(),
    tenantId: Str(),
    connectionId: Str(),
    name: Str(),
    clientId: Str(),
    scopes: Type.Array(Str()),
    oauth1: Type.Boolean(),
    createdAt: Str(),
    rotatedAt: Opt(Str()),
    revokedAt: Opt(Str()),
    lastUsedAt: Opt(Str()),
  },
  Open,
);

export const IdParam = Type.Object({ id: Str({ minLength: 1, maxLength: 200 }) });
export const RunIdParam = Type.Object({ id: Type.Integer({ minimum: 1 }) });
export const TenantParam = Type.Object({ tenantId: Str({ minLength: 1, maxLength: 100 }) });
export const FlightParam = Type.Object({ tenantId: Str({ minLength: 1, maxLength: 100 }), providerId: Str({ minLength: 1, maxLength: 200 }) });
