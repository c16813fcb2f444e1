/**
 * Accounts and audit: the admin accounts this account may see (create, disable or enable, delete),
 * your own API tokens for scripts (create, shown once; revoke), and the audit log of admin actions,
 * newest first. Tenant admins manage their tenant's accounts; viewers read.
 */
import { useState, type FormEvent } from 'react';
import { api, get, post } from '../api.ts';
import { useSession } from '../app.tsx';
import { Badge, DataTable, ErrorBox, fmtTime, Loading, Notice, SecretOnce, Section, useAction, useLoad } from '../components/ui.tsx';
import { seg, useTitle } from '../router.tsx';
import type { Account, ApiTokenInfo, AuditEntry, Flight, Provider, Role, Tenant } from '../types.ts';

const ROLES: ReadonlyArray<{ id: Role; label: string }> = [
  { id: 'viewer', label: 'viewer (reads)' },
  { id: 'tenant_admin', label: 'tenant admin (manages one tenant)' },
  { id: 'installation_admin', label: 'installation admin (everything)' },
];

export function AccountsPage() {
  useTitle('Accounts & audit');
  // Each change is audited: the log reloads after one.
  const [changes, setChanges] = useState(0);
  const changed = (): void => setChanges((n) => n + 1);
  return (
    <>
      <h1>Accounts &amp; audit</h1>
      <p className="lead">Who may use this console and the admin API, the tenants (districts) they work in, your API tokens for scripts, and what admins did.</p>
      <Accounts onChange={changed} />
      <Tenants onChange={changed} />
      <Tokens onChange={changed} />
      <AuditLog changes={changes} />
    </>
  );
}

function Accounts({ onChange }: { onChange: () => void }) {
  const { me, readOnly } = useSession();
  const list = useLoad(() => get<{ users: Account[] }>('/users').then((r) => r.users), []);
  const action = useAction();
  const tenantScope = me.user.role === 'installation_admin' ? undefined : me.user.tenantId;
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [tenant, setTenant] = useState(tenantScope ?? '');

  const act = (what: () => Promise<unknown>, done: string): Promise<boolean> =>
    action.run(async () => {
      await what();
      onChange();
      await list.reload();
    }, done);
  const create = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    const name = username.trim();
    const body = { username: name, password, role, ...(role !== 'installation_admin' && tenant.trim() !== '' ? { tenantId: tenant.trim() } : {}) };
    // The form keeps what was typed when the account was refused (e.g. a taken name).
    if (!(await act(() => post('/users', body), `Account ${name} created.`))) return;
    setUsername('');
    setPassword('');
  };
  const setDisabled = async (a: Account, disabled: boolean): Promise<void> => {
    if (disabled && !window.confirm(`Disable "${a.username}"? Their sessions and API tokens stop working until enabled again.`)) return;
    await act(() => api('PATCH', `/users/${seg(a.id)}`, { disabled }), `${a.username} ${disabled ? 'disabled' : 'enabled'}.`);
  };
  const remove = async (a: Account): Promise<void> => {
    if (!window.confirm(`Delete "${a.username}" with their sessions and API tokens? The audit log keeps their actions.`)) return;
    await act(() => api('DELETE', `/users/${seg(a.id)}`), `${a.username} deleted.`);
  };

  return (
    <Section title="Accounts">
      <ErrorBox error={list.error ?? action.error} />
      <Notice text={action.notice} />
      {list.loading && !list.data ? <Loading /> : null}
      <DataTable testId="accounts" columns={['Username', 'Role', 'Tenant', 'Created', 'Password changed', 'State', !readOnly && 'Actions']} rows={(list.data ?? []).length}>
        {(list.data ?? []).map((a) => (
          <tr key={a.id} data-username={a.username}>
            <td>
              {a.username}
              {a.id === me.user.id ? <span className="muted"> (you)</span> : null}
            </td>
            <td>{a.role.replace('_', ' ')}</td>
            <td>{a.tenantId ?? <span className="muted">all tenants</span>}</td>
            <td>{fmtTime(a.createdAt)}</td>
            <td>{fmtTime(a.passwordChangedAt)}</td>
            <td>{a.disabledAt ? <Badge value="failed" label="disabled" /> : <Badge value="succeeded" label="active" />}</td>
            {readOnly ? null : (
              <td className="actions">
                {a.id === me.user.id ? null : (
                  <>
                    <button type="button" onClick={() => void setDisabled(a, a.disabledAt === undefined)} aria-label={`${a.disabledAt ? 'Enable' : 'Disable'} ${a.username}`}>
                      {a.disabledAt ? 'Enable' : 'Disable'}
                    </button>
                    <button type="button" className="danger" onClick={() => void remove(a)} aria-label={`Delete ${a.username}`}>
                      Delete
                    </button>
                  </>
                )}
              </td>
            )}
          </tr>
        ))}
      </DataTable>
      {readOnly ? null : (
        <form className="subform" onSubmit={(e) => void create(e)} aria-labelledby="new-account">
          <h3 id="new-account">New account</h3>
          <div className="filters">
            <div className="field">
              <label htmlFor="account-username">Username</label>
              <input id="account-username" required autoComplete="off" value={username} onChange={(e) => setUsername(e.target.value)} />
            </div>
            <div className="field">
              <label htmlFor="account-password">Password (at least 12 characters)</label>
              <input id="account-password" type="password" required autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
            </div>
            <div className="field">
              <label htmlFor="account-role">Role</label>
              <select id="account-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
                {ROLES.filter((r) => tenantScope === undefined || r.id !== 'installation_admin').map((r) => (
                  <option key={r.id} value={r.id}>
                    {r.label}
                  </option>
                ))}
              </select>
            </div>
            {role === 'installation_admin' ? null : (
              <div className="field">
                <label htmlFor="account-tenant">Tenant</label>
                <input id="account-tenant" value={tenant} readOnly={tenantScope !== undefined} onChange={(e) => setTenant(e.target.value)} placeholder="empty: all tenants" />
              </div>
            )}
          </div>
          <div className="actions">
            <button type="submit" className="primary" disabled={username.trim() === '' || password === ''}>
              Create account
            </button>
          </div>
        </form>
      )}
    </Section>
  );
}

function Tenants({ onChange }: { onChange: () => void }) {
  const { me } = useSession();
  const installation = me.user.role === 'installation_admin';
  const list = useLoad(() => get<{ tenants: Tenant[] }>('/tenants').then((r) => r.tenants), []);
  const action = useAction();
  const [id, setId] = useState('');
  const [name, setName] = useState('');

  const create = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    await action.run(async () => {
      await post('/tenants', { id: id.trim(), name: name.trim() });
      setId('');
      setName('');
      onChange();
      await list.reload();
    }, `Tenant ${name.trim()} created.`);
  };

  return (
    <Section title="Tenants">
      <p className="muted">Each district is a tenant: its connections, data and tenant accounts stay apart from the others. Test providers of the SDS catalog can be chosen in a tenant once flighted for it.</p>
      <ErrorBox error={list.error ?? action.error} />
      <Notice text={action.notice} />
      {list.loading && !list.data ? <Loading /> : null}
      <DataTable testId="tenants" columns={['Id', 'Name', 'Created', 'Flighted Test providers']} rows={(list.data ?? []).length}>
        {(list.data ?? []).map((t) => (
          <tr key={t.id} data-tenant={t.id}>
            <td className="mono">{t.id}</td>
            <td>{t.name}</td>
            <td>{fmtTime(t.createdAt)}</td>
            <td>
              <Flights tenantId={t.id} canEdit={installation} onChange={onChange} />
            </td>
          </tr>
        ))}
      </DataTable>
      {installation ? (
        <form className="subform" onSubmit={(e) => void create(e)} aria-labelledby="new-tenant">
          <h3 id="new-tenant">New tenant</h3>
          <div className="filters">
            <div className="field">
              <label htmlFor="tenant-id">Tenant id (letters, digits, dashes)</label>
              <input id="tenant-id" required value={id} onChange={(e) => setId(e.target.value)} placeholder="e.g. district-42" />
            </div>
            <div className="field">
              <label htmlFor="tenant-name">Tenant name</label>
              <input id="tenant-name" required value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Springfield Public Schools" />
            </div>
          </div>
          <div className="actions">
            <button type="submit" className="primary" disabled={id.trim() === '' || name.trim() === ''}>
              Create tenant
            </button>
          </div>
        </form>
      ) : null}
    </Section>
  );
}

/** A tenant's flights, with add (a Test provider not yet flighted) and remove for installation admins. */
function Flights({ tenantId, canEdit, onChange }: { tenantId: string; canEdit: boolean; onChange: () => void }) {
  const flights = useLoad(() => get<{ flights: Flight[] }>(`/tenants/${seg(tenantId)}/flights`).then((r) => r.flights), [tenantId]);
  const tests = useLoad(
    () => (canEdit ? get<{ providers: Provider[] }>('/providers', { tenant: tenantId, status: 'Test' }).then((r) => r.providers) : Promise.resolve([] as Provider[])),
    [tenantId, canEdit],
  );
  const [pick, setPick] = useState('');
  const action = useAction();
  const flighted = new Set((flights.data ?? []).map((f) => f.providerId));
  const candidates = (tests.data ?? []).filter((p) => !flighted.has(p.id));
  const change = (what: () => Promise<unknown>): Promise<boolean> =>
    action.run(async () => {
      await what();
      onChange();
      await Promise.all([flights.reload(), tests.reload()]);
    });
  return (
    <div className="flights">
      <ErrorBox error={flights.error ?? action.error} />
      {(flights.data ?? []).length === 0 ? <span className="muted">none</span> : null}
      <ul className="plain">
        {(flights.data ?? []).map((f) => (
          <li key={f.providerId}>
            <span className="mono">{f.providerId}</span> <span className="muted">by {f.by}, {fmtTime(f.at)}</span>{' '}
            {canEdit ? (
              <button type="button" className="link-button" onClick={() => void change(() => api('DELETE', `/tenants/${seg(tenantId)}/flights/${seg(f.providerId)}`))} aria-label={`Remove the flight of ${f.providerId} for ${tenantId}`}>
                remove
              </button>
            ) : null}
          </li>
        ))}
      </ul>
      {canEdit && candidates.length > 0 ? (
        <div className="inline-form">
          <label htmlFor={`flight-${tenantId}`} className="visually-hidden">
            Test provider to flight for {tenantId}
          </label>
          <select id={`flight-${tenantId}`} value={pick || candidates[0]!.id} onChange={(e) => setPick(e.target.value)}>
            {candidates.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>{' '}
          <button type="button" onClick={() => void change(() => api('PUT', `/tenants/${seg(tenantId)}/flights/${seg(pick || candidates[0]!.id)}`))}>
            Flight
          </button>
        </div>
      ) : null}
    </div>
  );
}

function Tokens({ onChange }: { onChange: () => void }) {
  const list = useLoad(() => get<{ tokens: ApiTokenInfo[] }>('/tokens').then((r) => r.tokens), []);
  const action = useAction();
  const [secret, setSecret] = useState<{ name: string; token: string }>();
  const [name, setName] = useState('');
  const [days, setDays] = useState('90');

  const create = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    await action.run(async () => {
      const n = Number(days);
      const r = await post<{ token: string; apiToken: ApiTokenInfo }>('/tokens', { name: name.trim(), ...(days.trim() !== '' && Number.isInteger(n) && n > 0 ? { expiresInDays: n } : {}) });
      setSecret({ name: r.apiToken.name, token: r.token });
      setName('');
      onChange();
      await list.reload();
    });
  };
  const revoke = async (t: ApiTokenInfo): Promise<void> => {
    if (!window.confirm(`Revoke the token "${t.name}"? Scripts using it are refused from now on.`)) return;
    await action.run(async () => {
      await api('DELETE', `/tokens/${seg(t.id)}`);
      onChange();
      await list.reload();
    });
  };

  return (
    <Section title="Your API tokens">
      <p className="muted">For scripts against the admin API: send it as <code>Authorization: Bearer …</code>. It acts with your role.</p>
      <ErrorBox error={list.error ?? action.error} />
      {secret ? <SecretOnce title={`Token ${secret.name}`} items={[{ label: 'Token', value: secret.token }]} onDone={() => setSecret(undefined)} /> : null}
      {list.loading && !list.data ? <Loading /> : null}
      <DataTable testId="api-tokens" columns={['Name', 'Created', 'Expires', 'Last used', 'Actions']} rows={(list.data ?? []).length} empty="No API tokens.">
        {(list.data ?? []).map((t) => (
          <tr key={t.id}>
            <td>{t.name}</td>
            <td>{fmtTime(t.createdAt)}</td>
            <td>{t.expiresAt ? fmtTime(t.expiresAt) : 'never'}</td>
            <td>{fmtTime(t.lastUsedAt)}</td>
            <td className="actions">
              <button type="button" className="danger" onClick={() => void revoke(t)} aria-label={`Revoke the token ${t.name}`}>
                Revoke
              </button>
            </td>
          </tr>
        ))}
      </DataTable>
      <form className="subform" onSubmit={(e) => void create(e)} aria-labelledby="new-token">
        <h3 id="new-token">New API token</h3>
        <div className="filters">
          <div className="field">
            <label htmlFor="token-name">Name</label>
            <input id="token-name" required value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. nightly report script" />
          </div>
          <div className="field">
            <label htmlFor="token-days">Expires after (days, empty: never)</label>
            <input id="token-days" inputMode="numeric" value={days} onChange={(e) => setDays(e.target.value)} />
          </div>
        </div>
        <div className="actions">
          <button type="submit" className="primary" disabled={name.trim() === ''}>
            Create token
          </button>
        </div>
      </form>
    </Section>
  );
}

const AUDIT_PAGE = 50;

function AuditLog({ changes }: { changes: number }) {
  const [before, setBefore] = useState<number[]>([]);
  const cursor = before[before.length - 1];
  const page = useLoad(() => get<{ entries: AuditEntry[]; next?: number }>('/audit', { limit: AUDIT_PAGE, before: cursor }), [cursor, changes]);
  return (
    <Section
      title="Audit log"
      actions={
        <>
          {before.length > 0 ? (
            <button type="button" onClick={() => setBefore(before.slice(0, -1))}>
              Newer
            </button>
          ) : null}
          {page.data?.next !== undefined ? (
            <button type="button" onClick={() => setBefore([...before, page.data!.next!])}>
              Older
            </button>
          ) : null}
        </>
      }
    >
      <ErrorBox error={page.error} />
      {page.loading && !page.data ? <Loading /> : null}
      <DataTable testId="audit-log" compact columns={['When', 'Who', 'Action', 'Target', 'Tenant']} rows={(page.data?.entries ?? []).length} empty="Nothing recorded yet.">
        {(page.data?.entries ?? []).map((e) => (
          <tr key={e.seq} data-action={e.action}>
            <td>{fmtTime(e.at)}</td>
            <td>{e.actor}</td>
            <td className="mono">{e.action}</td>
            <td className="mono">{e.target ?? ''}</td>
            <td>{e.tenantId ?? ''}</td>
          </tr>
        ))}
      </DataTable>
    </Section>
  );
}
