/**
 * Holds: syncs the safeguards stopped before applying (mass deletions or updates), with their
 * planned changes (counts per entity, the first planned deletions); approve re-runs the sync
 * applying at most what was planned, discard drops the plan.
 */
import { useState } from 'react';
import { get, post } from '../api.ts';
import { useSession } from '../app.tsx';
import { ENTITY_LABELS, ErrorBox, fmtNum, fmtTime, Loading, Notice, Section, useAction, useLoad, DataTable } from '../components/ui.tsx';
import { Link, navigate, seg, useTitle } from '../router.tsx';
import type { Connection, Plan, Run, SyncStarted } from '../types.ts';

/** Planned changes: counts per entity and kind, then the first rows. */
export function PlanTables({ plan }: { plan: Plan }) {
  const entities = Object.keys(plan.counts);
  const kinds = ['created', 'updated', 'restored', 'deleted'];
  return (
    <>
      <table className="table compact" data-testid="plan-counts">
        <caption>Planned changes per entity</caption>
        <thead>
          <tr>
            <th scope="col">Entity</th>
            {kinds.map((k) => (
              <th scope="col" className="num" key={k}>
                {k[0]!.toUpperCase() + k.slice(1)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {entities.length === 0 ? (
            <tr>
              <td colSpan={5} className="muted">
                No changes planned.
              </td>
            </tr>
          ) : (
            entities.map((e) => (
              <tr key={e} data-entity={e}>
                <th scope="row">{ENTITY_LABELS[e] ?? e}</th>
                {kinds.map((k) => (
                  <td className={k === 'deleted' && (plan.counts[e]?.[k] ?? 0) > 0 ? 'num strong-bad' : 'num'} key={k} data-col={k}>
                    {fmtNum(plan.counts[e]?.[k] ?? 0)}
                  </td>
                ))}
              </tr>
            ))
          )}
        </tbody>
      </table>
      {plan.changes.length > 0 ? (
        <DataTable caption={`First planned changes${plan.truncated ? ' (more not shown)' : ''}`} compact scroll={false} columns={['Change', 'Entity', 'sourcedId', 'Fields']} rows={plan.changes.length}>
          {plan.changes.map((c) => (
            <tr key={`${c.entity}-${c.kind}-${c.sourcedId}`}>
              <td>{c.kind}</td>
              <td>{ENTITY_LABELS[c.entity] ?? c.entity}</td>
              <td className="mono">{c.sourcedId}</td>
              <td className="mono wrap small">{c.fields ? Object.keys(c.fields).join(', ') : ''}</td>
            </tr>
          ))}
        </DataTable>
      ) : null}
    </>
  );
}

/** Approve / discard buttons of a pending hold. */
export function HoldDecision({ run, onDecided }: { run: Run; onDecided: () => Promise<void> | void }) {
  const { readOnly, refreshHolds } = useSession();
  const action = useAction();
  if (readOnly) return <p className="muted">A read-only account cannot approve or discard holds.</p>;
  const approve = async (): Promise<void> => {
    if (!window.confirm(`Approve held run #${run.id}? Rostersync re-runs the sync and applies at most what was planned, deletions included.`)) return;
    await action.run(async () => {
      const s = await post<SyncStarted>(`/holds/${run.id}/approve`);
      refreshHolds();
      navigate(`/runs/${s.runId}`);
    });
  };
  const discard = async (): Promise<void> => {
    if (!window.confirm(`Discard held run #${run.id}? Nothing of it is applied; the next sync plans afresh.`)) return;
    await action.run(async () => {
      await post(`/holds/${run.id}/discard`);
      refreshHolds();
      await onDecided();
    });
  };
  return (
    <>
      <ErrorBox error={action.error} />
      <div className="actions">
        <button type="button" className="primary" onClick={() => void approve()} disabled={action.busy}>
          Approve and apply
        </button>
        <button type="button" className="danger" onClick={() => void discard()} disabled={action.busy}>
          Discard
        </button>
      </div>
    </>
  );
}

export function HoldsPage() {
  useTitle('Holds');
  const [done, setDone] = useState<string>();
  const { data, error, loading, reload } = useLoad(async () => {
    const [holds, conns] = await Promise.all([get<{ holds: Array<{ run: Run; plan: Plan }> }>('/holds', { rows: 10 }), get<{ connections: Connection[] }>('/connections')]);
    return { holds: holds.holds, names: new Map(conns.connections.map((c) => [c.id, c.name])) };
  }, []);
  return (
    <>
      <h1>Holds</h1>
      <p className="lead">Syncs that would delete or change more than the safeguards allow wait here. Nothing of a held sync is applied until you approve it.</p>
      <Notice text={done} />
      <ErrorBox error={error} />
      {loading && !data ? <Loading /> : null}
      {data && data.holds.length === 0 ? <div className="banner banner-ok">No syncs are waiting for approval.</div> : null}
      {(data?.holds ?? []).map(({ run, plan }) => (
        <Section key={run.id} title={`${data?.names.get(run.connectionId) ?? run.connectionId}: run #${run.id}`} id={`hold-${run.id}`}>
          <p className="muted">
            Held {fmtTime(run.finishedAt ?? run.startedAt)} · {run.mode} sync ·{' '}
            <Link to={`/runs/${run.id}`}>run details</Link> · <Link to={`/connections/${seg(run.connectionId)}`}>connection</Link>
          </p>
          <ul>
            {(run.hold ?? []).map((h, i) => (
              <li key={i}>{h.message ?? `${h.entity}: ${h.rule}`}</li>
            ))}
          </ul>
          <HoldDecision
            run={run}
            onDecided={async () => {
              setDone(`Run #${run.id} discarded: nothing of it was applied.`);
              await reload();
            }}
          />
          <PlanTables plan={plan} />
        </Section>
      ))}
    </>
  );
}
