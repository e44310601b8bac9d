import { Card, Empty, ErrorBanner, Notice } from '../components/ui';
import { useFederationEvents, useGet } from '../lib';
import type { PrivacyView, Site } from '../types';
import { ClipBoundTable } from './ClipBoundTable';

const fmtEps = (e: number) => (Number.isFinite(e) ? e.toFixed(3) : '∞');

/** Differential privacy: the settings and each site's (ε, δ) spent per model, from GET /api/reports/privacy. */
export function PrivacyCard({ sites }: { sites: Site[] }) {
  const view = useGet<PrivacyView>('/api/reports/privacy');
  useFederationEvents((e) => (e.type === 'round' || e.type === 'step') && view.reload());
  const dp = view.data?.differentialPrivacy;
  const name = (id: string) => sites.find((s) => s.id === id)?.displayName ?? id;
  return (
    <Card
      title="Privacy budget"
      description={
        dp
          ? `Each site clips its update to L2 norm ${dp.adaptiveClipping ? `C (starting at ${dp.clipNorm})` : dp.clipNorm} and adds Gaussian noise (σ ${dp.noiseMultiplier}, ${dp.noise} noise). ε per site over the federation's life at δ ${dp.delta}; a round that would cross the budget is not opened.`
          : 'Differential privacy is off: updates leave the sites without clipping or noise (set privacy.differentialPrivacy in the training settings).'
      }
    >
      <ErrorBanner error={view.error} onRetry={view.reload} />
      {view.data?.secureAggregation && (
        <Notice tone="info">
          Secure aggregation is on (threshold {view.data.secureAggregation.threshold}): the coordinator sees only the sum of each round&apos;s updates. It cannot
          validate a single update (only its length) nor aggregate robustly (FedAvg only, no cross-site evaluation); the sites clip their updates and the aggregate is checked.
        </Notice>
      )}
      {view.data && <ClipBoundTable view={view.data} />}
      {view.data && view.data.spend.length === 0 && <Empty>No differentially private round has run yet.</Empty>}
      {view.data && view.data.spend.length > 0 && (
        <table data-testid="privacy-spend">
          <thead><tr><th>Site</th><th>Model</th><th>Rounds</th><th>ε spent</th><th>Budget ε</th></tr></thead>
          <tbody>
            {view.data.spend.map((s) => (
              <tr key={`${s.siteId}-${s.kind}`}>
                <td>{name(s.siteId)}</td><td>{s.kind}</td><td>{s.rounds}</td><td>{fmtEps(s.epsilon)}</td><td>{s.budget ?? 'unlimited'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}
