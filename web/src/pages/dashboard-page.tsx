/**
 * The dashboard: per connection its health (SDS's banner), last runs with their status and issue
 * counts, live records per entity, and the next scheduled run; pending holds at the top.
 */
import { useEffect } from 'react';
import { get, post } from '../api.ts';
import { useSession } from '../app.tsx';
import { ENTITY_LABELS, ENTITY_ORDER, ErrorBox, fmtNum, fmtTime, HealthBanner, issueCounts, Loading, shortUrl, useAction, useLoad } from '../components/ui.tsx';
import { RunsTable } from '../components/runs-table.tsx';
import { Link, navigate, seg, useTitle } from '../router.tsx';
import type { Connection, ConnectionDetail, Run, SyncStarted } from '../types.ts';

interface Card {
  detail: ConnectionDetail;
  runs: Run[];
}

/** The newest run that finished and looked at data (not running, not failed before reading). */
export function lastFinished(runs: Run[]): Run | undefined {
  return runs.find((r) => r.status !== 'running' && !r.dryRun && r.status !== 'failed');
}

/** The next scheduled sync of a connection, if its schedules are on. */
export function nextRun(d: ConnectionDetail): string {
  const s = d.schedule;
  if (!s.enabled) return 'Schedules off';
  const times = [s.nextFull && { at: s.nextFull, what: 'full' }, s.nextDelta && { at: s.nextDelta, what: 'delta' }].filter((x): x is { at: string; what: string } => !!x);
  if (s.due) return `Due now (${s.due})`;
  if (times.length === 0) return '—';
  times.sort((a, b) => a.at.localeCompare(b.at));
  return `${fmtTime(times[0]!.at)} (${times[0]!.what})`;
}

export function DashboardPage() {
  useTitle('Dashboard');
  const { holds, readOnly } = useSession();
  const { data, error, loading, reload } = useLoad(async () => {
    const { connections } = await get<{ connections: Connection[] }>('/connections');
    return Promise.all(
      connections.map(async (c): Promise<Card> => {
        const [detail, runs] = await Promise.all([get<ConnectionDetail>(`/connections/${seg(c.id)}`), get<{ runs: Run[] }>('/runs', { connection: c.id, limit: 5 })]);
        return { detail, runs: runs.runs };
      }),
    );
  }, []);
  // While a run is going, refresh every few seconds (AutoRefresh below).
  const anyRunning = (data ?? []).some((c) => c.runs.some((r) => r.status === 'running'));

  const cards = data ?? [];
  const finished = cards.map((c) => lastFinished(c.runs)).filter((r): r is Run => r !== undefined);
  const withIssues = finished.filter((r) => issueCounts(r).errors + issueCounts(r).warnings > 0);
  return (
    <>
      <h1>Dashboard</h1>
      <ErrorBox error={error} />
      {holds > 0 ? (
        <div className="banner banner-warn">
          {holds} sync{holds === 1 ? ' is' : 's are'} held for approval. <Link to="/holds">Review the holds</Link>.
        </div>
      ) : null}
      {finished.length > 0 ? (
        withIssues.length === 0 ? (
          <div className="banner banner-ok" data-health="clean">
            No data errors or warnings found.
          </div>
        ) : (
          <div className="banner banner-warn" data-health="issues">
            We found some issues with your data. {withIssues.length} of {finished.length} connection{finished.length === 1 ? '' : 's'} reported errors or warnings in their last sync.
          </div>
        )
      ) : null}
      {loading && !data ? <Loading /> : null}
      {data && cards.length === 0 ? (
        <div className="card empty">
          <h2>No connections yet</h2>
          <p>Connect Rostersync to your school information system's OneRoster 1.1 API to start syncing rosters.</p>
          {readOnly ? null : (
            <Link to="/connections/new" className="button primary">
              Add a connection
            </Link>
          )}
        </div>
      ) : null}
      <div className="cards">
        {cards.map((c) => (
          <ConnectionCard key={c.detail.connection.id} card={c} onChange={reload} />
        ))}
      </div>
      {anyRunning ? <AutoRefresh reload={reload} /> : null}
    </>
  );
}

/** Re-reads the dashboard every 3 s while a run is going. */
function AutoRefresh({ reload }: { reload: () => Promise<void> }) {
  useEffect(() => {
    const t = setInterval(() => void reload(), 3000);
    return () => clearInterval(t);
  }, [reload]);
  return null;
}

function ConnectionCard({ card, onChange }: { card: Card; onChange: () => Promise<void> }) {
  const { readOnly } = useSession();
  const { connection: c, records } = card.detail;
  const action = useAction();
  const last = lastFinished(card.runs);
  const running = card.runs.find((r) => r.status === 'running');
  const sync = async (): Promise<void> => {
    const started = await action.run(async () => {
      const s = await post<SyncStarted>(`/connections/${seg(c.id)}/sync`, { mode: 'full' });
      navigate(`/runs/${s.runId}`);
    });
    // Refused (e.g. a run already going): show the card as it is now.
    if (!started) void onChange();
  };
  return (
    <section className="card connection-card" aria-labelledby={`conn-${c.id}`} data-connection={c.id}>
      <div className="card-head">
        <div>
          <h2 id={`conn-${c.id}`}>
            <Link to={`/connections/${seg(c.id)}`}>{c.name}</Link>
          </h2>
          <p className="muted small">
            {String(c.options.provider ?? 'custom')} · {shortUrl(c.baseUrl)} · tenant {c.tenantId}
          </p>
        </div>
        <div className="actions">
          {running ? (
            <Link to={`/runs/${running.id}`} className="button">
              Follow run #{running.id}
            </Link>
          ) : readOnly ? null : (
            <button type="button" className="primary" onClick={() => void sync()} disabled={action.busy}>
              {action.busy ? 'Starting…' : 'Sync now'}
            </button>
          )}
        </div>
      </div>
      <ErrorBox error={action.error} />
      <HealthBanner run={last} />
      <dl className="facts">
        <div>
          <dt>Next scheduled run</dt>
          <dd>{nextRun(card.detail)}</dd>
        </div>
        <div>
          <dt>Last sync</dt>
          <dd>{last ? `${fmtTime(last.finishedAt)} (${last.sdsStatus ?? last.status})` : '—'}</dd>
        </div>
      </dl>
      <table className="table compact">
        <caption>Records per entity</caption>
        <thead>
          <tr>
            {ENTITY_ORDER.map((e) => (
              <th scope="col" key={e}>
                {ENTITY_LABELS[e]}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          <tr>
            {ENTITY_ORDER.map((e) => (
              <td key={e} className="num">
                {fmtNum(records[e]?.active)}
              </td>
            ))}
          </tr>
        </tbody>
      </table>
      <RunsTable runs={card.runs} caption="Last runs" compact sdsColumn={false} />
    </section>
  );
}
