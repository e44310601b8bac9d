/** The privacy section of the federated report (HTML, no scripts): settings and each site's spend. */
import type { PrivacyView } from './privacy-ledger.service';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function privacySectionHtml(view: PrivacyView): string {
  const dp = view.differentialPrivacy;
  const settings = dp
    ? `Differential privacy on: each site clips its update to L2 norm ${dp.clipNorm} and adds Gaussian noise of multiplier σ ${dp.noiseMultiplier} (${esc(dp.noise)} noise). ` +
      `Budget per site: segmenter ε ${dp.budget.segmenter ?? 'unlimited'}, generator ε ${dp.budget.generator ?? 'unlimited'}, at δ ${dp.delta}.`
    : 'Differential privacy is off: updates leave the sites without clipping or noise.';
  const sa = view.secureAggregation;
  const secure = sa
    ? `<p class="note">Secure aggregation on (threshold ${sa.threshold}, ${sa.neighbours || 'all'} neighbours per site): the coordinator saw only the sum of each round's updates. ` +
      'Because of that it could not validate single updates (only their length) nor aggregate robustly (FedAvg only); the sites clipped their updates and the aggregate was checked (finite, norm bound).</p>'
    : '<p class="note">Secure aggregation off: the coordinator received each site\'s update in the clear (and validated each one).</p>';
  const ac = dp?.adaptiveClipping;
  const adaptive = ac && view.noiseSplit
    ? `<p class="note">Adaptive clipping: the clip bound started at ${dp.clipNorm} and follows the ${ac.targetQuantile} quantile of the sites' update norms (each site reports whether its update was within the bound, with Gaussian noise σ<sub>b</sub> ${ac.countNoiseStddev} on the count; step ${ac.learningRate}). ` +
      `Of the configured noise multiplier ${dp.noiseMultiplier} (what the accountant charges), the updates get ${view.noiseSplit.updateNoiseMultiplier.toFixed(4)}: together with the bits' noise it is one Gaussian mechanism of multiplier ${dp.noiseMultiplier}.</p>` + clipTable(view)
    : '';
  const rows = view.spend
    .map((s) => `<tr><th scope="row">${esc(s.siteId)}</th><td>${esc(s.kind)}</td><td>${s.rounds}</td><td>${Number.isFinite(s.epsilon) ? s.epsilon.toFixed(3) : '∞'}</td><td>${s.delta}</td><td>${s.budget ?? '–'}</td></tr>`)
    .join('');
  return `<h2>Privacy</h2>${secure}<p class="note">${settings} ε is per site (site-level DP: a site's whole data set is the unit), composed over every round the site was invited to since the federation began (Rényi DP of the Gaussian mechanism, sampling rate ${view.participationRate}: every live site is invited, so no amplification by sampling is claimed).</p>${adaptive}` +
    (rows ? `<table><thead><tr><th>site</th><th>model</th><th>rounds</th><th>ε spent</th><th>δ</th><th>budget ε</th></tr></thead><tbody>${rows}</tbody></table>` : '<p class="note">No differentially private round has run yet.</p>');
}

/** The clip bound of each round under adaptive clipping, and the noisy fraction of updates within it. */
function clipTable(view: PrivacyView): string {
  const num = (v: number | null, digits: number) => (v == null ? '–' : v.toFixed(digits));
  const rows = view.clipping
    .map((c) => `<tr><th scope="row">${c.step}</th><td>${esc(c.kind)} ${c.index}</td><td>${num(c.clipNorm, 4)}</td><td>${num(c.unclippedFraction, 3)}</td><td>${c.sites ?? '–'}</td><td>${num(c.nextClipNorm, 4)}</td></tr>`)
    .join('');
  return rows ? `<table><thead><tr><th>step</th><th>round</th><th>clip bound C</th><th>noisy fraction within C</th><th>sites</th><th>next C</th></tr></thead><tbody>${rows}</tbody></table>` : '';
}
