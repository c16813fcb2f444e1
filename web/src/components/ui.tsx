/** Small shared pieces of the console: loading, errors, badges, banners, formatting. */
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { errorText } from '../api.ts';
import type { CheckResult, Run } from '../types.ts';

/** Loads data for a page; `reload()` fetches again (keeping the old data on screen meanwhile). */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): { data: T | undefined; error: string | undefined; loading: boolean; reload: () => Promise<void> } {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(true);
  const seq = useRef(0);
  const run = useCallback(load, deps);
  const reload = useCallback(async () => {
    const mine = ++seq.current;
    setLoading(true);
    try {
      const d = await run();
      if (mine === seq.current) {
        setData(d);
        setError(undefined);
      }
    } catch (err) {
      if (mine === seq.current) setError(errorText(err));
    } finally {
      if (mine === seq.current) setLoading(false);
    }
  }, [run]);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, error, loading, reload };
}

/** The state around a page's actions (create, rotate, delete…): see `useAction`. */
export interface Action {
  error: string | undefined;
  notice: string | undefined;
  /** An action is in flight (disable its buttons). */
  busy: boolean;
  /** Shows an error found before any request (e.g. a form check). */
  setError: (text: string | undefined) => void;
  /**
   * Clears the error and the notice, awaits `fn`, then shows `done` (when given) or the error.
   * Resolves to whether `fn` succeeded, so a caller clears its form only after it did.
   */
  run: (fn: () => Promise<unknown>, done?: string) => Promise<boolean>;
}

/** One error line, one notice line and a busy flag shared by a section's actions. */
export function useAction(): Action {
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [busy, setBusy] = useState(false);
  const run = useCallback(async (fn: () => Promise<unknown>, done?: string): Promise<boolean> => {
    setError(undefined);
    setNotice(undefined);
    setBusy(true);
    try {
      await fn();
      if (done !== undefined) setNotice(done);
      return true;
    } catch (err) {
      setError(errorText(err));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { error, notice, busy, setError, run };
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p className="muted" role="status">
      {what}…
    </p>
  );
}

export function ErrorBox({ error }: { error: string | undefined }) {
  if (error === undefined) return null;
  return (
    <div className="alert alert-error" role="alert">
      {error}
    </div>
  );
}

/** A status line announced to screen readers (success messages after an action). */
export function Notice({ text, kind = 'ok' }: { text: string | undefined; kind?: 'ok' | 'warn' }) {
  return (
    <div className={text ? `alert alert-${kind}` : 'visually-hidden'} role="status" aria-live="polite">
      {text ?? ''}
    </div>
  );
}

const STATUS_CLASS: Record<string, string> = {
  succeeded: 'ok',
  completed: 'ok',
  pass: 'ok',
  approved: 'ok',
  partial: 'warn',
  completedWithWarnings: 'warn',
  held: 'warn',
  pending: 'warn',
  skip: 'muted',
  discarded: 'muted',
  running: 'info',
  failed: 'bad',
  fail: 'bad',
  completedWithErrors: 'bad',
  error: 'bad',
  warning: 'warn',
};

export function Badge({ value, label }: { value: string; label?: string }) {
  return <span className={`badge badge-${STATUS_CLASS[value] ?? 'muted'}`}>{label ?? value}</span>;
}

/** A run's status with its hold state and dry-run mark. */
export function RunStatus({ run }: { run: Run }) {
  return (
    <span className="run-status">
      <Badge value={run.status} />
      {run.status === 'held' && run.holdState && run.holdState !== 'pending' ? <Badge value={run.holdState} label={`hold ${run.holdState}`} /> : null}
      {run.dryRun ? <Badge value="skip" label="dry run" /> : null}
    </span>
  );
}

/** Errors and warnings of a run. */
export function issueCounts(run: Run): { errors: number; warnings: number } {
  return { errors: run.issues?.bySeverity?.error ?? 0, warnings: run.issues?.bySeverity?.warning ?? 0 };
}

/** The SDS-style health banner of a run's data. */
export function HealthBanner({ run, compact = false }: { run: Run | undefined; compact?: boolean }) {
  if (!run) return <div className="banner banner-muted">No sync has finished yet.</div>;
  const { errors, warnings } = issueCounts(run);
  if (errors + warnings === 0) {
    return (
      <div className="banner banner-ok" data-health="clean">
        <span aria-hidden="true">✓ </span>No data errors or warnings found.
      </div>
    );
  }
  return (
    <div className="banner banner-warn" data-health="issues">
      <span aria-hidden="true">! </span>We found some issues with your data.
      {compact ? null : (
        <>
          {' '}
          {errors} error{errors === 1 ? '' : 's'} and {warnings} warning{warnings === 1 ? '' : 's'} in run #{run.id}.
        </>
      )}
    </div>
  );
}

export function fmtTime(iso: string | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function fmtDuration(from: string | undefined, to: string | undefined): string {
  if (!from || !to) return '—';
  const ms = Date.parse(to) - Date.parse(from);
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export const fmtNum = (n: number | undefined): string => (n === undefined ? '—' : n.toLocaleString());

/** The provider checks' pass/fail table. */
export function CheckTable({ checks, caption }: { checks: CheckResult[]; caption: string }) {
  const failed = checks.filter((c) => c.status === 'fail').length;
  return (
    <table className="table checks" data-testid="check-table">
      <caption>
        {caption}: {checks.length - failed} of {checks.length} passed or skipped{failed > 0 ? `, ${failed} failed` : ''}
      </caption>
      <thead>
        <tr>
          <th scope="col">Check</th>
          <th scope="col">Result</th>
          <th scope="col">Details</th>
        </tr>
      </thead>
      <tbody>
        {checks.map((c) => (
          <tr key={c.id}>
            <td>{c.title}</td>
            <td>
              <Badge value={c.status} />
            </td>
            <td className="wrap">{c.reason ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A secret shown once, with a copy button. */
export function SecretOnce({ title, items, onDone }: { title: string; items: Array<{ label: string; value: string }>; onDone: () => void }) {
  const [copied, setCopied] = useState<string>();
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <div className="secret-once" role="region" aria-label={title} tabIndex={-1} ref={ref}>
      <h3>{title}</h3>
      <p>
        <strong>Copy it now: it is shown only once.</strong> Rostersync keeps only a hash or a sealed copy; rotate to get a new one.
      </p>
      {items.map((it) => {
        const id = `secret-${it.label.replace(/\W+/g, '-').toLowerCase()}`;
        return (
          <div className="field-row" key={it.label}>
            <label htmlFor={id}>{it.label}</label>
            <input id={id} readOnly value={it.value} className="mono" onFocus={(e) => e.currentTarget.select()} />
            <button
              type="button"
              onClick={() => {
                void navigator.clipboard?.writeText(it.value).then(
                  () => setCopied(it.label),
                  () => setCopied(undefined),
                );
              }}
            >
              Copy
            </button>
          </div>
        );
      })}
      <p role="status" className="muted">
        {copied ? `${copied} copied to the clipboard.` : ''}
      </p>
      <button type="button" onClick={onDone}>
        I have stored it
      </button>
    </div>
  );
}

export function Section({ title, children, actions, id }: { title: string; children: ReactNode; actions?: ReactNode; id?: string }) {
  const hid = `h-${(id ?? title).replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <section className="card" aria-labelledby={hid} {...(id !== undefined ? { id } : {})}>
      <div className="card-head">
        <h2 id={hid}>{title}</h2>
        {actions ? <div className="actions">{actions}</div> : null}
      </div>
      {children}
    </section>
  );
}

/** A column header: its label, right-aligned (`num`) for figures. `null`/`false`: a column not shown (e.g. actions for a reader). */
export type Column = string | { label: string; num?: boolean } | null | false;

/**
 * The console's tables: a header row of `columns` and the rows (`children`); with `rows` 0 and an
 * `empty` text, one muted row saying so across every column. `scroll` (default) lets a wide table
 * scroll on a narrow screen.
 */
export function DataTable({
  columns,
  rows,
  empty,
  children,
  testId,
  caption,
  compact = false,
  className,
  scroll = true,
}: {
  columns: readonly Column[];
  rows: number;
  empty?: string;
  children: ReactNode;
  testId?: string;
  caption?: string;
  compact?: boolean;
  /** More classes for the table (e.g. `report`). */
  className?: string;
  scroll?: boolean;
}) {
  const shown = columns.filter((c): c is Exclude<Column, null | false> => c !== null && c !== false);
  const table = (
    <table className={['table', compact ? 'compact' : '', className ?? ''].filter(Boolean).join(' ')} {...(testId !== undefined ? { 'data-testid': testId } : {})}>
      {caption !== undefined ? <caption>{caption}</caption> : null}
      <thead>
        <tr>
          {shown.map((c) =>
            typeof c === 'string' ? (
              <th key={c} scope="col">
                {c}
              </th>
            ) : (
              <th key={c.label} scope="col" {...(c.num ? { className: 'num' } : {})}>
                {c.label}
              </th>
            ),
          )}
        </tr>
      </thead>
      <tbody>
        {rows === 0 && empty !== undefined ? (
          <tr>
            <td colSpan={shown.length} className="muted">
              {empty}
            </td>
          </tr>
        ) : (
          children
        )}
      </tbody>
    </table>
  );
  return scroll ? <div className="table-scroll">{table}</div> : table;
}

/** The host and path of a URL (never its query, which may carry a key). */
export function shortUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.host}${u.pathname}`;
  } catch {
    return url;
  }
}

export const ENTITY_LABELS: Record<string, string> = {
  academicSessions: 'Academic sessions',
  orgs: 'Orgs',
  courses: 'Courses',
  classes: 'Classes',
  users: 'Users',
  enrollments: 'Enrollments',
  demographics: 'Demographics',
};

export const ENTITY_ORDER = ['academicSessions', 'orgs', 'courses', 'classes', 'users', 'enrollments', 'demographics'];

export const TOGGLE_LABELS: Record<string, string> = { contacts: 'Contacts', demographics: 'Demographics', userFlags: 'User flags' };

/** A definition list of label/value facts; empty values are left out, `mono` labels show code-like values. */
export function Facts({ pairs, mono = ['sourcedId'] }: { pairs: ReadonlyArray<readonly [string, string]>; mono?: readonly string[] }) {
  return (
    <dl className="facts">
      {pairs
        .filter(([, v]) => v !== '')
        .map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd className={mono.includes(k) ? 'mono' : undefined}>{v}</dd>
          </div>
        ))}
    </dl>
  );
}
