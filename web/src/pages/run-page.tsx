/**
 * A run: live progress while it runs (server-sent events from GET /api/v1/runs/ID/events), then
 * per-entity counts, charts of records per entity and of issues by rule, the held or dry run's
 * plan, and the error report as a filterable table with its CSV download.
 */
import { useEffect, useMemo, useState } from 'react';
import { API, get } from '../api.ts';
import { useSession } from '../app.tsx';
import { BarChart } from '../components/bar-chart.tsx';
import { Badge, ENTITY_LABELS, ENTITY_ORDER, ErrorBox, fmtDuration, fmtNum, fmtTime, HealthBanner, Loading, RunStatus, Section, useLoad, DataTable } from '../components/ui.tsx';
import { Link, seg, useTitle } from '../router.tsx';
import type { Connection, Plan, Progress, Report, Run } from '../types.ts';
import { HoldDecision, PlanTables } from './holds-page.tsx';

const COUNT_SERIES = [
  { key: 'created', label: 'Created', className: 'series-created' },
  { key: 'updated', label: 'Updated', className: 'series-updated' },
  { key: 'unchanged', label: 'Unchanged', className: 'series-unchanged' },
  { key: 'deleted', label: 'Deleted', className: 'series-deleted' },
  { key: 'invalid', label: 'Invalid (dropped)', className: 'series-invalid' },
];

/** Follows a running run's event stream; returns the latest progress per collection and whether it ended. */
function useRunEvents(id: number, running: boolean, onDone: () => void): { progress: Record<string, Progress>; live: boolean } {
  const [progress, setProgress] = useState<Record<string, Progress>>({});
  const [live, setLive] = useState(false);
  useEffect(() => {
    if (!running) return undefined;
    // Same origin: the session cookie goes along (EventSource cannot send headers; a GET needs no CSRF token).
    const es = new EventSource(`${API}/runs/${id}/events`);
    setLive(true);
    es.addEventListener('progress', (e) => {
      const p = JSON.parse((e as MessageEvent<string>).data) as Progress;
      setProgress((old) => ({ ...old, [p.collection]: p }));
    });
    es.addEventListener('done', () => {
      es.close();
      setLive(false);
      onDone();
    });
    es.onerror = () => {
      // The server ends the stream after `done`; a broken stream falls back to re-reading the run.
      if (es.readyState === EventSource.CLOSED) {
        setLive(false);
        onDone();
      }
    };
    return () => es.close();
  }, [id, running, onDone]);
  return { progress, live };
}

export function RunPage({ id }: { id: number }) {
  useTitle(`Run #${id}`);
  const runLoad = useLoad(async () => {
    const { run } = await get<{ run: Run }>(`/runs/${id}`);
    const conn = await get<{ connection: Connection }>(`/connections/${seg(run.connectionId)}`).then(
      (r) => r.connection,
      () => undefined,
    );
    return { run, conn };
  }, [id]);
  const run = runLoad.data?.run;
  const running = run?.status === 'running';
  const { progress, live } = useRunEvents(id, running, runLoad.reload);
  // A run that ended may have been held, or may have applied an approval: recount the holds.
  const { refreshHolds } = useSession();
  const ended = run !== undefined && !running;
  useEffect(() => {
    if (ended) refreshHolds();
  }, [ended, refreshHolds]);

  if (!run) {
    return (
      <>
        <h1>Run #{id}</h1>
        <ErrorBox error={runLoad.error} />
        {runLoad.loading ? <Loading /> : null}
      </>
    );
  }
  const conn = runLoad.data?.conn;
  return (
    <>
      <p className="crumbs">
        <Link to="/">Dashboard</Link> › {conn ? <Link to={`/connections/${seg(conn.id)}`}>{conn.name}</Link> : run.connectionId} › Run
      </p>
      <h1>
        Run #{run.id} <RunStatus run={run} />
      </h1>
      <dl className="facts inline-facts">
        <div>
          <dt>Mode</dt>
          <dd>
            {run.mode}
            {run.dryRun ? ' (dry run: nothing applied)' : ''}
          </dd>
        </div>
        <div>
          <dt>SDS status</dt>
          <dd>{run.sdsStatus ? <Badge value={run.sdsStatus} /> : '—'}</dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>{fmtTime(run.startedAt)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{fmtDuration(run.startedAt, run.finishedAt)}</dd>
        </div>
        {run.approvalOf !== undefined ? (
          <div>
            <dt>Approves</dt>
            <dd>
              <Link to={`/runs/${run.approvalOf}`}>held run #{run.approvalOf}</Link>
            </dd>
          </div>
        ) : null}
        {run.approvedRun !== undefined ? (
          <div>
            <dt>Applied by</dt>
            <dd>
              <Link to={`/runs/${run.approvedRun}`}>run #{run.approvedRun}</Link>
            </dd>
          </div>
        ) : null}
      </dl>
      {run.error ? <ErrorBox error={`${run.error.message} (${run.error.code})`} /> : null}
      {running ? <LiveProgress progress={progress} live={live} /> : <HealthBanner run={run} />}
      {run.status === 'held' ? <HeldPanel run={run} onDecided={runLoad.reload} /> : null}
      {!running ? <Counts run={run} /> : null}
      {run.dryRun && !running ? <DryRunPlan run={run} /> : null}
      {!running && run.status !== 'failed' ? <IssueReport run={run} /> : null}
    </>
  );
}

function LiveProgress({ progress, live }: { progress: Record<string, Progress>; live: boolean }) {
  const rows = ENTITY_ORDER.filter((e) => progress[e]).map((e) => progress[e]!);
  return (
    <Section title="Progress">
      <p className="muted" role="status" aria-live="polite">
        {live ? 'Syncing: progress updates live.' : 'Waiting for the run to report…'} {rows.filter((r) => r.done).length} of {rows.length} collections read.
      </p>
      <DataTable testId="progress" scroll={false} columns={['Collection', 'Progress', { label: 'Records', num: true }, { label: 'Pages', num: true }]} rows={rows.length}>
        {rows.map((p) => (
          <tr key={p.collection}>
            <th scope="row">{ENTITY_LABELS[p.collection] ?? p.collection}</th>
            <td>
              <progress max={p.total ?? (p.done ? p.records : p.records + 1)} value={p.records} aria-label={`${p.collection} records read`} />
              {p.done ? ' done' : ''}
            </td>
            <td className="num">
              {fmtNum(p.records)}
              {p.total !== undefined ? ` / ${fmtNum(p.total)}` : ''}
            </td>
            <td className="num">{fmtNum(p.pages)}</td>
          </tr>
        ))}
      </DataTable>
    </Section>
  );
}

function HeldPanel({ run, onDecided }: { run: Run; onDecided: () => Promise<void> }) {
  const plan = useLoad(() => get<{ plan: Plan }>(`/runs/${run.id}/plan`, { limit: 10 }).then((r) => r.plan), [run.id, run.holdState]);
  return (
    <Section title={run.holdState === 'pending' ? 'Held for approval' : `Hold ${run.holdState ?? ''}`}>
      <p>
        The safeguards stopped this sync before it changed anything. {run.holdState === 'pending' ? 'Approve it to apply the plan, or discard it.' : `It was ${run.holdState} by ${run.holdResolvedBy ?? 'someone'} on ${fmtTime(run.holdResolvedAt)}.`}
      </p>
      <ul>
        {(run.hold ?? []).map((h, i) => (
          <li key={i}>{h.message ?? `${h.entity}: ${h.rule}`}</li>
        ))}
      </ul>
      {run.holdState === 'pending' ? <HoldDecision run={run} onDecided={onDecided} /> : null}
      <ErrorBox error={plan.error} />
      {plan.data ? <PlanTables plan={plan.data} /> : null}
    </Section>
  );
}

function DryRunPlan({ run }: { run: Run }) {
  const plan = useLoad(() => get<{ plan: Plan }>(`/runs/${run.id}/plan`, { limit: 20 }).then((r) => r.plan), [run.id]);
  return (
    <Section title="Plan (dry run)">
      <ErrorBox error={plan.error} />
      {plan.data ? <PlanTables plan={plan.data} /> : <Loading />}
    </Section>
  );
}

function Counts({ run }: { run: Run }) {
  const entities = ENTITY_ORDER.filter((e) => run.entities[e]);
  const rows = entities.map((e) => {
    const c = run.entities[e]!;
    return { label: ENTITY_LABELS[e] ?? e, values: { created: (c.created ?? 0) + (c.restored ?? 0), updated: c.updated ?? 0, unchanged: c.unchanged ?? 0, deleted: c.deleted ?? 0, invalid: c.invalid ?? 0 } };
  });
  const pages = entities.reduce((n, e) => n + (run.entities[e]!.pages ?? 0), 0);
  const known = entities.reduce((n, e) => n + (run.entities[e]!.knownPages ?? 0), 0);
  return (
    <Section title="Records per entity">
      <div className="counts-layout">
        <DataTable testId="entity-counts" compact scroll={false} columns={['Entity', 'Outcome', { label: 'Fetched', num: true }, { label: 'Created', num: true }, { label: 'Updated', num: true }, { label: 'Deleted', num: true }, { label: 'Unchanged', num: true }, { label: 'Invalid', num: true }]} rows={entities.length}>
          {entities.map((e) => {
            const c = run.entities[e]!;
            return (
              <tr key={e} data-entity={e}>
                <th scope="row">{ENTITY_LABELS[e]}</th>
                <td>{c.outcome ?? '—'}</td>
                <td className="num">{fmtNum(c.fetched)}</td>
                <td className="num" data-col="created">
                  {fmtNum((c.created ?? 0) + (c.restored ?? 0))}
                </td>
                <td className="num" data-col="updated">
                  {fmtNum(c.updated)}
                </td>
                <td className="num" data-col="deleted">
                  {fmtNum(c.deleted)}
                </td>
                <td className="num" data-col="unchanged">
                  {fmtNum(c.unchanged)}
                </td>
                <td className="num">{fmtNum(c.invalid)}</td>
              </tr>
            );
          })}
        </DataTable>
        <BarChart title="Records per entity" series={COUNT_SERIES} rows={rows} testId="chart-entities" />
      </div>
      {known > 0 ? (
        <p className="muted" data-testid="known-pages">
          {fmtNum(known)} of {fmtNum(pages)} pages were the same bytes as the last full sync and matched the store: they were skipped without being read again.
        </p>
      ) : null}
    </Section>
  );
}

const PAGE = 50;

function IssueReport({ run }: { run: Run }) {
  const [severity, setSeverity] = useState('');
  const [rule, setRule] = useState('');
  const [entity, setEntity] = useState('');
  const [text, setText] = useState('');
  const [offset, setOffset] = useState(0);
  useEffect(() => setOffset(0), [severity, rule, entity]);
  const report = useLoad(
    () => get<Report>(`/runs/${run.id}/report`, { severity: severity || undefined, rule: rule || undefined, entity: entity || undefined, limit: PAGE, offset }),
    [run.id, severity, rule, entity, offset],
  );
  const r = report.data;
  const rules = r?.summary ?? [];
  const shown = useMemo(() => {
    const t = text.trim().toLowerCase();
    return (r?.rows ?? []).filter((x) => t === '' || `${x.sourcedId} ${x.field ?? ''} ${x.message}`.toLowerCase().includes(t));
  }, [r, text]);
  const chartRows = rules.map((s) => ({ label: s.rule, values: { [s.severity]: s.count } }));
  const total = r ? r.totals.errors + r.totals.warnings : 0;
  return (
    <Section
      title="Error report"
      id="report"
      actions={
        <a className="button" href={`${API}/runs/${run.id}/report.csv`} download={`rostersync-run-${run.id}-issues.csv`}>
          Download CSV
        </a>
      }
    >
      <ErrorBox error={report.error} />
      {r ? (
        <>
          <p>
            {fmtNum(r.totals.errors)} error{r.totals.errors === 1 ? '' : 's'} (record dropped) and {fmtNum(r.totals.warnings)} warning{r.totals.warnings === 1 ? '' : 's'} (value dropped or corrected).
            {r.notListed > 0 ? ` ${fmtNum(r.notListed)} more were counted but not stored.` : ''}
          </p>
          {total > 0 ? (
            <div className="grid-2">
              <BarChart
                title="Issues by rule"
                series={[
                  { key: 'error', label: 'Errors', className: 'series-error' },
                  { key: 'warning', label: 'Warnings', className: 'series-warning' },
                ]}
                rows={chartRows}
                testId="chart-rules"
              />
              <DataTable caption="Rules, most frequent first" compact scroll={false} columns={['Rule', 'Severity', { label: 'Count', num: true }]} rows={rules.length}>
                {rules.map((s) => (
                  <tr key={s.rule}>
                    <td>
                      <button type="button" className="link-button" onClick={() => setRule(s.rule)} title={s.description}>
                        {s.rule}
                      </button>
                    </td>
                    <td>
                      <Badge value={s.severity} />
                    </td>
                    <td className="num">{fmtNum(s.count)}</td>
                  </tr>
                ))}
              </DataTable>
            </div>
          ) : null}
        </>
      ) : (
        <Loading />
      )}
      {total > 0 ? (
        <>
          <div className="filters" role="group" aria-label="Filter the report">
            <div className="field">
              <label htmlFor="f-severity">Severity</label>
              <select id="f-severity" value={severity} onChange={(e) => setSeverity(e.target.value)}>
                <option value="">All</option>
                <option value="error">Errors</option>
                <option value="warning">Warnings</option>
              </select>
            </div>
            <div className="field">
              <label htmlFor="f-rule">Rule</label>
              <select id="f-rule" value={rule} onChange={(e) => setRule(e.target.value)}>
                <option value="">All</option>
                {rules.map((s) => (
                  <option key={s.rule} value={s.rule}>
                    {s.rule}
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor="f-entity">Entity</label>
              <select id="f-entity" value={entity} onChange={(e) => setEntity(e.target.value)}>
                <option value="">All</option>
                {ENTITY_ORDER.map((e) => (
                  <option key={e} value={e}>
                    {ENTITY_LABELS[e]}
                  </option>
                ))}
              </select>
            </div>
            <div className="field grow">
              <label htmlFor="f-text">Find in this page (sourcedId, field, message)</label>
              <input id="f-text" type="search" value={text} onChange={(e) => setText(e.target.value)} />
            </div>
          </div>
          <p className="muted" role="status" aria-live="polite">
            {r ? `Rows ${r.matched === 0 ? 0 : offset + 1}–${Math.min(offset + PAGE, r.matched)} of ${fmtNum(r.matched)} matching${text.trim() !== '' ? `; ${shown.length} shown after the text filter` : ''}.` : ''}
          </p>
          <DataTable testId="report-table" className="report" columns={['Severity', 'Rule', 'Entity', 'sourcedId', 'Field', 'Value', 'Message']} rows={shown.length}>
            {shown.map((x, i) => (
              <tr key={`${offset + i}`}>
                <td>
                  <Badge value={x.severity} />
                </td>
                <td>{x.rule}</td>
                <td>{x.entity}</td>
                <td className="mono">{x.sourcedId}</td>
                <td className="mono">{x.field ?? ''}</td>
                <td className="mono">{x.value ?? ''}</td>
                <td className="wrap">{x.message}</td>
              </tr>
            ))}
          </DataTable>
          <div className="pager">
            <button type="button" onClick={() => setOffset(Math.max(0, offset - PAGE))} disabled={offset === 0}>
              Previous
            </button>
            <button type="button" onClick={() => setOffset(offset + PAGE)} disabled={!r || offset + PAGE >= r.matched}>
              Next
            </button>
          </div>
        </>
      ) : null}
    </Section>
  );
}
