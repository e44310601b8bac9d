import { useMemo, useState } from 'react';
import { Badge, Card, Empty, ErrorBanner, Loading, PageHeader } from '../components/ui';
import { fmtBytes, fmtDate, useFederationEvents, useGet } from '../lib';
import type { ModelVersion } from '../types';

/** Versions in lineage order: each version after its parent, children by creation time. */
function lineage(versions: ModelVersion[]): { v: ModelVersion; depth: number; last: boolean }[] {
  const byId = new Map(versions.map((v) => [v.id, v]));
  const children = new Map<string, ModelVersion[]>();
  const roots: ModelVersion[] = [];
  for (const v of [...versions].sort((a, b) => a.createdAt.localeCompare(b.createdAt))) {
    if (v.parentId && byId.has(v.parentId)) children.set(v.parentId, [...(children.get(v.parentId) ?? []), v]);
    else roots.push(v);
  }
  const out: { v: ModelVersion; depth: number; last: boolean }[] = [];
  const walk = (v: ModelVersion, depth: number, last: boolean) => {
    out.push({ v, depth, last });
    const kids = children.get(v.id) ?? [];
    kids.forEach((k, i) => walk(k, depth + 1, i === kids.length - 1));
  };
  roots.forEach((r, i) => walk(r, 0, i === roots.length - 1));
  return out;
}

export function ModelsPage() {
  const [kind, setKind] = useState<'all' | 'segmenter' | 'generator'>('segmenter');
  const models = useGet<ModelVersion[]>('/api/models');
  useFederationEvents((e) => e.type !== 'progress' && models.reload());
  const rows = useMemo(() => lineage((models.data ?? []).filter((v) => kind === 'all' || v.kind === kind)), [models.data, kind]);

  return (
    <>
      <PageHeader title="Models" subtitle="Every global model version, in lineage order: each version sits under the version it was trained from. Downloads are self-contained." />
      <ErrorBanner error={models.error} onRetry={models.reload} />
      <Card
        title="Model versions"
        actions={
          <div className="segmented" role="radiogroup" aria-label="Model kind">
            {(['segmenter', 'generator', 'all'] as const).map((k) => (
              <label key={k} className={kind === k ? 'active' : undefined}>
                <input type="radio" name="kind" value={k} checked={kind === k} onChange={() => setKind(k)} />
                {k === 'all' ? 'All' : k === 'segmenter' ? 'Segmenters' : 'Diffusion generators'}
              </label>
            ))}
          </div>
        }
      >
        {!models.data && !models.error && <Loading what="model versions" />}
        {models.data && rows.length === 0 && <Empty>No model versions yet: the first appears when step 0 opens.</Empty>}
        {rows.length > 0 && (
          <div className="table-wrap">
            <table data-testid="models">
              <thead>
                <tr>
                  <th scope="col">Version (lineage)</th>
                  {kind === 'all' && <th scope="col">Kind</th>}
                  <th scope="col" className="num">Step</th>
                  <th scope="col" className="num">Classes</th>
                  <th scope="col" className="num">Size</th>
                  <th scope="col">Created</th>
                  <th scope="col">Note</th>
                  <th scope="col">Download</th>
                </tr>
              </thead>
              <tbody>
                {rows.map(({ v, depth }) => (
                  <tr key={v.id} data-version={v.id}>
                    <th scope="row">
                      <div className="lineage" style={{ paddingLeft: `${depth * 18}px` }}>
                        {depth > 0 && <span className="lineage-elbow" aria-hidden="true" />}
                        <div>
                          <div className="mono">{v.id}</div>
                          <div className="muted small">
                            {v.parentId ? <>from <span className="mono">{v.parentId}</span></> : 'initial version'} · sha256 <span className="mono" title={v.sha256}>{v.sha256.slice(0, 12)}</span>
                          </div>
                        </div>
                      </div>
                    </th>
                    {kind === 'all' && <td><Badge status={v.kind === 'segmenter' ? 'open' : 'muted'} label={v.kind} /></td>}
                    <td className="num">{v.stepIndex}</td>
                    <td className="num">{v.numClasses}</td>
                    <td className="num">{fmtBytes(v.sizeBytes)}</td>
                    <td>{fmtDate(v.createdAt)}</td>
                    <td className="wrap">{v.note || <span className="muted">—</span>}</td>
                    <td className="actions">
                      {v.kind === 'segmenter' && (
                        <>
                          <a className="btn btn-small" href={`/api/models/${encodeURIComponent(v.id)}/model.onnx`} download={`${v.id}.onnx`} aria-label={`Download ${v.id} as ONNX`}>.onnx</a>
                          <a className="btn btn-small btn-ghost" href={`/api/models/${encodeURIComponent(v.id)}/model-card.md`} download={`${v.id}.model-card.md`} aria-label={`Download the model card of ${v.id}`}>card</a>
                        </>
                      )}
                      <a className="btn btn-small btn-ghost" href={`/api/models/${encodeURIComponent(v.id)}/weights.safetensors`} download={`${v.id}.safetensors`} aria-label={`Download ${v.id} weights as safetensors`}>.safetensors</a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <p className="hint">The .onnx file is an inference model with the weights inside (opset 11, any batch size; ONNX Runtime, OpenCV DNN and other runtimes run it); its metadata names the classes, their colours and the input normalisation. The card says the same in Markdown. The .safetensors file holds the raw weights.</p>
      </Card>
    </>
  );
}
