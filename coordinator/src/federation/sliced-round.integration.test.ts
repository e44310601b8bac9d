// A real round (NestJS coordinator, PGlite, in-test gRPC sites) through the path a model of any
// size takes: updates validated from their files by slices, aggregated by slices into a file, the
// version stored from that file, the sites' local models copied by slices for cross-site
// evaluation. Its results must be the in-memory path's to the bit: the aggregate against the
// in-memory strategy over the same updates, a bad update's refusal against validateUpdate's words.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSafetensors, encodeSafetensors, type NamedTensors } from '@fedciss/ml';
import { TaskKind, UploadState, type Task } from '@fedciss/proto';
import { openStepTasks, until, useTestFederation } from '../testing';
import { createStrategy, DEFAULT_VALIDATION_LIMITS, modelReference, StreamingWeightedMean, validateUpdate, type SlicedStrategy } from '../aggregation';

/** A site's trained weights: the base moved by a different irregular amount per value and site. */
const trained = (base: NamedTensors, site: number): NamedTensors =>
  new Map([...base].map(([name, t]) => [name, { shape: [...t.shape], data: t.data.map((v, i) => v + 0.01 * Math.sin(i * 1.7 + site) * (site + 1) + 1e-3 * site) }]));

for (const strategy of ['fedavg', 'median'] as const satisfies readonly SlicedStrategy[]) {
  describe(`a round by slices (${strategy}) gives the in-memory path's results`, () => {
    const federation = useTestFederation({
      name: 'coord-sliced',
      flags: { quorum: '3', segmenterRounds: '1', generatorRounds: '0', deadline: '60' },
      training: { crossSiteEvaluation: true, aggregation: { strategy } },
      siteNames: ['Hospital A', 'Hospital B', 'Hospital C'],
    });
    const { sites, api } = federation;

    test('validation, aggregation and local models, bit for bit', { timeout: 90_000 }, async () => {
      const tasks = await openStepTasks(api, sites, ['liver', 'colon']);
      const baseId = tasks[0].globalModel!.versionId;
      const base = decodeSafetensors(await sites[0].download(baseId)).tensors;
      const header = (task: Task, key: string, samples: number) => ({ idempotencyKey: key, roundId: task.roundId, baseVersionId: baseId, kind: 'segmenter', samples: { realImages: samples, replayImages: 0, labelledPixels: 0 }, trainMetrics: {} });

      // A bad tensor: refused with validateUpdate's own words, and the round goes on.
      const bad = trained(base, 2);
      bad.get('body.weight')!.data[9] = NaN;
      const refused = await sites[2].upload(header(tasks[2], `bad-${strategy}-c`, 5), encodeSafetensors(bad));
      assert.equal(refused.state, UploadState.UPLOAD_STATE_REJECTED);
      const verdict = validateUpdate(modelReference(base), { sampleCount: 5, kind: 'weights', tensors: bad }, { ...DEFAULT_VALIDATION_LIMITS, maxDeltaNorm: federation.config.training.maxUpdateNorm });
      assert.equal(verdict.ok, false);
      assert.equal(refused.reason, (verdict as Extract<typeof verdict, { ok: false }>).rejection.reason);
      assert.equal(refused.reason, "tensor 'body.weight' has a non-finite value (NaN) at flat index 9");

      // Three good updates with uneven sample counts, arriving in the reverse of the sites' order:
      // the coordinator aggregates by site (a running mean's result depends on the order of its
      // terms; in arrival order about a quarter of these values differ).
      const samples = [7, 13, 29];
      const updates = sites.map((_, k) => trained(base, k));
      assert.deepEqual(sites.map((s) => s.siteId), sites.map((s) => s.siteId).sort(), 'the sites\' ids sort in their order');
      for (const [k, site] of [...sites.entries()].reverse()) {
        const receipt = await site.upload(header(tasks[k], `good-${strategy}-${k}`, samples[k]), encodeSafetensors(updates[k]));
        assert.equal(receipt.state, UploadState.UPLOAD_STATE_ACCEPTED, receipt.reason);
      }
      const round = await until('the round to complete', async () => {
        const r = (await api('GET', '/api/rounds?step=0')).body.find((x: { kind: string }) => x.kind === 'segmenter');
        return r?.status === 'completed' && r;
      });
      const resultBytes = await sites[0].download(round.resultVersionId);
      const result = decodeSafetensors(resultBytes);

      // The in-memory strategy over the same updates in the sites' order. FedAvg's runs a WebAssembly
      // SIMD kernel whose steps round in Float32: within float rounding of the sliced path (which
      // steps as its JavaScript kernel does, in Float64 rounded to Float32), and to the bit with
      // that kernel (StreamingWeightedMean without SIMD). The median is the same arithmetic.
      const aggregation = createStrategy({ strategy }).begin(base, null);
      updates.forEach((tensors, k) => aggregation.add({ siteId: sites[k].siteId, sampleCount: samples[k], kind: 'weights', tensors }));
      const inMemory = aggregation.finish().weights;
      let exact = inMemory;
      if (strategy === 'fedavg') {
        const mean = new StreamingWeightedMean(base, 'weights', null, false);
        updates.forEach((tensors, k) => mean.add({ siteId: sites[k].siteId, sampleCount: samples[k], kind: 'weights', tensors }));
        exact = mean.result();
      }
      for (const [name, t] of exact) assert.deepEqual(result.tensors.get(name)!.data, t.data, `${name}: the in-memory ${strategy}'s values`);
      assert.ok(resultBytes.equals(encodeSafetensors(exact, result.metadata)), 'the stored version is the bytes the in-memory path stores');
      let largest = 0;
      for (const [name, t] of inMemory) t.data.forEach((v, i) => (largest = Math.max(largest, Math.abs(v - result.tensors.get(name)!.data[i]))));
      assert.ok(largest <= 2.5e-7, `the in-memory strategy differs by ${largest} (values below 1.1: two Float32 ulps at most)`);
      const version = (await api('GET', '/api/models')).body.find((m: { id: string }) => m.id === round.resultVersionId);
      assert.match(version.note, new RegExp(`^${strategy} of 3 updates \\(49 samples\\), by slices`));

      // Cross-site evaluation: each site's local model is its update under a version's header.
      const evalTask = await until('an evaluation task', async () => {
        const t = await sites[0].getTask();
        return t.kind === TaskKind.TASK_KIND_EVALUATE && t;
      });
      assert.equal(evalTask.crossSiteModels.length, 3);
      const notes = new Map<string, string>(((await api('GET', '/api/models')).body as Array<{ id: string; note: string }>).map((m) => [m.id, m.note]));
      for (const local of evalTask.crossSiteModels) {
        const owner = sites.findIndex((s) => notes.get(local.versionId)?.startsWith(`local model of ${s.siteId} `));
        assert.ok(owner >= 0, `whose is ${local.versionId}`);
        const bytes = await sites[0].download(local.versionId);
        assert.ok(bytes.equals(encodeSafetensors(updates[owner], decodeSafetensors(bytes).metadata)), `local model of site ${owner}`);
        assert.deepEqual(decodeSafetensors(bytes).metadata, result.metadata, 'a version\'s header metadata');
      }
    });
  });
}
