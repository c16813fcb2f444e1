/**
 * A horizontal stacked bar chart in inline SVG (no chart library): one bar per row, one segment per
 * series. The numbers are also in the tables beside each chart; the SVG has a text summary for
 * screen readers and a tooltip (`<title>`) per segment.
 */
export interface Series {
  key: string;
  label: string;
  /** CSS class giving the segment's fill (see styles.css `.series-*`). */
  className: string;
}

export interface BarRow {
  label: string;
  values: Record<string, number>;
}

const ROW_H = 26;
const LABEL_W = 190;
const VALUE_W = 70;
const WIDTH = 640;

export function BarChart({ title, series, rows, testId }: { title: string; series: Series[]; rows: BarRow[]; testId?: string }) {
  const totals = rows.map((r) => series.reduce((s, x) => s + (r.values[x.key] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const plotW = WIDTH - LABEL_W - VALUE_W;
  const height = rows.length * ROW_H + 8;
  const summary = `${title}: ${rows.map((r, i) => `${r.label} ${totals[i]}`).join(', ') || 'no data'}`;
  return (
    <figure className="chart" {...(testId !== undefined ? { 'data-testid': testId } : {})}>
      <figcaption>{title}</figcaption>
      {rows.length === 0 ? (
        <p className="muted">Nothing to show.</p>
      ) : (
        <svg viewBox={`0 0 ${WIDTH} ${height}`} width="100%" role="img" aria-label={summary} preserveAspectRatio="xMinYMin meet">
          {rows.map((r, i) => {
            let x = LABEL_W;
            const y = 4 + i * ROW_H;
            return (
              <g key={r.label}>
                <text x={LABEL_W - 8} y={y + ROW_H / 2 + 4} textAnchor="end" className="chart-label">
                  {r.label.length > 28 ? `${r.label.slice(0, 27)}…` : r.label}
                </text>
                <rect x={LABEL_W} y={y + 3} width={plotW} height={ROW_H - 8} className="chart-track" />
                {series.map((s) => {
                  const v = r.values[s.key] ?? 0;
                  if (v <= 0) return null;
                  const w = Math.max(1, (v / max) * plotW);
                  const rect = (
                    <rect key={s.key} x={x} y={y + 3} width={w} height={ROW_H - 8} className={s.className}>
                      <title>{`${r.label}: ${s.label} ${v.toLocaleString()}`}</title>
                    </rect>
                  );
                  x += w;
                  return rect;
                })}
                <text x={WIDTH - VALUE_W + 6} y={y + ROW_H / 2 + 4} className="chart-value">
                  {totals[i]!.toLocaleString()}
                </text>
              </g>
            );
          })}
        </svg>
      )}
      {series.length > 1 ? (
        <ul className="legend" aria-label="Legend">
          {series.map((s) => (
            <li key={s.key}>
              <svg width="12" height="12" aria-hidden="true">
                <rect width="12" height="12" className={s.className} />
              </svg>{' '}
              {s.label}
            </li>
          ))}
        </ul>
      ) : null}
    </figure>
  );
}
