import type { PrivacyView } from '../types';

const fixed = (v: number | null, digits: number) => (v == null ? '–' : v.toFixed(digits));

/** Adaptive clipping: how the noise is split, and the clip bound of every round with the noisy fraction of updates within it. */
export function ClipBoundTable({ view }: { view: PrivacyView }) {
  const ac = view.differentialPrivacy?.adaptiveClipping;
  if (!ac || !view.noiseSplit) return null;
  return (
    <>
      <p>
        Adaptive clipping: the bound follows the {ac.targetQuantile} quantile of the sites&apos; update norms (step {ac.learningRate}; noise σ {ac.countNoiseStddev} on the count of
        updates within it). Of the noise multiplier {view.differentialPrivacy!.noiseMultiplier} the accountant charges, the updates get {view.noiseSplit.updateNoiseMultiplier.toFixed(4)}.
      </p>
      {view.clipping.length > 0 && (
        <table data-testid="privacy-clip-bounds">
          <thead><tr><th>Step</th><th>Round</th><th>Clip bound C</th><th>Noisy fraction within C</th><th>Sites</th><th>Next C</th></tr></thead>
          <tbody>
            {view.clipping.map((c) => (
              <tr key={c.roundId}>
                <td>{c.step}</td><td>{c.kind} {c.index}</td><td>{fixed(c.clipNorm, 4)}</td><td>{fixed(c.unclippedFraction, 3)}</td><td>{c.sites ?? '–'}</td><td>{fixed(c.nextClipNorm, 4)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
