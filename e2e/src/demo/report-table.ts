/** The federated report as the table the field prints: IoU per class and old / new / all mIoU, in percent. */
export interface ReportSteps {
  steps: Array<{
    step: number;
    classes: Array<{ id: number; name: string; stepAdded: number }>;
    perClassIoU: Record<string, number | null>;
    mIoU: { old: number | null; new: number | null; all: number | null };
    forgetting: Record<string, number | null>;
  }>;
}

const pct = (v: number | null | undefined) => (v === null || v === undefined ? '   –' : (100 * v).toFixed(1).padStart(4));

export function formatReportTable(report: ReportSteps): string {
  const last = report.steps.at(-1);
  if (!last) return 'no completed step to report';
  const classes = last.classes;
  const head = ['step', ...classes.map((c) => c.name.replace(/_/g, ' ').slice(0, 10)), 'old', 'new', 'all'];
  const rows = report.steps.map((s) => [String(s.step), ...classes.map((c) => pct(s.perClassIoU[c.id])), pct(s.mIoU.old), pct(s.mIoU.new), pct(s.mIoU.all)]);
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padStart(width[i])).join(' | ')} |`;
  return [
    'Federated evaluation on the hospitals\' own test patients (IoU %, pooled over sites; old includes background)',
    line(head),
    `|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}
