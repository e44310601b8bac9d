import { LineChart, MIOU_SERIES } from './charts';
import { Card, Empty, Notice } from './ui';
import { useFederationEvents, useGet } from '../lib';
import type { RoundSeries } from '../types';

/**
 * Old/new/all mIoU after each segmenter round of a step (GET /api/reports/steps/:step/rounds): how
 * the new classes are learnt and the old ones kept round by round. Only the step's last round is
 * evaluated unless the training setting `evaluateEveryRound` is on; the card says so.
 */
export function RoundSeriesCard({ step }: { step: number }) {
  const series = useGet<RoundSeries>(`/api/reports/steps/${step}/rounds`);
  useFederationEvents((e) => e.type === 'round' && e.status === 'completed' && series.reload());
  const points = series.data?.step === step ? series.data.points : [];
  return (
    <Card title={`mIoU after every round · step ${step}`} description="Old, new and all-class mIoU of each segmenter round's aggregate on the sites' test patients.">
      {series.error && <Notice tone="warn">Per-round series unavailable: {series.error}</Notice>}
      {!series.error && points.length < 2 && (
        <Empty>
          {points.length ? 'Only the step\'s last round was evaluated.' : 'No round of this step has been evaluated yet.'} The training setting <code>evaluateEveryRound</code> has
          the sites score every round's aggregate.
        </Empty>
      )}
      {points.length >= 2 && (
        <LineChart
          testId="round-series-chart"
          yTitle="mIoU"
          legendLabel="mIoU lines (hover or focus to highlight)"
          label={`Old, new and all-class mIoU after each of ${points.length} evaluated rounds of step ${step}`}
          xLabels={points.map((p) => `Round ${p.round}`)}
          series={MIOU_SERIES.map((l) => ({ id: l.key, label: l.label, color: l.color, values: points.map((p) => p.mIoU[l.key]) }))}
        />
      )}
    </Card>
  );
}
