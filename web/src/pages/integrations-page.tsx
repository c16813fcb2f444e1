/**
 * Downstream API clients (apps reading the re-served OneRoster API of one connection) and webhook
 * receivers (change events pushed out): create, rotate a client's secret, revoke, remove. Secrets
 * are in the create/rotate answer only and shown once here.
 */
import { useState, type FormEvent } from 'react';
import { api, get, post } from '../api.ts';
import { useSession } from '../app.tsx';
import { Badge, DataTable, ENTITY_LABELS, ENTITY_ORDER, ErrorBox, fmtTime, Loading, Notice, SecretOnce, Section, shortUrl, useAction, useLoad } from '../components/ui.tsx';
import { seg, useTitle } from '../router.tsx';
import type { ApiClient, Connection, Webhook } from '../types.ts';

const SCOPES = [
  { id: 'roster-core', label: 'roster-core (orgs, sessions, classes, users, enrollments)' },
  { id: 'roster', label: 'roster (adds courses)' },
  { id: 'demographics', label: 'demographics' },
];

export function IntegrationsPage() {
  useTitle('API clients & webhooks');
  const conns = useLoad(() => get<{ connections: Connection[] }>('/connections').then((r) => r.connections), []);
  const names = new Map((conns.data ?? []).map((c) => [c.id, c.name]));
  return (
    <>
      <h1>API clients &amp; webhooks</h1>
      <p className="lead">Hand the synced rosters on: apps read a connection through the re-served OneRoster API with their own client credentials; webhooks receive change events.</p>
      <ErrorBox error={conns.error} />
      <ApiClients connections={conns.data ?? []} names={names} />
      <Webhooks connections={conns.data ?? []} names={names} />
    </>
  );
}

function ApiClients({ connections, names }: { connections: Connection[]; names: Map<string, string> }) {
  const { readOnly } = useSession();
  const [all, setAll] = useState(false);
  const list = useLoad(() => get<{ clients: ApiClient[] }>('/api-clients', { all: all || undefined }).then((r) => r.clients), [all]);
  const [secret, setSecret] = useState<{ title: string; clientId: string; secret: string }>();
  const action = useAction();
  const [name, setName] = useState('');
  const [conn, setConn] = useState('');
  const [scopes, setScopes] = useState<string[]>(['roster-core', 'roster']);
  const [oauth1, setOauth1] = useState(false);

  const create = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    await action.run(async () => {
      const r = await post<{ client: ApiClient; clientSecret: string }>('/api-clients', { connectionId: conn || connections[0]?.id, name: name.trim(), scopes, oauth1 });
      setSecret({ title: `Secret of ${r.client.name}`, clientId: r.client.clientId, secret: r.clientSecret });
      setName('');
      await list.reload();
    });
  };
  const rotate = async (c: ApiClient): Promise<void> => {
    if (!window.confirm(`Rotate the secret of "${c.name}"? The old secret stops working at once.`)) return;
    await action.run(async () => {
      const r = await post<{ client: ApiClient; clientSecret: string }>(`/api-clients/${seg(c.id)}/rotate`);
      setSecret({ title: `New secret of ${r.client.name}`, clientId: r.client.clientId, secret: r.clientSecret });
      await list.reload();
    });
  };
  const revoke = async (c: ApiClient): Promise<void> => {
    if (!window.confirm(`Revoke "${c.name}"? Its tokens and signatures are refused from now on.`)) return;
    await action.run(async () => {
      await post(`/api-clients/${seg(c.id)}/revoke`);
      await list.reload();
    }, `${c.name} revoked.`);
  };

  return (
    <Section
      title="API clients"
      actions={
        <label className="inline-check">
          <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> Show revoked
        </label>
      }
    >
      <ErrorBox error={list.error ?? action.error} />
      <Notice text={action.notice} />
      {secret ? (
        <SecretOnce
          title={secret.title}
          items={[
            { label: 'Client ID', value: secret.clientId },
            { label: 'Client secret', value: secret.secret },
          ]}
          onDone={() => setSecret(undefined)}
        />
      ) : null}
      {list.loading && !list.data ? <Loading /> : null}
      <DataTable testId="api-clients" columns={['Name', 'Connection', 'Client ID', 'Scopes', 'Created', 'Last used', 'State', !readOnly && 'Actions']} rows={(list.data ?? []).length} empty="No API clients.">
        {(list.data ?? []).map((c) => (
          <tr key={c.id}>
            <td>{c.name}</td>
            <td>{names.get(c.connectionId) ?? c.connectionId}</td>
            <td className="mono">{c.clientId}</td>
            <td>
              {c.scopes.join(', ')}
              {c.oauth1 ? ' · OAuth 1.0a' : ''}
            </td>
            <td>{fmtTime(c.createdAt)}</td>
            <td>{fmtTime(c.lastUsedAt)}</td>
            <td>{c.revokedAt ? <Badge value="failed" label="revoked" /> : <Badge value="succeeded" label={c.rotatedAt ? 'active (rotated)' : 'active'} />}</td>
            {readOnly ? null : (
              <td className="actions">
                {c.revokedAt ? null : (
                  <>
                    <button type="button" onClick={() => void rotate(c)} aria-label={`Rotate the secret of ${c.name}`}>
                      Rotate secret
                    </button>
                    <button type="button" className="danger" onClick={() => void revoke(c)} aria-label={`Revoke ${c.name}`}>
                      Revoke
                    </button>
                  </>
                )}
              </td>
            )}
          </tr>
        ))}
      </DataTable>
      {readOnly || connections.length === 0 ? null : (
        <form className="subform" onSubmit={(e) => void create(e)} aria-labelledby="new-client">
          <h3 id="new-client">New API client</h3>
          <div className="filters">
            <div className="field">
              <label htmlFor="client-name">Name</label>
              <input id="client-name" required value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. LMS roster import" />
            </div>
            <div className="field">
              <label htmlFor="client-conn">Reads connection</label>
              <select id="client-conn" value={conn || connections[0]?.id} onChange={(e) => setConn(e.target.value)}>
                {connections.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                  </option>
                ))}
              </select>
            </div>
          </div>
          <fieldset className="inline">
            <legend>Scopes</legend>
            {SCOPES.map((s) => (
              <label key={s.id} className="radio">
                <input type="checkbox" checked={scopes.includes(s.id)} onChange={(e) => setScopes(e.target.checked ? [...scopes, s.id] : scopes.filter((x) => x !== s.id))} /> {s.label}
              </label>
            ))}
          </fieldset>
          <label className="inline-check">
            <input type="checkbox" checked={oauth1} onChange={(e) => setOauth1(e.target.checked)} /> Also accept OAuth 1.0a signatures
          </label>
          <div className="actions">
            <button type="submit" className="primary" disabled={name.trim() === '' || scopes.length === 0}>
              Create client
            </button>
          </div>
        </form>
      )}
    </Section>
  );
}

function Webhooks({ connections, names }: { connections: Connection[]; names: Map<string, string> }) {
  const { readOnly } = useSession();
  const list = useLoad(() => get<{ webhooks: Webhook[] }>('/webhooks').then((r) => r.webhooks), []);
  const [secret, setSecret] = useState<{ title: string; secret: string }>();
  const action = useAction();
  const [url, setUrl] = useState('');
  const [conn, setConn] = useState('');
  const [entities, setEntities] = useState<string[]>([]);

  const create = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    await action.run(async () => {
      const r = await post<{ webhook: Webhook; secret: string }>('/webhooks', { url: url.trim(), ...(conn ? { connectionId: conn } : {}), ...(entities.length > 0 ? { entities } : {}) });
      setSecret({ title: `Signing secret of ${shortUrl(r.webhook.url)}`, secret: r.secret });
      setUrl('');
      await list.reload();
    });
  };
  const remove = async (w: Webhook): Promise<void> => {
    if (!window.confirm(`Remove the webhook to ${shortUrl(w.url)}? It receives no more events.`)) return;
    await action.run(async () => {
      await api('DELETE', `/webhooks/${seg(w.id)}`);
      await list.reload();
    }, `Webhook to ${shortUrl(w.url)} removed.`);
  };
  const enable = async (w: Webhook): Promise<void> => {
    await action.run(async () => {
      await post(`/webhooks/${seg(w.id)}/enable`);
      await list.reload();
    }, `Webhook to ${shortUrl(w.url)} enabled again.`);
  };

  return (
    <Section title="Webhooks">
      <ErrorBox error={list.error ?? action.error} />
      <Notice text={action.notice} />
      {secret ? <SecretOnce title={secret.title} items={[{ label: 'Signing secret', value: secret.secret }]} onDone={() => setSecret(undefined)} /> : null}
      <DataTable testId="webhooks" columns={['URL', 'Connection', 'Entities', 'Last delivery', 'State', !readOnly && 'Actions']} rows={(list.data ?? []).length} empty="No webhooks.">
        {(list.data ?? []).map((w) => (
          <tr key={w.id}>
            <td className="mono wrap">{shortUrl(w.url)}</td>
            <td>{w.connectionId ? (names.get(w.connectionId) ?? w.connectionId) : 'all of the tenant'}</td>
            <td>{w.entities?.map((e) => ENTITY_LABELS[e] ?? e).join(', ') ?? 'all'}</td>
            <td>{fmtTime(w.lastDeliveryAt)}</td>
            <td>
              {w.disabledAt ? <Badge value="failed" label={`disabled: ${w.disabledReason ?? ''}`} /> : w.consecutiveFailures > 0 ? <Badge value="warning" label={`${w.consecutiveFailures} failures`} /> : <Badge value="succeeded" label="active" />}
              {w.lastError ? <div className="small muted">{w.lastError}</div> : null}
            </td>
            {readOnly ? null : (
              <td className="actions">
                {w.disabledAt ? (
                  <button type="button" onClick={() => void enable(w)}>
                    Enable
                  </button>
                ) : null}
                <button type="button" className="danger" onClick={() => void remove(w)} aria-label={`Remove the webhook to ${shortUrl(w.url)}`}>
                  Remove
                </button>
              </td>
            )}
          </tr>
        ))}
      </DataTable>
      {readOnly ? null : (
        <form className="subform" onSubmit={(e) => void create(e)} aria-labelledby="new-webhook">
          <h3 id="new-webhook">New webhook</h3>
          <div className="filters">
            <div className="field grow">
              <label htmlFor="hook-url">Receiver URL</label>
              <input id="hook-url" type="url" required className="mono" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://app.example.org/rostersync/events" />
            </div>
            <div className="field">
              <label htmlFor="hook-conn">Connection</label>
              <select id="hook-conn" value={conn} onChange={(e) => setConn(e.target.value)}>
                <option value="">Every connection of the tenant</option>
                {connections.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                  </option>
                ))}
              </select>
            </div>
          </div>
          <fieldset className="inline">
            <legend>Entities (none checked: all)</legend>
            {ENTITY_ORDER.map((e) => (
              <label key={e} className="radio">
                <input type="checkbox" checked={entities.includes(e)} onChange={(ev) => setEntities(ev.target.checked ? [...entities, e] : entities.filter((x) => x !== e))} /> {ENTITY_LABELS[e]}
              </label>
            ))}
          </fieldset>
          <div className="actions">
            <button type="submit" className="primary" disabled={url.trim() === ''}>
              Add webhook
            </button>
          </div>
        </form>
      )}
    </Section>
  );
}
