/** A class's page in the data browser: the record, its roster and its change history. */
import { get } from '../api.ts';
import { ErrorBox, Facts, Loading, Section, useLoad, DataTable } from '../components/ui.tsx';
import { Link, seg, useTitle } from '../router.tsx';
import type { ChangeEvent, LiveRow } from '../types.ts';
import { ChangeHistory } from './user-page.tsx';

type Rec = Record<string, unknown>;
const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));
const ref = (v: unknown): string | undefined => (v && typeof v === 'object' && typeof (v as Rec).sourcedId === 'string' ? ((v as Rec).sourcedId as string) : undefined);
const refs = (v: unknown): string[] => (Array.isArray(v) ? v.map(ref).filter((x): x is string => x !== undefined) : []);

interface ClassPageData {
  class: LiveRow;
  enrollments: Array<{ enrollment: LiveRow; user?: LiveRow }>;
  names: Record<string, string>;
  changes: ChangeEvent[];
}

export function ClassPage({ conn, sourcedId }: { conn: string; sourcedId: string }) {
  const { data, error, loading } = useLoad(() => get<ClassPageData>(`/connections/${seg(conn)}/classes/${seg(sourcedId)}`), [conn, sourcedId]);
  const c = data?.class.record;
  const title = c ? str(c.title) || sourcedId : sourcedId;
  useTitle(title);
  const roster = [...(data?.enrollments ?? [])].sort((a, b) => str(a.enrollment.record.role).localeCompare(str(b.enrollment.record.role)) || str(a.user?.record.familyName).localeCompare(str(b.user?.record.familyName)));
  return (
    <>
      <p className="crumbs">
        <Link to={`/data?connection=${seg(conn)}&entity=classes`}>Data browser</Link> › Class
      </p>
      <h1>
        {title} {data?.class.deletedAt ? <span className="badge badge-muted">deleted</span> : null}
      </h1>
      <ErrorBox error={error} />
      {loading && !data ? <Loading /> : null}
      {data && c ? (
        <>
          <Section title="Record">
            <Facts
              pairs={[
                ['sourcedId', data.class.sourcedId],
                ['Code', str(c.classCode)],
                ['Type', str(c.classType)],
                ['School', data.names[ref(c.school) ?? ''] ?? ref(c.school) ?? ''],
                ['Course', data.names[ref(c.course) ?? ''] ?? ref(c.course) ?? ''],
                ['Terms', refs(c.terms).map((t) => data.names[t] ?? t).join(', ')],
                ['Periods', Array.isArray(c.periods) ? c.periods.join(', ') : ''],
              ]}
            />
          </Section>
          <Section title={`Roster (${roster.length})`}>
            <DataTable compact scroll={false} columns={['Name', 'Role', 'Primary', 'Email']} rows={roster.length}>
              {roster.map(({ enrollment: e, user: u }) => {
                const uid = ref(e.record.user);
                return (
                  <tr key={e.sourcedId}>
                    <td>
                      {uid ? <Link to={`/data/${seg(conn)}/users/${seg(uid)}`}>{u ? `${str(u.record.givenName)} ${str(u.record.familyName)}`.trim() || uid : uid}</Link> : '—'}{' '}
                      {e.deletedAt ? <span className="badge badge-muted">deleted</span> : null}
                    </td>
                    <td>{str(e.record.role)}</td>
                    <td>{e.record.primary === true ? 'yes' : ''}</td>
                    <td>{u ? str(u.record.email) : ''}</td>
                  </tr>
                );
              })}
            </DataTable>
          </Section>
          <Section title="Change history">
            <ChangeHistory changes={data.changes} />
          </Section>
        </>
      ) : null}
    </>
  );
}
