/**
 * A user's page in the data browser: the record, SDS user flags, classes (with the enrollment's
 * role), contacts (a student's parents and guardians) or students (a contact's), demographics,
 * and the change history of the record (field by field, per run).
 */
import type { ReactElement } from 'react';
import { get } from '../api.ts';
import { ErrorBox, Facts, fmtTime, Loading, Section, useLoad, DataTable } from '../components/ui.tsx';
import { Link, seg, useTitle } from '../router.tsx';
import type { ChangeEvent, LiveRow } from '../types.ts';

type Rec = Record<string, unknown>;
const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
const ref = (v: unknown): string | undefined => (v && typeof v === 'object' && typeof (v as Rec).sourcedId === 'string' ? ((v as Rec).sourcedId as string) : undefined);
const refs = (v: unknown): string[] => (Array.isArray(v) ? v.map(ref).filter((x): x is string => x !== undefined) : []);

interface UserPageData {
  user: LiveRow;
  flags: string[];
  enrollments: Array<{ enrollment: LiveRow; class?: LiveRow }>;
  contacts: LiveRow[];
  students: LiveRow[];
  demographics?: LiveRow;
  names: Record<string, string>;
  changes: ChangeEvent[];
}

export function UserPage({ conn, sourcedId }: { conn: string; sourcedId: string }) {
  const { data, error, loading } = useLoad(() => get<UserPageData>(`/connections/${seg(conn)}/users/${seg(sourcedId)}`), [conn, sourcedId]);
  const u = data?.user.record;
  const name = u ? `${str(u.givenName)} ${str(u.familyName)}`.trim() || sourcedId : sourcedId;
  useTitle(name);
  const userLink = (r: LiveRow) => <Link to={`/data/${seg(conn)}/users/${seg(r.sourcedId)}`}>{`${str(r.record.givenName)} ${str(r.record.familyName)}`.trim() || r.sourcedId}</Link>;
  return (
    <>
      <p className="crumbs">
        <Link to={`/data?connection=${seg(conn)}`}>Data browser</Link> › User
      </p>
      <h1>
        {name} {data?.user.deletedAt ? <span className="badge badge-muted">deleted</span> : null}
      </h1>
      <ErrorBox error={error} />
      {loading && !data ? <Loading /> : null}
      {data && u ? (
        <>
          <div className="grid-2">
            <Section title="Record">
              <Facts
                pairs={[
                  ['Role', str(u.role)],
                  ['sourcedId', data.user.sourcedId],
                  ['Status', data.user.deletedAt ? `deleted ${fmtTime(data.user.deletedAt)} (run #${data.user.deletedRun ?? '?'})` : str(u.status) || 'active'],
                  ['Username', str(u.username)],
                  ['Email', str(u.email)],
                  ['Identifier', str(u.identifier)],
                  ['Phone', str(u.phone)],
                  ['SMS', str(u.sms)],
                  ['Grades', Array.isArray(u.grades) ? u.grades.join(', ') : ''],
                  ['Orgs', refs(u.orgs).map((o) => data.names[o] ?? o).join(', ')],
                  ['Enabled', u.enabledUser === false ? 'no' : 'yes'],
                  ['First synced in', `run #${data.user.firstSeenRun}`],
                  ['Last written by', `run #${data.user.updatedRun}`],
                ]}
              />
            </Section>
            <Section title="Flags">
              {data.flags.length === 0 ? (
                <p className="muted">No SDS user flags.</p>
              ) : (
                <ul className="chips" aria-label="User flags">
                  {data.flags.map((f) => (
                    <li key={f} className="chip">
                      {f}
                    </li>
                  ))}
                </ul>
              )}
              {data.demographics ? (
                <>
                  <h3>Demographics</h3>
                  <Facts
                    pairs={Object.entries(data.demographics.record)
                      .filter(([k, v]) => !['sourcedId', 'status', 'dateLastModified', 'metadata'].includes(k) && v !== undefined && v !== '')
                      .map(([k, v]) => [k, str(v)] as const)}
                    mono={[]}
                  />
                </>
              ) : null}
            </Section>
          </div>
          <Section title={`Classes (${data.enrollments.length})`}>
            {data.enrollments.length === 0 ? (
              <p className="muted">No enrollments.</p>
            ) : (
              <DataTable compact scroll={false} columns={['Class', 'Code', 'Role', 'Primary', 'Dates', 'Enrollment']} rows={data.enrollments.length}>
                {data.enrollments.map(({ enrollment: e, class: c }) => {
                  const cid = ref(e.record.class);
                  return (
                    <tr key={e.sourcedId}>
                      <td>
                        {cid ? <Link to={`/data/${seg(conn)}/classes/${seg(cid)}`}>{c ? str(c.record.title) || cid : cid}</Link> : '—'} {e.deletedAt ? <span className="badge badge-muted">deleted</span> : null}
                      </td>
                      <td>{c ? str(c.record.classCode) : ''}</td>
                      <td>{str(e.record.role)}</td>
                      <td>{e.record.primary === true ? 'yes' : ''}</td>
                      <td>{[str(e.record.beginDate), str(e.record.endDate)].filter((x) => x !== '').join(' – ')}</td>
                      <td className="mono small">{e.sourcedId}</td>
                    </tr>
                  );
                })}
              </DataTable>
            )}
          </Section>
          {data.contacts.length > 0 || str(u.role) === 'student' ? (
            <Section title={`Contacts (${data.contacts.length})`}>
              {data.contacts.length === 0 ? (
                <p className="muted">No contacts.</p>
              ) : (
                <PeopleTable rows={data.contacts} link={userLink} />
              )}
            </Section>
          ) : null}
          {data.students.length > 0 ? (
            <Section title={`Students (${data.students.length})`}>
              <PeopleTable rows={data.students} link={userLink} />
            </Section>
          ) : null}
          <Section title="Change history">
            <ChangeHistory changes={data.changes} />
          </Section>
        </>
      ) : null}
    </>
  );
}

function PeopleTable({ rows, link }: { rows: LiveRow[]; link: (r: LiveRow) => ReactElement }) {
  return (
    <DataTable compact scroll={false} columns={['Name', 'Role', 'Email', 'Phone']} rows={rows.length}>
      {rows.map((r) => (
        <tr key={r.sourcedId}>
          <td>{link(r)}</td>
          <td>{str(r.record.role)}</td>
          <td>{str(r.record.email)}</td>
          <td>{str(r.record.phone ?? r.record.sms)}</td>
        </tr>
      ))}
    </DataTable>
  );
}

/** Changes of one record, newest last, field by field. */
export function ChangeHistory({ changes }: { changes: ChangeEvent[] }) {
  if (changes.length === 0) return <p className="muted">No changes recorded (history is kept for the connection's retention period).</p>;
  return (
    <DataTable testId="change-history" compact scroll={false} columns={['When', 'Run', 'Change', 'Fields']} rows={changes.length}>
      {changes.map((c) => (
        <tr key={c.seq}>
          <td>{fmtTime(c.at)}</td>
          <td>
            <Link to={`/runs/${c.runId}`}>#{c.runId}</Link>
          </td>
          <td>{c.kind}</td>
          <td className="wrap small">
            {c.fields
              ? Object.entries(c.fields).map(([f, d]) => (
                  <div key={f}>
                    <span className="mono">{f}</span>: {str(d.before) || '∅'} → {str(d.after) || '∅'}
                  </div>
                ))
              : ''}
          </td>
        </tr>
      ))}
    </DataTable>
  );
}
