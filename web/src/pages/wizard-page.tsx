/**
 * The onboarding wizard, as SDS has it: pick the provider from the catalog (status and
 * capabilities shown; Test providers only when flighted for the tenant), read its setup guide,
 * enter the web access URL and credentials (OAuth 2 with its access token URL, or OAuth 1.0a),
 * choose the optional data (toggles greyed out when the provider lacks them), run the provider
 * checks against the unsaved settings, then save.
 */
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { errorText, get, post } from '../api.ts';
import { useSession } from '../app.tsx';
import { Badge, CheckTable, ErrorBox, Loading, Notice, TOGGLE_LABELS, useAction, useLoad } from '../components/ui.tsx';
import { navigate, seg, useTitle } from '../router.tsx';
import type { CheckResult, Connection, Provider, ProviderDetail, Toggle, Toggles } from '../types.ts';

type AuthKind = 'oauth2' | 'oauth1' | 'none';

interface CheckOutcome {
  passed: boolean;
  checks: CheckResult[];
  warnings: string[];
}

const TOGGLES: Toggle[] = ['contacts', 'demographics', 'userFlags'];

function Capabilities({ p }: { p: Provider }) {
  if (!p.supports) return null;
  return (
    <span className="caps">
      {TOGGLES.map((t) => (
        <span key={t} className={p.supports![t] ? 'cap cap-yes' : 'cap cap-no'}>
          <span aria-hidden="true">{p.supports![t] ? '✓' : '✗'}</span> {TOGGLE_LABELS[t]}
          <span className="visually-hidden">{p.supports![t] ? ' supported' : ' not supported'}</span>
        </span>
      ))}
    </span>
  );
}

export function WizardPage() {
  useTitle('Add a connection');
  const { readOnly, me } = useSession();
  // An installation admin chooses the tenant the connection belongs to (its flights decide the Test providers).
  const tenants = useLoad(() => (me.user.tenantId === undefined ? get<{ tenants: Array<{ id: string; name: string }> }>('/tenants').then((r) => r.tenants) : Promise.resolve([])), [me.user.tenantId]);
  const [tenant, setTenant] = useState<string>();
  const providers = useLoad(() => get<{ providers: Provider[] }>('/providers', { tenant }).then((r) => r.providers), [tenant]);
  const [filter, setFilter] = useState('');
  const [providerId, setProviderId] = useState<string>();
  const [detail, setDetail] = useState<ProviderDetail>();
  const [detailError, setDetailError] = useState<string>();

  const [name, setName] = useState('');
  const [baseUrl, setBaseUrl] = useState('');
  const [kind, setKind] = useState<AuthKind>('oauth2');
  const [clientId, setClientId] = useState('');
  const [clientSecret, setClientSecret] = useState('');
  const [tokenUrl, setTokenUrl] = useState('');
  const [scope, setScope] = useState('');
  const [signatureMethod, setSignatureMethod] = useState<'HMAC-SHA256' | 'HMAC-SHA1'>('HMAC-SHA256');
  const [toggles, setToggles] = useState<Toggles>({ contacts: false, demographics: false, userFlags: false });
  const [scheduled, setScheduled] = useState(true);

  const [check, setCheck] = useState<CheckOutcome>();
  // One action at a time (test or save); `pending` says which, for the buttons' labels.
  const action = useAction();
  const [pending, setPending] = useState<'check' | 'save'>();
  const checking = action.busy && pending === 'check';
  const saving = action.busy && pending === 'save';

  const all = providers.data ?? [];
  const selectable = all.filter((p) => p.selectable);
  const hidden = all.length - selectable.length;
  const shown = useMemo(() => {
    const f = filter.trim().toLowerCase();
    const list = selectable.filter((p) => f === '' || p.name.toLowerCase().includes(f) || p.id.includes(f));
    return list.sort((a, b) => Number(b.custom) - Number(a.custom) || a.name.localeCompare(b.name));
  }, [selectable, filter]);

  useEffect(() => {
    if (providerId === undefined) return;
    setDetail(undefined);
    setDetailError(undefined);
    get<ProviderDetail>(`/providers/${seg(providerId)}`, { tenant }).then(
      (d) => {
        setDetail(d);
        // The provider's defaults: on when it supports the data (SDS's toggles).
        setToggles({ contacts: false, demographics: false, userFlags: false, ...Object.fromEntries(d.toggles.map((t) => [t.toggle, t.available && t.defaultOn])) });
      },
      (err: unknown) => setDetailError(errorText(err)),
    );
  }, [providerId, tenant]);

  // Any change of the settings makes an earlier test result stale.
  useEffect(() => setCheck(undefined), [tenant, providerId, baseUrl, kind, clientId, clientSecret, tokenUrl, scope, signatureMethod, toggles]);

  const settings = () => ({
    ...(tenant !== undefined ? { tenantId: tenant } : {}),
    provider: providerId ?? 'custom',
    baseUrl: baseUrl.trim(),
    auth:
      kind === 'oauth2'
        ? { kind, clientId: clientId.trim(), clientSecret, tokenUrl: tokenUrl.trim(), ...(scope.trim() !== '' ? { scope: scope.trim() } : {}) }
        : kind === 'oauth1'
          ? { kind, clientId: clientId.trim(), clientSecret, signatureMethod }
          : { kind },
    toggles,
  });

  const runCheck = async (): Promise<void> => {
    setPending('check');
    setCheck(undefined);
    await action.run(async () => setCheck(await post<CheckOutcome>('/connections/check', settings())));
  };

  const save = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setPending('save');
    await action.run(async () => {
      const r = await post<{ connection: Connection; warnings: string[] }>('/connections', { name: name.trim(), ...settings(), schedule: { enabled: scheduled } });
      navigate(`/connections/${seg(r.connection.id)}?created=1`);
    });
  };

  if (readOnly) {
    return (
      <>
        <h1>Add a connection</h1>
        <p>This account is read-only (viewer): it cannot add connections.</p>
      </>
    );
  }
  const toggleState = (t: Toggle) => detail?.toggles.find((x) => x.toggle === t);
  const ready = providerId !== undefined && name.trim() !== '' && baseUrl.trim() !== '' && (kind === 'none' || (clientId.trim() !== '' && clientSecret !== '' && (kind !== 'oauth2' || tokenUrl.trim() !== '')));

  return (
    <>
      <h1>Add a connection</h1>
      <p className="lead">Connect your school information system's OneRoster 1.1 API. Nothing is saved until you press Save.</p>
      <form onSubmit={(e) => void save(e)} className="wizard" noValidate>
        <fieldset className="card">
          <legend>1. Provider</legend>
          {(tenants.data ?? []).length > 1 ? (
            <div className="field">
              <label htmlFor="conn-tenant">Tenant</label>
              <select
                id="conn-tenant"
                value={tenant ?? 'default'}
                onChange={(e) => {
                  setTenant(e.target.value);
                  setProviderId(undefined);
                  setDetail(undefined);
                }}
              >
                {(tenants.data ?? []).map((t) => (
                  <option key={t.id} value={t.id}>
                    {t.name} ({t.id})
                  </option>
                ))}
              </select>
            </div>
          ) : null}
          <ErrorBox error={providers.error} />
          {providers.loading && !providers.data ? <Loading what="Loading the provider catalog" /> : null}
          <div className="field">
            <label htmlFor="provider-filter">Find your SIS</label>
            <input id="provider-filter" type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="e.g. PowerSchool" aria-describedby="provider-hidden" />
            <p id="provider-hidden" className="hint">
              {shown.length} provider{shown.length === 1 ? '' : 's'} listed.
              {hidden > 0 ? ` ${hidden} more are not available to this tenant (SDS status Test without a flight, or No).` : ''}
            </p>
          </div>
          <div className="provider-list" role="radiogroup" aria-label="Provider">
            {shown.map((p) => (
              <label key={p.id} className={providerId === p.id ? 'provider selected' : 'provider'}>
                <input type="radio" name="provider" value={p.id} checked={providerId === p.id} onChange={() => setProviderId(p.id)} />
                <span className="provider-name">{p.name}</span>
                {p.custom ? <Badge value="skip" label="any OneRoster 1.1 API" /> : <Badge value={p.effectiveStatus === 'Yes' ? 'succeeded' : 'pending'} label={`SDS: ${p.effectiveStatus ?? p.status ?? 'not listed'}${p.flighted ? ' (flighted)' : ''}`} />}
                <Capabilities p={p} />
              </label>
            ))}
          </div>
          <ErrorBox error={detailError} />
          {detail ? (
            <details className="guide" open>
              <summary>Setup guide: {detail.provider.name}</summary>
              <pre>{detail.setupGuide}</pre>
            </details>
          ) : null}
        </fieldset>

        <fieldset className="card" disabled={providerId === undefined}>
          <legend>2. Access</legend>
          <div className="field">
            <label htmlFor="conn-name">Connection name</label>
            <input id="conn-name" required value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Springfield district SIS" />
          </div>
          <div className="field">
            <label htmlFor="conn-url">Web access URL</label>
            <input id="conn-url" type="url" required className="mono" value={baseUrl} onChange={(e) => setBaseUrl(e.target.value)} placeholder="https://sis.example.org/ims/oneroster/v1p1" aria-describedby="conn-url-hint" />
            <p id="conn-url-hint" className="hint">
              The root of the OneRoster API, usually ending in <code>/ims/oneroster/v1p1</code>.
            </p>
          </div>
          <fieldset className="inline">
            <legend>Authentication</legend>
            {(
              [
                ['oauth2', 'OAuth 2.0 (client credentials)'],
                ['oauth1', 'OAuth 1.0a'],
                ['none', 'None (test servers only)'],
              ] as const
            ).map(([k, label]) => (
              <label key={k} className="radio">
                <input type="radio" name="auth-kind" value={k} checked={kind === k} onChange={() => setKind(k)} /> {label}
              </label>
            ))}
          </fieldset>
          {kind !== 'none' ? (
            <>
              <div className="field">
                <label htmlFor="conn-client-id">Client ID</label>
                <input id="conn-client-id" required autoComplete="off" className="mono" value={clientId} onChange={(e) => setClientId(e.target.value)} />
              </div>
              <div className="field">
                <label htmlFor="conn-client-secret">Client secret</label>
                <input id="conn-client-secret" type="password" required autoComplete="new-password" className="mono" value={clientSecret} onChange={(e) => setClientSecret(e.target.value)} aria-describedby="conn-secret-hint" />
                <p id="conn-secret-hint" className="hint">
                  Stored encrypted; never shown again.
                </p>
              </div>
            </>
          ) : null}
          {kind === 'oauth2' ? (
            <>
              <div className="field">
                <label htmlFor="conn-token-url">Access token URL</label>
                <input id="conn-token-url" type="url" required className="mono" value={tokenUrl} onChange={(e) => setTokenUrl(e.target.value)} placeholder="https://sis.example.org/oauth/token" aria-describedby="conn-token-hint" />
                <p id="conn-token-hint" className="hint">
                  The OAuth 2 token endpoint; a different address from the web access URL.
                </p>
              </div>
              <div className="field">
                <label htmlFor="conn-scope">Scope (optional)</label>
                <input id="conn-scope" className="mono" value={scope} onChange={(e) => setScope(e.target.value)} />
              </div>
            </>
          ) : null}
          {kind === 'oauth1' ? (
            <div className="field">
              <label htmlFor="conn-sig">Signature method</label>
              <select id="conn-sig" value={signatureMethod} onChange={(e) => setSignatureMethod(e.target.value as 'HMAC-SHA256' | 'HMAC-SHA1')}>
                <option value="HMAC-SHA256">HMAC-SHA256</option>
                <option value="HMAC-SHA1">HMAC-SHA1</option>
              </select>
            </div>
          ) : null}
        </fieldset>

        <fieldset className="card" disabled={providerId === undefined}>
          <legend>3. Optional data</legend>
          {TOGGLES.map((t) => {
            const st = toggleState(t);
            const available = st?.available ?? false;
            const hint = `toggle-${t}-hint`;
            return (
              <div key={t} className={available ? 'toggle' : 'toggle unavailable'}>
                <label>
                  <input type="checkbox" checked={available && toggles[t]} disabled={!available} onChange={(e) => setToggles({ ...toggles, [t]: e.target.checked })} aria-describedby={hint} /> {TOGGLE_LABELS[t]}
                </label>
                <span id={hint} className="hint">
                  {available ? (t === 'userFlags' ? 'metadata."microsoft.userFlags" on students' : t === 'contacts' ? 'parents, guardians and relatives with their students' : 'birth date, sex, race and ethnicity') : (st?.reason ?? 'not offered by this provider')}
                </span>
              </div>
            );
          })}
          <label className="toggle">
            <input type="checkbox" checked={scheduled} onChange={(e) => setScheduled(e.target.checked)} /> Sync on a schedule (a delta sync every 12 hours, a full sync weekly)
          </label>
        </fieldset>

        <fieldset className="card" disabled={providerId === undefined}>
          <legend>4. Test and save</legend>
          <p className="muted">The test runs the provider checks against these settings: endpoints, paging, filters, dates, and the optional data you chose.</p>
          <ErrorBox error={action.error} />
          <div className="actions">
            <button type="button" onClick={() => void runCheck()} disabled={!ready || checking}>
              {checking ? 'Testing…' : 'Test connection'}
            </button>
            <button type="submit" className="primary" disabled={!ready || saving || check === undefined}>
              {saving ? 'Saving…' : check && !check.passed ? 'Save anyway' : 'Save connection'}
            </button>
          </div>
          {!ready ? <p className="hint">Choose a provider and fill in the access settings to test.</p> : check === undefined && !checking ? <p className="hint">Test the connection before saving.</p> : null}
          <Notice text={check ? (check.passed ? 'All checks passed.' : 'Some checks failed: the provider may not work as School Data Sync expects. Fix them at the SIS, or save anyway.') : undefined} kind={check && !check.passed ? 'warn' : 'ok'} />
          {check && check.warnings.length > 0 ? (
            <ul className="warnings">
              {check.warnings.map((w) => (
                <li key={w}>{w}</li>
              ))}
            </ul>
          ) : null}
          {check ? <CheckTable checks={check.checks} caption="Provider checks" /> : null}
        </fieldset>
      </form>
    </>
  );
}
