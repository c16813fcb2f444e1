/** A connection's runs as a table (connection page, dashboard cards). */
import { Link } from '../router.tsx';
import type { Run } from '../types.ts';
import { Badge, DataTable, fmtDuration, fmtNum, fmtTime, issueCounts, RunStatus } from './ui.tsx';

/**
 * `sdsColumn`: the SDS status in a column of its own (connection page); otherwise it follows the
 * run's status as a second badge (the narrower dashboard card).
 */
export function RunsTable({ runs, caption, compact = false, sdsColumn = true }: { runs: Run[]; caption?: string; compact?: boolean; sdsColumn?: boolean }) {
  const columns = ['Run', 'Mode', 'Status', sdsColumn && 'SDS status', 'Started', 'Duration', { label: 'Errors', num: true }, { label: 'Warnings', num: true }];
  return (
    <DataTable {...(caption !== undefined ? { caption } : {})} compact={compact} scroll={false} columns={columns} rows={runs.length} empty="No runs yet.">
      {runs.map((r) => (
        <tr key={r.id}>
          <td>
            <Link to={`/runs/${r.id}`}>#{r.id}</Link>
          </td>
          <td>{r.mode}</td>
          <td>
            <RunStatus run={r} />
            {!sdsColumn && r.sdsStatus ? <Badge value={r.sdsStatus} /> : null}
          </td>
          {sdsColumn ? <td>{r.sdsStatus ? <Badge value={r.sdsStatus} /> : '—'}</td> : null}
          <td>{fmtTime(r.startedAt)}</td>
          <td>{fmtDuration(r.startedAt, r.finishedAt)}</td>
          <td className="num">{fmtNum(issueCounts(r).errors)}</td>
          <td className="num">{fmtNum(issueCounts(r).warnings)}</td>
        </tr>
      ))}
    </DataTable>
  );
}
