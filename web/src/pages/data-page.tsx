/**
 * The data browser: search a connection's live users, classes, enrollments (and the other
 * collections) as the last applied syncs left them. The search state lives in the URL, so a
 * search can be bookmarked and the back button returns to it.
 */
import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { get } from '../api.ts';
import { ENTITY_LABELS, ErrorBox, Loading, useLoad } from '../components/ui.tsx';
import { Link, navigate, seg, useLocation, useTitle } from '../router.tsx';
import type { Connection, LiveRow } from '../types.ts';

const TABS = ['users', 'classes', 'enrollments', 'orgs', 'courses', 'academicSessions'] as const;
const PAGE = 50;

type Rec = Record<string, unknown>;
const ref = (v: unknown): string | undefined => (v && typeof v === 'object' && typeof (v as Rec).sourcedId === 'string' ? ((v as Rec).sourcedId as string) : undefined);
const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));

export function DataPage() {
  useTitle('Data browser');
  const { query } = useLocation();
  const conns = useLoad(() => get<{ connections: Connection[] }>('/connections').then((r) => r.connections), []);
  const connection = query.get('connection') ?? conns.data?.[0]?.id ?? '';
  const entity = (TABS as readonly string[]).includes(query.get('entity') ?? '') ? (query.get('entity') as (typeof TABS)[number]) : 'users';
  const q = query.get('q') ?? '';
  const role = query.get('role') ?? '';
  const after = query.get('after') ?? '';
  const [text, setText] = useState(q);
  useEffect(() => setText(q), [q]);

  const go = (changes: Record<string, string>): void => {
    const next = new URLSearchParams({ connection, entity, q, role });
    for (const [k, v] of Object.entries(changes)) next.set(k, v);
    if (!('after' in changes)) next.delete('after');
    for (const k of [...next.keys()]) if (next.get(k) === '') next.delete(k);
    navigate(`/data?${next.toString()}`);
  };

  const results = useLoad(async () => {
    if (connection === '') return undefined;
    return get<{ records: LiveRow[]; names: Record<string, string>; next?: string }>(`/connections/${seg(connection)}/records/${entity}`, {
      q: q || undefined,
      role: entity === 'users' || entity === 'enrollments' ? role || undefined : undefined,
      after: after || undefined,
      limit: PAGE,
    });
  }, [connection, entity, q, role, after]);

  const submit = (e: FormEvent): void => {
    e.preventDefault();
    go({ q: text.trim() });
  };
  const r = results.data;
  return (
    <>
      <h1>Data browser</h1>
      <p className="lead">The records of a connection as its last applied syncs left them.</p>
      <ErrorBox error={conns.error} />
      {conns.data && conns.data.length === 0 ? <p>No connections yet.</p> : null}
      <form className="filters card" role="search" onSubmit={submit}>
        <div className="field">
          <label htmlFor="d-conn">Connection</label>
          <select id="d-conn" value={connection} onChange={(e) => go({ connection: e.target.value })}>
            {(conns.data ?? []).map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="d-entity">Records</label>
          <select id="d-entity" value={entity} onChange={(e) => go({ entity: e.target.value })}>
            {TABS.map((t) => (
              <option key={t} value={t}>
                {ENTITY_LABELS[t]}
              </option>
            ))}
          </select>
        </div>
        {entity === 'users' || entity === 'enrollments' ? (
          <div className="field">
            <label htmlFor="d-role">Role</label>
            <select id="d-role" value={role} onChange={(e) => go({ role: e.target.value })}>
              <option value="">Any</option>
              {(entity === 'users' ? ['student', 'teacher', 'administrator', 'aide', 'parent', 'guardian', 'relative'] : ['student', 'teacher', 'administrator', 'aide']).map((x) => (
                <option key={x} value={x}>
                  {x}
                </option>
              ))}
            </select>
          </div>
        ) : null}
        <div className="field grow">
          <label htmlFor="d-q">Search</label>
          <input
            id="d-q"
            type="search"
            value={text}
            onChange={(e) => setText(e.target.value)}
            placeholder={entity === 'users' ? 'name, email, username or sourcedId' : entity === 'enrollments' ? 'sourcedId of the enrollment, user or class' : 'title, code or sourcedId'}
          />
        </div>
        <button type="submit" className="primary">
          Search
        </button>
      </form>
      <ErrorBox error={results.error} />
      {results.loading && !r ? <Loading what="Searching" /> : null}
      {r ? (
        <>
          <p className="muted" role="status" aria-live="polite">
            {r.records.length === 0 ? 'No records match.' : `${r.records.length}${r.next ? '+' : ''} record${r.records.length === 1 ? '' : 's'}${after ? ' (next page)' : ''}.`}
          </p>
          <div className="table-scroll">
            <ResultTable entity={entity} conn={connection} rows={r.records} names={r.names} />
          </div>
          <div className="pager">
            {after ? (
              <button type="button" onClick={() => window.history.back()}>
                Previous page
              </button>
            ) : null}
            {r.next ? (
              <button type="button" onClick={() => go({ after: r.next! })}>
                Next page
              </button>
            ) : null}
          </div>
        </>
      ) : null}
    </>
  );
}

/** One column of the results table: its heading and what a row shows in it. */
type Column = { head: string; cell: (r: LiveRow) => ReactNode; mono?: boolean };

function ResultTable({ entity, conn, rows, names }: { entity: string; conn: string; rows: LiveRow[]; names: Record<string, string> }) {
  const userLink = (id: string | undefined, label?: string) => (id ? <Link to={`/data/${seg(conn)}/users/${seg(id)}`}>{label ?? names[id] ?? id}</Link> : '—');
  const classLink = (id: string | undefined, label?: string) => (id ? <Link to={`/data/${seg(conn)}/classes/${seg(id)}`}>{label ?? names[id] ?? id}</Link> : '—');
  const deleted = (r: LiveRow) => (r.deletedAt ? <span className="badge badge-muted">deleted</span> : null);
  const school = (r: LiveRow) => names[ref(r.record.school) ?? ''] ?? ref(r.record.school) ?? '';
  const field = (name: string) => (r: LiveRow) => str(r.record[name]);
  const columns: Column[] =
    entity === 'users'
      ? [
          { head: 'Name', cell: (r) => <>{userLink(r.sourcedId, `${str(r.record.givenName)} ${str(r.record.familyName)}`.trim() || r.sourcedId)} {deleted(r)}</> },
          { head: 'Role', cell: field('role') },
          { head: 'Email', cell: field('email') },
          { head: 'Username', cell: field('username') },
        ]
      : entity === 'classes'
        ? [
            { head: 'Title', cell: (r) => <>{classLink(r.sourcedId, str(r.record.title) || r.sourcedId)} {deleted(r)}</> },
            { head: 'Code', cell: field('classCode') },
            { head: 'Type', cell: field('classType') },
            { head: 'School', cell: school },
          ]
        : entity === 'enrollments'
          ? [
              { head: 'User', cell: (r) => <>{userLink(ref(r.record.user))} {deleted(r)}</> },
              { head: 'Class', cell: (r) => classLink(ref(r.record.class)) },
              { head: 'Role', cell: field('role') },
              { head: 'Primary', cell: (r) => (r.record.primary === true ? 'yes' : '') },
              { head: 'School', cell: school },
            ]
          : [
              { head: 'Name', cell: (r) => <>{str(r.record.title ?? r.record.name)} {deleted(r)}</> },
              { head: 'Type', cell: (r) => str(r.record.type ?? r.record.courseCode) },
            ];
  const all: Column[] = [...columns, { head: 'sourcedId', cell: (r) => r.sourcedId, mono: true }];
  return (
    <table className="table" data-testid="data-results">
      <thead>
        <tr>
          {all.map((c) => (
            <th key={c.head} scope="col">
              {c.head}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.sourcedId}>
            {all.map((c) => (
              <td key={c.head} {...(c.mono ? { className: 'mono' } : {})}>
                {c.cell(r)}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
