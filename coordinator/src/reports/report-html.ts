/**
 * The federated evaluation report as one self-contained HTML file (inline CSS and SVG, no scripts,
 * nothing fetched): the table the field prints, per-class IoU across steps, a forgetting heat map
 * and the per-site matrix. Hospitals can archive or e-mail it.
 */
import type { StepReport } from './federated-report';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const pct = (v: number | null | undefined) => (v === null || v === undefined ? '–' : (100 * v).toFixed(1));

function iouChart(reports: StepReport[]): string {
  const last = reports.at(-1);
  if (!last) return '';
  const classes = last.classes.filter((c) => c.id !== 0);
  const W = 720, H = 260, left = 40, bottom = 40, top = 10;
  const groupW = (W - left) / Math.max(classes.length, 1);
  const barW = Math.max(4, (groupW - 8) / Math.max(reports.length, 1));
  const y = (v: number) => top + (H - top - bottom) * (1 - v);
  const bars = classes.map((c, ci) =>
    reports.map((r, si) => {
      const v = r.perClassIoU[c.id];
      if (v === null || v === undefined) return '';
      const x = left + ci * groupW + 4 + si * barW;
      const shade = 0.35 + (0.65 * (si + 1)) / reports.length;
      return `<rect x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(barW - 1).toFixed(1)}" height="${(y(0) - y(v)).toFixed(1)}" fill="${esc(c.color)}" fill-opacity="${shade.toFixed(2)}"><title>${esc(c.name)}, step ${r.step}: ${pct(v)}%</title></rect>`;
    }).join(''),
  ).join('');
  const labels = classes.map((c, ci) => `<text x="${(left + ci * groupW + groupW / 2).toFixed(1)}" y="${H - bottom + 14}" text-anchor="middle" font-size="10">${esc(c.name.replace(/_/g, ' ').slice(0, 14))}</text>`).join('');
  const grid = [0, 0.25, 0.5, 0.75, 1].map((v) => `<line x1="${left}" x2="${W}" y1="${y(v)}" y2="${y(v)}" stroke="#ccd"/><text x="${left - 4}" y="${y(v) + 3}" text-anchor="end" font-size="10">${v * 100}</text>`).join('');
  return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="Per-class IoU after each step">${grid}${bars}${labels}</svg><p class="note">Bars per class, one per step (lighter = earlier step).</p>`;
}

function heatColor(v: number | null): string {
  if (v === null) return '#f3f4f6';
  const t = Math.max(-1, Math.min(1, v / 0.5));
  return t >= 0 ? `rgb(255,${Math.round(255 - 170 * t)},${Math.round(255 - 170 * t)})` : `rgb(${Math.round(255 + 120 * t)},${Math.round(255 + 40 * t)},255)`;
}

/** `privacy`: the privacy section (privacy/privacy-report-html.ts), placed after the tables. */
export function renderReportHtml(reports: StepReport[], title = 'Federated evaluation report', privacy = ''): string {
  const last = reports.at(-1);
  const classes = last?.classes ?? [];
  const summary = reports.map((r) => `<tr><td>${r.step}</td><td>${pct(r.mIoU.old)}</td><td>${pct(r.mIoU.new)}</td><td>${pct(r.mIoU.all)}</td><td>${r.images}</td><td><code>${esc(r.modelVersionId)}</code></td></tr>`).join('');
  const perClass = classes.map((c) => `<tr><th scope="row"><span class="dot" style="background:${esc(c.color)}"></span>${esc(c.name)}</th><td>${c.stepAdded}</td>${reports.map((r) => `<td>${pct(r.perClassIoU[c.id])}</td>`).join('')}</tr>`).join('');
  const heat = classes.map((c) => `<tr><th scope="row">${esc(c.name)}</th>${reports.map((r) => `<td style="background:${heatColor(r.forgetting[c.id] ?? null)}">${r.forgetting[c.id] === null || r.forgetting[c.id] === undefined ? '' : pct(r.forgetting[c.id])}</td>`).join('')}</tr>`).join('');
  const sites = last ? last.perSite : [];
  const siteMatrix = sites.map((s) => `<tr><th scope="row">${esc(s.siteId)}</th><td>${s.images}</td>${classes.map((c) => `<td>${pct(s.perClassIoU[c.id])}</td>`).join('')}<td><b>${pct(s.mIoU.all)}</b></td></tr>`).join('');
  const cells = last?.crossSite ?? [];
  const owners = [...new Set(cells.map((c) => c.modelSite))];
  const evaluators = [...new Set(cells.map((c) => c.evaluatedAt))];
  const crossSite = cells.length
    ? `<h2>Cross-site matrix, last step</h2><p class="note">mIoU (all classes) of each site's local model (rows) on each site's test patients (columns).</p><table><thead><tr><th>local model of</th>${evaluators.map((e) => `<th>${esc(e)}</th>`).join('')}</tr></thead><tbody>${owners.map((o) => `<tr><th scope="row">${esc(o)}</th>${evaluators.map((e) => `<td>${pct(cells.find((c) => c.modelSite === o && c.evaluatedAt === e)?.mIoU.all)}</td>`).join('')}</tr>`).join('')}</tbody></table>`
    : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>
body{font:14px/1.45 system-ui,sans-serif;color:#1f2937;margin:2rem auto;max-width:1000px;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:2rem}table{border-collapse:collapse;margin:.5rem 0}
td,th{border:1px solid #d1d5db;padding:.25rem .5rem;text-align:right}th{text-align:left;background:#f9fafb}
.dot{display:inline-block;width:.7em;height:.7em;border-radius:50%;margin-right:.4em}.note{color:#6b7280;font-size:12px}svg{width:100%;height:auto}
</style></head><body><h1>${esc(title)}</h1>
<p class="note">IoU in percent on the sites' own test patients, pooled over sites (pixel counts add up). Old classes include background. Forgetting = best earlier IoU − current IoU (red: forgotten, blue: improved). No patient image left any site to make this report.</p>
<h2>mIoU per step</h2><table><thead><tr><th>step</th><th>old</th><th>new</th><th>all</th><th>test images</th><th>model</th></tr></thead><tbody>${summary}</tbody></table>
<h2>Per-class IoU across steps</h2>${iouChart(reports)}
<table><thead><tr><th>class</th><th>added</th>${reports.map((r) => `<th>step ${r.step}</th>`).join('')}</tr></thead><tbody>${perClass}</tbody></table>
<h2>Forgetting</h2><table><thead><tr><th>class</th>${reports.map((r) => `<th>step ${r.step}</th>`).join('')}</tr></thead><tbody>${heat}</tbody></table>
<h2>Per site, last step</h2><table><thead><tr><th>site</th><th>images</th>${classes.map((c) => `<th>${esc(c.name)}</th>`).join('')}<th>mIoU</th></tr></thead><tbody>${siteMatrix}</tbody></table>
${crossSite}
${privacy}
</body></html>`;
}
