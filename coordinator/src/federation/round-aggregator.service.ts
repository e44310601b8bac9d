import { Inject, Injectable } from '@nestjs/common';
import { decodeSafetensors, type NamedTensors } from '@fedciss/ml';
import { BLOB_STORE, CONFIG } from '../common/tokens';
import type { CoordinatorConfig } from '../config/coordinator-config';
import type { BlobStore } from '../model-store/blob-store';
import { ModelVersionsService, type ModelKind } from '../models/model-versions.service';
import { aggregateBySlices, DEFAULT_VALIDATION_LIMITS, modelReference, slicedFromMemory, validateUpdate, type AggregationStrategy, type ServerState } from '../aggregation';
import { SafetensorsFileReader } from '../model-store/safetensors-file';
import { SecureAggregationService } from '../privacy/secure-aggregation.service';
import { AggregationStates } from './aggregation-states';
import { ServerDistillation } from './server-distillation.service';
import { StepStrategies } from './step-strategies';
import type { RoundRecord } from './repositories/rounds.repository';
import type { StepRecord } from './repositories/steps.repository';
import { UpdatesRepository } from './repositories/updates.repository';

/** A round's new model: its weights, the strategy's state to keep for the next round, and a note for the version. */
export interface AggregatedModel {
  weights: NamedTensors;
  serverState: ServerState;
  note: string;
}

/**
 * Turns a training round's accepted updates into its new model: streamed through the step's
 * strategy (or unmasked as a sum in a secure round), then distilled on the server at steps > 0.
 * Computes only; the caller stores the result.
 */
@Injectable()
export class RoundAggregator {
  constructor(
    private readonly updates: UpdatesRepository,
    private readonly models: ModelVersionsService,
    private readonly strategies: StepStrategies,
    private readonly states: AggregationStates,
    private readonly distillation: ServerDistillation,
    private readonly secure: SecureAggregationService,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    @Inject(CONFIG) private readonly config: CoordinatorConfig,
  ) {}

  /** Null while a secure round still waits for the shares that unmask its sum. */
  async aggregate(round: RoundRecord, kind: ModelKind, step: StepRecord, contributors: readonly string[]): Promise<AggregatedModel | null> {
    const base = await this.models.weights(round.baseVersionId!);
    const combined = round.state.secureAggregation ? await this.unmask(round, step, base) : await this.combine(round, kind, step, base, contributors);
    if (!combined) return null;
    const distilled = await this.distillation.apply(round, step, combined.weights);
    return distilled ? { ...combined, weights: distilled.weights, note: `${combined.note}; ${distilled.note}` } : combined;
  }

  /** Only the sum can be unmasked: FedAvg, then the aggregate's own checks (finite, norm bound). */
  private async unmask(round: RoundRecord, step: StepRecord, base: NamedTensors): Promise<AggregatedModel | null> {
    const secure = await this.secure.aggregate(round, round.state, base, step.config.training.privacy);
    if (!secure) return null;
    const v = validateUpdate(modelReference(base), { sampleCount: 1, kind: 'weights', tensors: secure.weights }, { ...DEFAULT_VALIDATION_LIMITS, maxDeltaNorm: this.config.training.maxUpdateNorm });
    if (!v.ok) throw new Error(`the securely aggregated update fails the aggregate's checks: ${v.rejection.reason}`);
    return { weights: secure.weights, serverState: null, note: secure.note };
  }

  private async combine(round: RoundRecord, kind: ModelKind, step: StepRecord, base: NamedTensors, contributors: readonly string[]): Promise<AggregatedModel> {
    const strategy = this.strategies.of(step.index, step.config);
    // Median and trimmed mean need every update at once: read by slices from the store's files
    // (clipping needs each update's norm first, which only the in-memory path computes).
    if ((strategy.name === 'median' || strategy.name === 'trimmed-mean') && strategy.options.clipNorm === null) return this.bySlices(round, strategy, base, contributors);
    const aggregation = strategy.begin(base, await this.states.load(step.index, kind));
    for (const u of await this.updates.accepted(round.id, 'arrival', contributors)) {
      // One update in memory at a time: decoded, added, dropped.
      const { tensors } = decodeSafetensors(await this.store.get(u.sha256));
      aggregation.add({ siteId: u.siteId, sampleCount: u.realImages + u.replayImages, kind: 'weights', tensors });
    }
    const result = aggregation.finish();
    return {
      weights: result.weights,
      serverState: result.state,
      note: `${strategy.name} of ${result.contributors} updates (${result.totalSamples} samples${result.clipped ? `, ${result.clipped} clipped` : ''})`,
    };
  }

  /**
   * A robust statistic over the accepted updates' files, slice by slice: memory of the global
   * model, the result and one model's worth of scratch, whatever the number of sites (in memory,
   * every update at once: N models).
   */
  private async bySlices(round: RoundRecord, strategy: AggregationStrategy, base: NamedTensors, contributors: readonly string[]): Promise<AggregatedModel> {
    const accepted = await this.updates.accepted(round.id, 'arrival', contributors);
    const readers: SafetensorsFileReader[] = [];
    try {
      for (const u of accepted) readers.push(await SafetensorsFileReader.open(await this.store.getFile(u.sha256)));
      const weights: NamedTensors = new Map([...base].map(([name, t]) => [name, { shape: [...t.shape], data: new Float32Array(t.data.length) }]));
      const sink = { write: async (name: string, from: number, values: Float32Array) => weights.get(name)!.data.set(values, from) };
      const modelBytes = [...base.values()].reduce((n, t) => n + t.data.byteLength, 0);
      const updates = accepted.map((u, k) => ({ siteId: u.siteId, sampleCount: u.realImages + u.replayImages, kind: 'weights' as const, tensors: readers[k] }));
      const result = await aggregateBySlices(strategy.options, slicedFromMemory(base), updates, sink, Math.max(modelBytes, 1024 * 1024));
      return { weights, serverState: null, note: `${strategy.name} of ${result.contributors} updates (${result.totalSamples} samples), by slices` };
    } finally {
      await Promise.all(readers.map((r) => r.close()));
    }
  }
}
