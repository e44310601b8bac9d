// Charts drawn as plain SVG (nothing to load at run time). Every chart has a text alternative: an
// aria-label summary and a data table the user can open.
import { useId, useState, type ReactNode } from 'react';
import { fmtIoU, textOn } from '../lib';

export interface Series { id: string; label: string; color: string; values: (number | null | undefined)[] }

/** The report's three mIoU lines or bars, in one set of colours everywhere. */
export const MIOU_SERIES = [
  { key: 'old', label: 'Old classes', color: '#7b8794' },
  { key: 'new', label: 'New classes', color: '#2a9d8f' },
  { key: 'all', label: 'All classes', color: '#1d3557' },
] as const;

const W = 640;
const PAD = { l: 60, r: 16, t: 14, b: 34 };

function yTicks(): number[] {
  return [0, 0.25, 0.5, 0.75, 1];
}

export function DataTable({ caption, columns, rows }: { caption: string; columns: string[]; rows: { label: ReactNode; values: ReactNode[] }[] }) {
  return (
    <details className="data-table">
      <summary>Show data table</summary>
      <div className="table-wrap">
        <table>
          <caption className="sr-only">{caption}</caption>
          <thead>
            <tr><th scope="col" />{columns.map((c) => <th key={c} scope="col" className="num">{c}</th>)}</tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              <tr key={i}><th scope="row">{r.label}</th>{r.values.map((v, j) => <td key={j} className="num">{v}</td>)}</tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}

/** Lines of a 0..1 metric over steps or rounds, one per series (per-class IoU after each step; old/new/all mIoU after each round). */
export function LineChart({ xLabels, series, label, height = 260, testId = 'iou-chart', yTitle = 'IoU', legendLabel = 'Classes (hover or focus to highlight)' }: {
  xLabels: string[]; series: Series[]; label: string; height?: number; testId?: string; yTitle?: string; legendLabel?: string;
}) {
  const [focus, setFocus] = useState<string | null>(null);
  const H = height;
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const x = (i: number) => PAD.l + (xLabels.length <= 1 ? iw / 2 : (i * iw) / (xLabels.length - 1));
  const y = (v: number) => PAD.t + ih - v * ih;
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label} preserveAspectRatio="xMidYMid meet" data-testid={testId}>
        {yTicks().map((t) => (
          <g key={t}>
            <line x1={PAD.l} x2={W - PAD.r} y1={y(t)} y2={y(t)} className="grid" />
            <text x={PAD.l - 8} y={y(t)} className="axis" textAnchor="end" dominantBaseline="middle">{t.toFixed(2)}</text>
          </g>
        ))}
        {xLabels.map((l, i) => (
          <text key={l} x={x(i)} y={H - PAD.b + 20} className="axis" textAnchor="middle">{l}</text>
        ))}
        <text x={14} y={PAD.t + ih / 2} className="axis-title" transform={`rotate(-90 14 ${PAD.t + ih / 2})`} textAnchor="middle">{yTitle}</text>
        {series.map((s) => {
          const pts = s.values.map((v, i) => (v === null || v === undefined || !Number.isFinite(v) ? null : ([x(i), y(v)] as const)));
          // Break the line where a class has no value (before it was added).
          const segs: string[] = [];
          let cur = '';
          pts.forEach((p) => {
            if (!p) { if (cur) segs.push(cur); cur = ''; return; }
            cur += `${cur ? 'L' : 'M'}${p[0].toFixed(1)},${p[1].toFixed(1)}`;
          });
          if (cur) segs.push(cur);
          const dim = focus !== null && focus !== s.id;
          return (
            <g key={s.id} className={dim ? 'dim' : undefined}>
              {segs.map((d, i) => <path key={i} d={d} fill="none" stroke={s.color} strokeWidth={focus === s.id ? 3.5 : 2.2} strokeLinejoin="round" />)}
              {pts.map((p, i) => p && (
                <circle key={i} cx={p[0]} cy={p[1]} r={focus === s.id ? 5 : 3.6} fill="#fff" stroke={s.color} strokeWidth={2}>
                  <title>{`${s.label}, ${xLabels[i]}: ${yTitle} ${fmtIoU(s.values[i])}`}</title>
                </circle>
              ))}
            </g>
          );
        })}
      </svg>
      <figcaption>
        <ul className="legend" aria-label={legendLabel}>
          {series.map((s) => (
            <li key={s.id}>
              <button type="button" className="legend-item" onMouseEnter={() => setFocus(s.id)} onMouseLeave={() => setFocus(null)} onFocus={() => setFocus(s.id)} onBlur={() => setFocus(null)} aria-pressed={focus === s.id}>
                <span className="legend-line" style={{ background: s.color }} aria-hidden="true" />
                {s.label}
              </button>
            </li>
          ))}
        </ul>
      </figcaption>
      <DataTable caption={label} columns={xLabels} rows={series.map((s) => ({ label: s.label, values: s.values.map(fmtIoU) }))} />
    </figure>
  );
}

/** Groups of bars per x label (here: old / new / all mIoU after each step). */
export function GroupedBars({ xLabels, series, label, height = 240 }: { xLabels: string[]; series: Series[]; label: string; height?: number }) {
  const H = height;
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const y = (v: number) => PAD.t + ih - v * ih;
  const group = iw / Math.max(1, xLabels.length);
  const bw = Math.min(34, (group * 0.75) / series.length);
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={label} data-testid="miou-chart">
        {yTicks().map((t) => (
          <g key={t}>
            <line x1={PAD.l} x2={W - PAD.r} y1={y(t)} y2={y(t)} className="grid" />
            <text x={PAD.l - 8} y={y(t)} className="axis" textAnchor="end" dominantBaseline="middle">{t.toFixed(2)}</text>
          </g>
        ))}
        {xLabels.map((l, i) => {
          const cx = PAD.l + group * i + group / 2;
          const x0 = cx - (bw * series.length) / 2;
          return (
            <g key={l}>
              <text x={cx} y={H - PAD.b + 20} className="axis" textAnchor="middle">{l}</text>
              {series.map((s, j) => {
                const v = s.values[i];
                if (v === null || v === undefined || !Number.isFinite(v)) {
                  return <text key={s.id} x={x0 + j * bw + bw / 2} y={y(0) - 6} className="axis small" textAnchor="middle">–</text>;
                }
                return (
                  <g key={s.id}>
                    <rect x={x0 + j * bw + 1} y={y(v)} width={bw - 2} height={Math.max(0, y(0) - y(v))} fill={s.color} rx={2}>
                      <title>{`${s.label}, ${l}: ${fmtIoU(v)}`}</title>
                    </rect>
                    {bw >= 22 && <text x={x0 + j * bw + bw / 2} y={y(v) - 5} className="bar-value" textAnchor="middle">{fmtIoU(v)}</text>}
                  </g>
                );
              })}
            </g>
          );
        })}
      </svg>
      <figcaption>
        <ul className="legend">
          {series.map((s) => (
            <li key={s.id} className="legend-static"><span className="legend-box" style={{ background: s.color }} aria-hidden="true" />{s.label}</li>
          ))}
        </ul>
      </figcaption>
      <DataTable caption={label} columns={xLabels} rows={series.map((s) => ({ label: s.label, values: s.values.map(fmtIoU) }))} />
    </figure>
  );
}

/** Sequential colour scales (light to dark), readable for colour-blind users. */
export function forgettingColor(v: number, max: number): string {
  const t = Math.max(0, Math.min(1, max > 0 ? v / max : 0));
  // #fff7ec → #fdbb84 → #b30000 (ColorBrewer OrRd)
  return lerp3('#fff7ec', '#fc8d59', '#b30000', t);
}
export function iouColor(v: number): string {
  return lerp3('#f1f7fb', '#6baed6', '#08306b', Math.max(0, Math.min(1, v)));
}
function lerp3(a: string, b: string, c: string, t: number): string {
  return t < 0.5 ? lerp(a, b, t * 2) : lerp(b, c, (t - 0.5) * 2);
}
function lerp(a: string, b: string, t: number): string {
  const p = (h: string) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));
  const [x, y] = [p(a), p(b)];
  return '#' + x.map((v, i) => Math.round(v + (y[i] - v) * t).toString(16).padStart(2, '0')).join('');
}

/** A heat map as a real table: rows × columns of coloured cells with their values printed. */
export function HeatTable(props: {
  caption: string; rowHeader: string; columns: { key: string; label: ReactNode }[]; rows: { key: string; label: ReactNode; cells: (number | null | undefined)[] }[];
  color: (v: number) => string; format: (v: number) => string; legend: ReactNode; testId?: string;
}) {
  const id = useId();
  return (
    <div className="heat">
      <div className="table-wrap">
        <table className="heat-table" aria-describedby={id} data-testid={props.testId}>
          <caption className="sr-only">{props.caption}</caption>
          <thead>
            <tr>
              <th scope="col">{props.rowHeader}</th>
              {props.columns.map((c) => <th key={c.key} scope="col" className="num">{c.label}</th>)}
            </tr>
          </thead>
          <tbody>
            {props.rows.map((r) => (
              <tr key={r.key}>
                <th scope="row">{r.label}</th>
                {r.cells.map((v, i) => {
                  if (v === null || v === undefined || !Number.isFinite(v)) return <td key={i} className="heat-cell heat-none">—</td>;
                  const bg = props.color(v);
                  return <td key={i} className="heat-cell" style={{ background: bg, color: textOn(bg) }}>{props.format(v)}</td>;
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="heat-legend" id={id}>{props.legend}</div>
    </div>
  );
}

export function ScaleLegend({ from, to, stops, note }: { from: string; to: string; stops: string[]; note?: string }) {
  return (
    <span className="scale">
      <span>{from}</span>
      <span className="scale-bar" style={{ background: `linear-gradient(90deg, ${stops.join(',')})` }} aria-hidden="true" />
      <span>{to}</span>
      {note && <span className="muted"> · {note}</span>}
    </span>
  );
}
