import { Card, Empty, Notice } from './ui';
import { useFederationEvents, useGet } from '../lib';
import type { ReplayReport, Site } from '../types';

const pct = (v: number) => `${(100 * v).toFixed(1)}`;

/**
 * The generator's part of the report: per step, the replay fidelity the sites measured (a student
 * trained only on teacher-labelled generated images, scored against the teacher on the site's
 * held-out patients), who skipped replay because of it, and the realism of the samples.
 */
export function ReplayPanel({ sites }: { sites: Site[] }) {
  const report = useGet<ReplayReport>('/api/reports/replay');
  useFederationEvents((e) => e.type === 'step' && report.reload());
  const steps = report.data?.steps ?? [];
  const name = (id: string) => sites.find((s) => s.id === id)?.displayName ?? id;
  return (
    <Card
      title="Diffusion replay"
      description="Replay fidelity: mIoU of a fresh model trained only on generated images labelled by the previous step's model, divided by that model's own mIoU, on each site's held-out patients (1 = the generator carries the old classes fully; teacher-labelled noise gives about 0.1). Realism: distance of the samples' image statistics to the site's images (lower is closer)."
    >
      {report.error && <Notice tone="warn">Replay report unavailable: {report.error}</Notice>}
      {!report.error && steps.length === 0 && <Empty>No generator round or replay yet.</Empty>}
      {steps.length > 0 && (
        <div className="table-wrap">
        <table data-testid="replay-report">
          <thead>
            <tr><th>Step</th><th>Replay fidelity</th><th>Per site (student / teacher mIoU)</th><th>Generator realism</th><th>Generator steps</th><th>Memorisation flags</th></tr>
          </thead>
          <tbody>
            {steps.map((s) => (
              <tr key={s.step}>
                <td>{s.step}</td>
                <td className="mono">{s.fidelity === null ? '—' : s.fidelity.toFixed(2)}</td>
                <td>
                  {s.fidelityBySite.length === 0 ? '—' : s.fidelityBySite.map((f) => (
                    <div key={f.siteId}>
                      {name(f.siteId)}: <span className="mono">{f.fidelity.toFixed(2)}</span> ({pct(f.studentMiou)} / {pct(f.teacherMiou)})
                      {f.skipped && <strong> · replay skipped (below threshold)</strong>}
                    </div>
                  ))}
                </td>
                <td className="mono">{s.realism === null ? '—' : s.realism.toFixed(4)}</td>
                <td className="mono">{s.generatorSteps || '—'}</td>
                <td className="mono">{s.privacyFlagged}</td>
              </tr>
            ))}
          </tbody>
        </table>
        </div>
      )}
    </Card>
  );
}
