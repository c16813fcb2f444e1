/**
 * One connection: its settings (never the secret), schedule, live records, runs, and the actions:
 * test (the provider checks against the stored settings), sync (full, delta, dry run), remove.
 */
import { useState } from 'react';
import { errorText, get, post, api } from '../api.ts';
import { useSession } from '../app.tsx';
import { Badge, CheckTable, ENTITY_LABELS, ENTITY_ORDER, ErrorBox, fmtNum, HealthBanner, Loading, Notice, Section, TOGGLE_LABELS, useLoad } from '../components/ui.tsx';
import { RunsTable } from '../components/runs-table.tsx';
import { Link, navigate, seg, useLocation, useTitle } from '../router.tsx';
import type { CheckResult, ConnectionDetail, Run, SyncStarted } from '../types.ts';
import { lastFinished, nextRun } from './dashboard-page.tsx';

export function ConnectionPage({ id }: { id: string }) {
  const { readOnly } = useSession();
  const { query } = useLocation();
  const { data, error, loading, reload } = useLoad(async () => {
    const [detail, runs] = await Promise.all([get<ConnectionDetail>(`/connections/${seg(id)}`), get<{ runs: Run[] }>('/runs', { connection: id, limit: 20 })]);
    return { detail, runs: runs.runs };
  }, [id]);
  useTitle(data?.detail.connection.name ?? 'Connection');
  const [check, setCheck] = useState<{ passed: boolean; checks: CheckResult[] }>();
  const [busy, setBusy] = useState<string>();
  const [actionError, setActionError] = useState<string>();

  if (!data) {
    return (
      <>
        <h1>Connection</h1>
        <ErrorBox error={error} />
        {loading ? <Loading /> : null}
      </>
    );
  }
  const { connection: c, records, schedule } = data.detail;
  const running = data.runs.find((r) => r.status === 'running');

  const act = async (what: string, fn: () => Promise<void>): Promise<void> => {
    setBusy(what);
    setActionError(undefined);
    try {
      await fn();
    } catch (err) {
      setActionError(errorText(err));
    } finally {
      setBusy(undefined);
    }
  };
  const sync = (mode: 'full' | 'delta', dryRun: boolean) =>
    act(`sync-${mode}-${dryRun}`, async () => {
      const s = await post<SyncStarted>(`/connections/${seg(c.id)}/sync`, { mode, dryRun });
      navigate(`/runs/${s.runId}`);
    });
  const test = () =>
    act('test', async () => {
      setCheck(undefined);
      setCheck(await post<{ passed: boolean; checks: CheckResult[] }>(`/connections/${seg(c.id)}/test`));
    });
  const remove = () =>
    act('remove', async () => {
      if (!window.confirm(`Remove the connection "${c.name}" and everything synced from it? This cannot be undone.`)) return;
      await api('DELETE', `/connections/${seg(c.id)}`);
      navigate('/');
    });

  const toggles = c.options.toggles ?? {};
  return (
    <>
      <p className="crumbs">
        <Link to="/">Dashboard</Link> › Connection
      </p>
      <h1>{c.name}</h1>
      <Notice text={query.get('created') ? 'Connection saved. Run a first sync to bring in the rosters.' : undefined} />
      <ErrorBox error={error} />
      <HealthBanner run={lastFinished(data.runs)} />
      {readOnly ? null : (
        <div className="toolbar" role="group" aria-label="Connection actions">
          {running ? (
            <Link to={`/runs/${running.id}`} className="button primary">
              Follow run #{running.id}
            </Link>
          ) : (
            <>
              <button type="button" className="primary" onClick={() => void sync('full', false)} disabled={busy !== undefined}>
                Run full sync
              </button>
              <button type="button" onClick={() => void sync('delta', false)} disabled={busy !== undefined}>
                Run delta sync
              </button>
              <button type="button" onClick={() => void sync('full', true)} disabled={busy !== undefined}>
                Dry run (plan only)
              </button>
            </>
          )}
          <button type="button" onClick={() => void test()} disabled={busy !== undefined}>
            {busy === 'test' ? 'Testing…' : 'Test connection'}
          </button>
          <button type="button" className="danger" onClick={() => void remove()} disabled={busy !== undefined || running !== undefined}>
            Remove
          </button>
        </div>
      )}
      <ErrorBox error={actionError} />
      {check ? (
        <Section title="Provider checks">
          <Notice text={check.passed ? 'All checks passed.' : 'Some checks failed.'} kind={check.passed ? 'ok' : 'warn'} />
          <CheckTable checks={check.checks} caption="Provider checks against the stored settings" />
        </Section>
      ) : null}
      <div className="grid-2">
        <Section title="Settings">
          <dl className="facts">
            <div>
              <dt>Provider</dt>
              <dd>{String(c.options.provider ?? 'custom')}</dd>
            </div>
            <div>
              <dt>Web access URL</dt>
              <dd className="mono wrap">{c.baseUrl}</dd>
            </div>
            <div>
              <dt>Authentication</dt>
              <dd>
                {c.authKind === 'oauth2' ? 'OAuth 2.0' : c.authKind === 'oauth1' ? 'OAuth 1.0a' : 'none'}
                {c.options.clientId ? (
                  <>
                    , client ID <span className="mono">{c.options.clientId}</span>
                  </>
                ) : null}
                {c.hasSecret ? ', secret stored (encrypted)' : ''}
              </dd>
            </div>
            {c.options.tokenUrl ? (
              <div>
                <dt>Access token URL</dt>
                <dd className="mono wrap">{c.options.tokenUrl}</dd>
              </div>
            ) : null}
            <div>
              <dt>Optional data</dt>
              <dd>
                {(['contacts', 'demographics', 'userFlags'] as const).map((t) => (
                  <Badge key={t} value={toggles[t] ? 'succeeded' : 'skip'} label={`${TOGGLE_LABELS[t]} ${toggles[t] ? 'on' : 'off'}`} />
                ))}
              </dd>
            </div>
            <div>
              <dt>Tenant</dt>
              <dd>{c.tenantId}</dd>
            </div>
          </dl>
        </Section>
        <Section title="Schedule">
          <dl className="facts">
            <div>
              <dt>Schedules</dt>
              <dd>{schedule.enabled ? 'on' : 'off'}</dd>
            </div>
            <div>
              <dt>Delta sync</dt>
              <dd className="mono">{schedule.delta}</dd>
            </div>
            <div>
              <dt>Full sync</dt>
              <dd className="mono">{schedule.full}</dd>
            </div>
            <div>
              <dt>Time zone</dt>
              <dd>{schedule.timezone}</dd>
            </div>
            <div>
              <dt>Next scheduled run</dt>
              <dd>{nextRun(data.detail)}</dd>
            </div>
            <div>
              <dt>History kept</dt>
              <dd>{schedule.retentionDays} days</dd>
            </div>
          </dl>
          {readOnly ? null : (
            <button
              type="button"
              onClick={() =>
                void act('schedule', async () => {
                  await api('PATCH', `/connections/${seg(c.id)}/schedule`, { enabled: !schedule.enabled });
                  await reload();
                })
              }
              disabled={busy !== undefined}
            >
              {schedule.enabled ? 'Turn schedules off' : 'Turn schedules on'}
            </button>
          )}
        </Section>
      </div>
      <Section title="Live records" actions={<Link to={`/data?connection=${seg(c.id)}`}>Browse the data</Link>}>
        <table className="table compact">
          <thead>
            <tr>
              <th scope="col">Entity</th>
              <th scope="col" className="num">
                Active
              </th>
              <th scope="col" className="num">
                Deleted (kept {schedule.retentionDays} days)
              </th>
            </tr>
          </thead>
          <tbody>
            {ENTITY_ORDER.map((e) => (
              <tr key={e}>
                <th scope="row">{ENTITY_LABELS[e]}</th>
                <td className="num">{fmtNum(records[e]?.active)}</td>
                <td className="num">{fmtNum(records[e]?.deleted)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      <Section title="Runs">
        <RunsTable runs={data.runs} />
      </Section>
    </>
  );
}
