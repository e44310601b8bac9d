import { Card, Empty, Notice } from './ui';
import { useFederationEvents, useGet } from '../lib';
import type { ReplayReport, Site } from '../types';

const pct = (v: number) => `${(100 * v).toFixed(1)}`;

type SiteCheck = ReplayReport['steps'][number]['fidelityBySite'][number];

/** Why a site did not replay: its step images already show the old classes (pseudo-labels keep
 * them), or its generator's fidelity. */
function skipWhy(f: SiteCheck): string {
  if (f.skipReason === 'old-classes-shown') return `its step images show the old classes: ${f.oldClassShare === null ? '?' : pct(f.oldClassShare)}% of pixels`;
  return f.noiseFidelity !== null && f.fidelity < f.noiseFidelity + (f.margin ?? 0) ? 'no better than noise' : 'below threshold';
}

/**
 * The generator's part of the report: per step, the replay fidelity the sites measured (a student
 * trained only on teacher-labelled generated images, scored against the teacher on the site's
 * held-out patients) next to the same student taught on an untrained generator's noise (the floor a
 * generator must beat: colour alone teaches a lot in these scenes), who skipped replay and why (that,
 * or step images that already show the old classes), the realism of the samples, and what the
 * memorisation gate did: flagged samples, generators withheld, and a step that went on with the
 * generator it had once its generator rounds kept failing.
 */
export function ReplayPanel({ sites }: { sites: Site[] }) {
  const report = useGet<ReplayReport>('/api/reports/replay');
  useFederationEvents((e) => e.type === 'step' && report.reload());
  const steps = report.data?.steps ?? [];
  const name = (id: string) => sites.find((s) => s.id === id)?.displayName ?? id;
  return (
    <Card
      title="Diffusion replay"
      description="Replay fidelity: mIoU of a fresh model trained only on generated images labelled by the previous step's model, divided by that model's own mIoU, on each site's held-out patients (1 = the generator carries the old classes fully). Noise floor: the same student taught on as many samples of the same generator with fresh, untrained weights, labelled the same way; colour alone maps to class in many scenes, so noise scores well above 0 (about 0.5-0.6 in the synthetic scenes). A site uses replay only when its generator beats the floor by the margin, and only when its own images of the step do not already show the old classes (the previous model's confident old-class pixels on them: pseudo-labels keep those classes without replay). Realism: distance of the samples' image statistics to the site's images (lower is closer)."
    >
      {report.error && <Notice tone="warn">Replay report unavailable: {report.error}</Notice>}
      {!report.error && steps.length === 0 && <Empty>No generator round or replay yet.</Empty>}
      {steps.length > 0 && (
        // The table is wider than the card on narrow screens: a keyboard user must be able to scroll it.
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Diffusion replay per step">
        <table data-testid="replay-report">
          <thead>
            <tr><th>Step</th><th>Replay fidelity</th><th>Noise floor</th><th>Per site (student / teacher mIoU)</th><th>Generator realism</th><th>Generator steps</th><th>Memorisation gate</th></tr>
          </thead>
          <tbody>
            {steps.map((s) => (
              <tr key={s.step}>
                <td>{s.step}</td>
                <td className="mono">{s.fidelity === null ? '—' : s.fidelity.toFixed(2)}</td>
                <td className="mono">{s.noiseFidelity === null ? '—' : s.noiseFidelity.toFixed(2)}</td>
                {/* One line per site with its figures and, when it skipped replay, why: wraps rather than scrolls. */}
                <td className="wrap">
                  {s.fidelityBySite.length === 0 ? '—' : s.fidelityBySite.map((f) => (
                    <div key={f.siteId}>
                      {name(f.siteId)}: <span className="mono">{f.fidelity.toFixed(2)}</span> ({pct(f.studentMiou)} / {pct(f.teacherMiou)})
                      {f.noiseFidelity !== null && <> · noise <span className="mono">{f.noiseFidelity.toFixed(2)}</span>{f.margin !== null && <> (needs &gt; {(f.noiseFidelity + f.margin).toFixed(2)})</>}</>}
                      {f.skipped && <strong> · replay skipped ({skipWhy(f)})</strong>}
                      {f.noiseSeconds !== null && <span className="muted"> · check +{f.noiseSeconds.toFixed(0)} s</span>}
                    </div>
                  ))}
                </td>
                <td className="mono">{s.realism === null ? '—' : s.realism.toFixed(4)}</td>
                <td className="mono">{s.generatorSteps || '—'}</td>
                <td className="mono">
                  {s.privacyFlagged}
                  {s.withheldGenerators.length > 0 && <> · {s.withheldGenerators.length} withheld</>}
                  {s.generatorRoundsFailed > 0 && <> · {s.generatorRoundsFailed} round{s.generatorRoundsFailed === 1 ? '' : 's'} failed</>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        </div>
      )}
      {/* The gate's reasons are long sentences: listed under the table, not squeezed into a cell. */}
      {steps.filter((s) => s.withheldGenerators.length > 0 || s.generatorGivenUp).map((s) => (
        <div key={s.step} className="replay-gate" data-testid={`replay-gate-step-${s.step}`}>
          <h3>Step {s.step}: generator rounds</h3>
          {s.generatorGivenUp && <Notice tone="warn"><span data-testid="generator-given-up"><strong>Went on with the generator it had:</strong> {s.generatorGivenUp}</span></Notice>}
          <ul>
            {s.withheldGenerators.map((w) => (
              <li key={`${w.roundId}/${w.siteId}`}>{name(w.siteId)} withheld its generator in round <span className="mono">{w.roundId}</span>: {w.reason}</li>
            ))}
          </ul>
        </div>
      ))}
    </Card>
  );
}
