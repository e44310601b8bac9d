import { useEffect, useMemo, useState } from 'react';
import { ApiError, get } from '../api';
import { forgettingColor, GroupedBars, HeatTable, iouColor, LineChart, MIOU_SERIES, ScaleLegend } from '../components/charts';
import { RoundSeriesCard } from '../components/RoundSeries';
import { Card, Empty, ErrorBanner, Loading, Notice, PageHeader, Swatch } from '../components/ui';
import { ReplayPanel } from '../components/ReplayPanel';
import { fmtIoU, humanName, useFederationEvents, useGet } from '../lib';
import type { MIoU, Overlay, Reports, ReportStep, Site } from '../types';
import { PrivacyCard } from './PrivacyCard';

export function ReportsPage() {
  const reports = useGet<Reports>('/api/reports');
  const sites = useGet<Site[]>('/api/sites');
  useFederationEvents((e) => e.type === 'step' && reports.reload());
  const steps = useMemo(() => [...(reports.data?.steps ?? [])].sort((a, b) => a.step - b.step), [reports.data]);
  const [selected, setSelected] = useState<number | null>(null);
  const current = steps.find((s) => s.step === selected) ?? steps[steps.length - 1];
  const missing = reports.error && /404|Cannot GET/.test(reports.error);

  return (
    <>
      <PageHeader
        title="Reports"
        subtitle="Federated evaluation: sites score each global model on their own test patients and report only confusion counts, pooled here per class, per site and per step."
        actions={steps.length > 0 && (
          <div className="field field-inline">
            <label htmlFor="report-step">Step shown in detail</label>
            <select id="report-step" value={current?.step} onChange={(e) => setSelected(Number(e.target.value))}>
              {steps.map((s) => <option key={s.step} value={s.step}>Step {s.step} ({s.classes.filter((c) => c.id !== 0).length} classes)</option>)}
            </select>
          </div>
        )}
      />
      {missing ? (
        <Notice tone="warn">This coordinator does not serve evaluation reports yet (GET /api/reports is missing).</Notice>
      ) : (
        <ErrorBanner error={reports.error} onRetry={reports.reload} />
      )}
      {!reports.data && !reports.error && <Loading what="reports" />}
      {reports.data && steps.length === 0 && <Empty>No evaluation yet: a report appears when the sites have evaluated the model of the first step.</Empty>}
      {current && <Summary step={current} />}
      {steps.length > 0 && (
        <>
          <Card title="Per-class IoU across steps" description="IoU of each class on the sites' test patients after each step. A falling line is forgetting; a line starts at the step that added its class.">
            <IoUChart steps={steps} />
          </Card>
          <div className="grid-1-1">
            <Card title="mIoU: old, new and all classes" description="Old: classes of earlier steps. New: the classes the step added. All: every class the model predicts.">
              <GroupedBars
                label="Mean IoU of old, new and all classes after each step"
                xLabels={steps.map((s) => `Step ${s.step}`)}
                series={MIOU_SERIES.map((m) => ({ id: m.key, label: m.label, color: m.color, values: steps.map((s) => s.mIoU[m.key]) }))}
              />
            </Card>
            <Card title="Forgetting heat map" description="How far each class's IoU has fallen below its best earlier value, in percentage points.">
              <ForgettingMap steps={steps} />
            </Card>
          </div>
          {current && <RoundSeriesCard step={current.step} />}
          {current && (
            <Card title={`Per-site matrix · step ${current.step}`} description="IoU of every class on each site's own test patients. The federated row pools all sites' counts.">
              <SiteMatrix step={current} sites={sites.data ?? []} />
            </Card>
          )}
          {current?.crossSite?.length ? (
            <Card title={`Cross-site matrix · step ${current.step}`} description="mIoU (all classes) of each site's local model from the step's last round, on each site's own test patients: how well one hospital's training carries over to another's patients.">
              <CrossSiteMatrix step={current} sites={sites.data ?? []} />
            </Card>
          ) : null}
          <ReplayPanel sites={sites.data ?? []} />
          {current && (
            <Card title={`Prediction overlays · step ${current.step}`} description="Samples of the current diffusion generator, labelled by the step's model: what the sites replay at the next step (that model is its teacher). Patient images never leave the sites, so none are shown here.">
              <Overlays step={current} />
            </Card>
          )}
        </>
      )}
      <PrivacyCard sites={sites.data ?? []} />
    </>
  );
}

function Summary({ step }: { step: ReportStep }) {
  return (
    <div className="stats" role="list" aria-label={`Summary of step ${step.step}`} data-testid="report-summary">
      {MIOU_SERIES.map((m) => (
        <div key={m.key} className="stat" role="listitem">
          <div className="stat-label"><span className="legend-box" style={{ background: m.color }} aria-hidden="true" /> mIoU, {m.label.toLowerCase()}</div>
          <div className="stat-value">{fmtIoU(step.mIoU[m.key])}</div>
          <div className="stat-foot muted">after step {step.step}</div>
        </div>
      ))}
      <div className="stat" role="listitem">
        <div className="stat-label">Test images</div>
        <div className="stat-value">{step.images.toLocaleString()}</div>
        <div className="stat-foot muted">{step.perSite.length} sites · model <span className="mono">{step.modelVersionId}</span></div>
      </div>
    </div>
  );
}

function allClasses(steps: ReportStep[]) {
  const m = new Map<number, ReportStep['classes'][number]>();
  for (const s of steps) for (const c of s.classes) if (c.id !== 0) m.set(c.id, c);
  return [...m.values()].sort((a, b) => a.id - b.id);
}

function IoUChart({ steps }: { steps: ReportStep[] }) {
  const classes = allClasses(steps);
  return (
    <LineChart
      label={`Per-class IoU after each of ${steps.length} steps for ${classes.length} classes`}
      xLabels={steps.map((s) => `Step ${s.step}`)}
      series={classes.map((c) => ({ id: String(c.id), label: humanName(c.name), color: c.color, values: steps.map((s) => s.perClassIoU[c.id]) }))}
    />
  );
}

function ForgettingMap({ steps }: { steps: ReportStep[] }) {
  const classes = allClasses(steps).filter((c) => steps.some((s) => s.forgetting[c.id] !== undefined && s.forgetting[c.id] !== null));
  const values = steps.flatMap((s) => Object.values(s.forgetting)).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const max = Math.max(0.1, ...values);
  if (!classes.length) return <Empty>Nothing to forget yet: forgetting is measured from the second step on.</Empty>;
  return (
    <HeatTable
      testId="forgetting-map"
      caption="Forgetting per class and step, in percentage points of IoU"
      rowHeader="Class"
      columns={steps.map((s) => ({ key: String(s.step), label: `Step ${s.step}` }))}
      rows={classes.map((c) => ({ key: String(c.id), label: <><Swatch color={c.color} /> {humanName(c.name)}</>, cells: steps.map((s) => s.forgetting[c.id]) }))}
      color={(v) => forgettingColor(v, max)}
      format={(v) => (v * 100).toFixed(1)}
      legend={<ScaleLegend from="0" to={(max * 100).toFixed(0)} stops={['#fff7ec', '#fc8d59', '#b30000']} note="points of IoU lost; — = not yet learned" />}
    />
  );
}

function SiteMatrix({ step, sites }: { step: ReportStep; sites: Site[] }) {
  // Background (class 0) is shown too when the report has it: it counts among the old classes.
  const hasValue = (id: number) => [step.perClassIoU, ...step.perSite.map((p) => p.perClassIoU)].some((m) => typeof m[id] === 'number');
  const classes = [...step.classes].sort((a, b) => a.id - b.id).filter((c) => c.id !== 0 || hasValue(0));
  const name = (id: string) => sites.find((s) => s.id === id)?.displayName ?? id;
  const cells = (iou: Record<string, number | null>, m: MIoU) => [...classes.map((c) => iou[c.id]), m.old ?? null, m.new ?? null, m.all ?? null];
  return (
    <HeatTable
      testId="site-matrix"
      caption={`IoU per site and class after step ${step.step}`}
      rowHeader="Site"
      columns={[
        ...classes.map((c) => ({ key: String(c.id), label: <span className="col-class"><Swatch color={c.color} />{humanName(c.name)}{c.id !== 0 && c.stepAdded === step.step && <span className="new-tag">new</span>}</span> })),
        { key: 'old', label: 'mIoU old' }, { key: 'new', label: 'mIoU new' }, { key: 'all', label: 'mIoU all' },
      ]}
      rows={[
        { key: '__federated', label: <strong>Federated (all sites)</strong>, cells: cells(step.perClassIoU, step.mIoU) },
        ...step.perSite.map((p) => ({ key: p.siteId, label: name(p.siteId), cells: cells(p.perClassIoU, p.mIoU) })),
      ]}
      color={iouColor}
      format={fmtIoU}
      legend={<ScaleLegend from="0.00" to="1.00" stops={['#f1f7fb', '#6baed6', '#08306b']} note="IoU" />}
    />
  );
}

function CrossSiteMatrix({ step, sites }: { step: ReportStep; sites: Site[] }) {
  const cells = step.crossSite ?? [];
  const name = (id: string) => sites.find((s) => s.id === id)?.displayName ?? id;
  const owners = [...new Set(cells.map((c) => c.modelSite))];
  const evaluators = [...new Set(cells.map((c) => c.evaluatedAt))];
  return (
    <HeatTable
      testId="cross-site-matrix"
      caption={`mIoU of each site's local model at each site after step ${step.step}`}
      rowHeader="Local model of"
      columns={evaluators.map((e) => ({ key: e, label: `at ${name(e)}` }))}
      rows={owners.map((o) => ({ key: o, label: name(o), cells: evaluators.map((e) => cells.find((c) => c.modelSite === o && c.evaluatedAt === e)?.mIoU.all ?? null) }))}
      color={iouColor}
      format={fmtIoU}
      legend={<ScaleLegend from="0.00" to="1.00" stops={['#f1f7fb', '#6baed6', '#08306b']} note="mIoU" />}
    />
  );
}

function Overlays({ step }: { step: ReportStep }) {
  const [items, setItems] = useState<Overlay[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [opacity, setOpacity] = useState(0.6);
  useEffect(() => {
    let live = true;
    setItems(null);
    setError(null);
    get<Overlay[]>(`/api/reports/overlays/${encodeURIComponent(step.modelVersionId)}`).then(
      (r) => live && setItems(r),
      (e: Error) => live && setError(e instanceof ApiError && e.status === 404 ? `No overlays for this model version: ${e.message}` : e.message),
    );
    return () => {
      live = false;
    };
  }, [step.modelVersionId]);
  if (error) return <Empty>{error}</Empty>;
  if (!items) return <Loading what="overlays" />;
  if (!items.length) return <Empty>No overlays for this model version.</Empty>;
  const classes = step.classes.filter((c) => c.id !== 0);
  return (
    <>
      <div className="overlay-controls">
        <label htmlFor="overlay-opacity">Prediction opacity</label>
        <input id="overlay-opacity" type="range" min={0} max={1} step={0.05} value={opacity} onChange={(e) => setOpacity(Number(e.target.value))} aria-valuetext={`${Math.round(opacity * 100)}%`} />
        <span className="mono">{Math.round(opacity * 100)}%</span>
        <ul className="legend legend-inline" aria-label="Class colours">
          {classes.map((c) => <li key={c.id} className="legend-static"><Swatch color={c.color} />{humanName(c.name)}</li>)}
        </ul>
      </div>
      <ul className="overlays" data-testid="overlays">
        {items.map((o, i) => (
          <li key={i}>
            <figure>
              {/* The sample on its own beside the labelled copy: at 60% the labels hide what the generator drew. */}
              <div className="overlay-pair">
                <div className="overlay-stack">
                  <img src={`data:image/png;base64,${o.imagePng}`} alt={`Generated laparoscopic-style frame ${i + 1}`} />
                </div>
                <div className="overlay-stack">
                  <img src={`data:image/png;base64,${o.imagePng}`} alt="" />
                  <img src={`data:image/png;base64,${o.overlayPng}`} alt={`The model's predicted segmentation of frame ${i + 1}`} className="overlay-top" style={{ opacity }} />
                </div>
              </div>
              <figcaption>Sample {i + 1} · synthetic · left as generated, right with the model's labels</figcaption>
            </figure>
          </li>
        ))}
      </ul>
    </>
  );
}
