/** The admin API's answers as the console reads them (see GET /api/v1/openapi.json). */

export type Role = 'installation_admin' | 'tenant_admin' | 'viewer';

export interface User {
  id: string;
  username: string;
  role: Role;
  tenantId?: string;
}

export interface Tenant {
  id: string;
  name: string;
  createdAt: string;
}

export interface Flight {
  tenantId: string;
  providerId: string;
  by: string;
  at: string;
}

/** An admin account as `GET /users` lists it. */
export interface Account extends User {
  createdAt: string;
  passwordChangedAt: string;
  disabledAt?: string;
}

export interface ApiTokenInfo {
  id: string;
  userId: string;
  name: string;
  createdAt: string;
  expiresAt?: string;
  lastUsedAt?: string;
  revokedAt?: string;
}

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  tenantId?: string;
  action: string;
  target?: string;
  details?: unknown;
}

export interface Me {
  user: User;
  via: 'session' | 'token';
  csrfToken?: string;
  expiresAt?: string;
}

export interface Toggles {
  contacts: boolean;
  demographics: boolean;
  userFlags: boolean;
}

export type Toggle = keyof Toggles;

export interface Provider {
  id: string;
  name: string;
  status?: string;
  effectiveStatus?: string;
  listed: boolean;
  custom: boolean;
  supports?: Toggles;
  flighted: boolean;
  promoted: boolean;
  selectable: boolean;
  reason?: string;
  details?: Record<string, string>;
}

export interface ProviderDetail {
  provider: Provider;
  setupGuide: string;
  toggles: Array<{ toggle: Toggle; available: boolean; defaultOn: boolean; reason?: string }>;
}

export interface Connection {
  id: string;
  tenantId: string;
  name: string;
  baseUrl: string;
  authKind: string;
  options: {
    provider?: string;
    toggles?: Partial<Toggles>;
    clientId?: string;
    tokenUrl?: string;
    schedule?: { enabled?: boolean };
    [k: string]: unknown;
  };
  hasSecret: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface Schedule {
  enabled: boolean;
  delta: string;
  full: string;
  timezone: string;
  retentionDays: number;
  nextFull?: string;
  nextDelta?: string;
  due?: string;
  reason?: string;
  error?: string;
}

export interface ConnectionDetail {
  connection: Connection;
  records: Record<string, { active: number; deleted: number }>;
  schedule: Schedule;
}

export interface CheckResult {
  id: string;
  title: string;
  status: string;
  reason?: string;
  durationMs: number;
}

export interface EntityCounts {
  outcome?: string;
  fetched?: number;
  created?: number;
  updated?: number;
  restored?: number;
  unchanged?: number;
  deleted?: number;
  invalid?: number;
  skipped?: number;
  duplicates?: number;
  total?: number;
  pages?: number;
  /** Pages with the same bytes as the last full read that matched the store: skipped unparsed. */
  knownPages?: number;
}

export interface HoldReason {
  entity?: string;
  rule?: string;
  planned?: number;
  live?: number;
  message?: string;
}

export interface Run {
  id: number;
  tenantId: string;
  connectionId: string;
  mode: string;
  status: string;
  startedAt: string;
  finishedAt?: string;
  dryRun: boolean;
  entities: Record<string, EntityCounts>;
  issues: { bySeverity?: { error?: number; warning?: number }; byRule?: Record<string, number>; stored?: number };
  sdsStatus?: string;
  hold?: HoldReason[];
  holdState?: 'pending' | 'approved' | 'discarded';
  holdResolvedBy?: string;
  holdResolvedAt?: string;
  approvedRun?: number;
  approvalOf?: number;
  error?: { code: string; message: string };
}

export interface Progress {
  collection: string;
  pages: number;
  records: number;
  total?: number;
  bytes: number;
  done: boolean;
}

export interface ReportRow {
  severity: string;
  rule: string;
  entity: string;
  sourcedId: string;
  field?: string;
  value?: string;
  message: string;
}

export interface Report {
  totals: { errors: number; warnings: number; stored: number };
  summary: Array<{ rule: string; severity: string; count: number; description?: string }>;
  rows: ReportRow[];
  notListed: number;
  matched: number;
}

export interface PlannedChange {
  entity: string;
  sourcedId: string;
  kind: string;
  fields: Record<string, { before?: unknown; after?: unknown }> | null;
}

export interface Plan {
  runId: number;
  counts: Record<string, Record<string, number>>;
  changes: PlannedChange[];
  truncated: boolean;
}

export interface SyncStarted {
  runId: number;
  connectionId: string;
  mode: string;
  dryRun: boolean;
  approvalOf?: number;
}

export interface LiveRow {
  sourcedId: string;
  status: string;
  record: Record<string, unknown>;
  firstSeenRun: number;
  updatedRun: number;
  deletedAt?: string;
  deletedRun?: number;
}

export interface ChangeEvent {
  seq: number;
  at: string;
  runId: number;
  entity: string;
  sourcedId: string;
  kind: string;
  fields: Record<string, { before?: unknown; after?: unknown }> | null;
}

export interface ApiClient {
  id: string;
  tenantId: string;
  connectionId: string;
  name: string;
  clientId: string;
  scopes: string[];
  oauth1: boolean;
  createdAt: string;
  rotatedAt?: string;
  revokedAt?: string;
  lastUsedAt?: string;
}

export interface Webhook {
  id: string;
  tenantId: string;
  connectionId?: string;
  url: string;
  entities?: string[];
  consecutiveFailures: number;
  lastError?: string;
  disabledAt?: string;
  disabledReason?: string;
  createdAt: string;
  lastDeliveryAt?: string;
}
