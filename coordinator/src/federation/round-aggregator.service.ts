import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { decodeSafetensors, type NamedTensors } from '@fedciss/ml';
import { secagg } from '@fedciss/proto';
import { BLOB_STORE, CONFIG } from '../common/tokens';
import type { CoordinatorConfig } from '../config/coordinator-config';
import type { BlobStore } from '../model-store/blob-store';
import { ModelVersionsService, versionMetadata, type ModelContent, type ModelKind, type NewModelVersion } from '../models/model-versions.service';
import { wholeModelRefusal } from '../models/whole-model-limit';
import { aggregateBySlices, DEFAULT_VALIDATION_LIMITS, modelReference, SLICED_STRATEGIES, validateUpdate, type AggregationStrategy, type ServerState } from '../aggregation';
import { SafetensorsFileReader, SafetensorsFileWriter } from '../model-store/safetensors-file';
import { SecureAggregationService } from '../privacy/secure-aggregation.service';
import { unclippedCount, type UnclippedCount } from '../privacy/adaptive-clip.service';
import { dpNormLimits } from '../privacy/privacy-settings';
import { AggregationStates } from './aggregation-states';
import { EndpointFusion } from './endpoint-fusion.service';
import { ServerDistillation } from './server-distillation.service';
import { StepStrategies } from './step-strategies';
import type { RoundRecord } from './repositories/rounds.repository';
import type { StepRecord } from './repositories/steps.repository';
import { UpdatesRepository } from './repositories/updates.repository';

/** Scratch of the aggregation by slices (every update's slice, the global's, the result's), whatever the model's size. */
const SLICE_BUDGET_BYTES = 64 * 1024 * 1024;

/** A version's class count and architecture, from its step's configuration by kind. */
export function versionShape(kind: ModelKind, cfg: StepRecord['config']): Pick<NewModelVersion, 'kind' | 'numClasses' | 'config'> {
  return { kind, numClasses: kind === 'segmenter' ? cfg.numClasses : 0, config: kind === 'segmenter' ? cfg.segmenter : cfg.generator };
}

/** A round's new model: its weights, the strategy's state to keep for the next round, and a note for the version. */
export interface AggregatedModel {
  /** The new weights: in memory, or a file written by slices with the version's metadata (ModelVersionsService.create takes either). */
  content: ModelContent;
  serverState: ServerState;
  note: string;
  /** Adaptive clipping: the noisy count of the sites' "within the bound" bits in this aggregate. */
  unclippedCount?: UnclippedCount;
}

/**
 * Turns a training round's accepted updates into its new model: streamed through the step's
 * strategy (or unmasked as a sum in a secure round), then, at steps > 0, distilled on the server
 * and, in a step's last segmenter round, fused with the step's start (endpoint fusion). Computes
 * only; the caller stores the result.
 *
 * Two paths. By slices (any size: the base, the updates and the result are files read and written
 * slice by slice): the sliced strategies without clipping, with no distillation or fusion after. In
 * memory: whatever needs whole models (secure aggregation, strategies with server state, clipping,
 * distillation, fusion). Above WHOLE_MODEL_LIMIT_BYTES the in-memory path is refused (the round
 * fails, saying why), except distillation and fusion, which are skipped (logged, and said in the
 * version's note): the round still gives its aggregate.
 */
@Injectable()
export class RoundAggregator {
  private readonly log = new Logger('Aggregation');

  constructor(
    private readonly updates: UpdatesRepository,
    private readonly models: ModelVersionsService,
    private readonly strategies: StepStrategies,
    private readonly states: AggregationStates,
    private readonly distillation: ServerDistillation,
    private readonly fusion: EndpointFusion,
    private readonly secure: SecureAggregationService,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    @Inject(CONFIG) private readonly config: CoordinatorConfig,
  ) {}

  /** Null while a secure round still waits for the shares that unmask its sum. */
  async aggregate(round: RoundRecord, kind: ModelKind, step: StepRecord, contributors: readonly string[]): Promise<AggregatedModel | null> {
    const strategy = this.strategies.of(step.index, step.config);
    const secure = !!round.state.secureAggregation;
    const needs = [
      ...(secure ? ['secure aggregation'] : []),
      ...(!secure && !(SLICED_STRATEGIES as readonly string[]).includes(strategy.name) ? [`the ${strategy.name} strategy (server state)`] : []),
      ...(!secure && strategy.options.clipNorm !== null ? ['clipping'] : []),
    ];
    const modelBytes = Number((await this.models.get(round.baseVersionId!)).sizeBytes);
    const refused = wholeModelRefusal(modelBytes, needs);
    if (refused) throw new Error(`${refused}: aggregate with fedavg, fedprox, median or trimmed-mean without clipping (by slices), or a smaller model`);
    const after = [
      ...((await this.distillation.generatorFor(round, step)) !== null ? ['server-side distillation'] : []),
      ...(this.fusion.startWeight(round, step) > 0 ? ['endpoint fusion'] : []),
    ];
    if (!needs.length) {
      const sliced = await this.bySlices(round, kind, step, strategy, contributors);
      const skipped = after.length ? wholeModelRefusal(modelBytes, after) : null;
      if (skipped) {
        this.log.warn(`round ${round.id}: ${after.join(' and ')} skipped: ${skipped}`);
        return { ...sliced, note: `${sliced.note}; ${after.join(' and ')} skipped: ${skipped}` };
      }
      return after.length ? this.finished(round, step, sliced) : sliced;
    }
    const base = await this.models.weights(round.baseVersionId!);
    const combined = secure ? await this.unmask(round, step, base) : await this.combine(round, kind, step, strategy, base, contributors);
    if (!combined) return null;
    const { weights, ...rest } = combined;
    return this.finished(round, step, { ...rest, content: { weights } });
  }

  /** The aggregate distilled on the server, then fused with the step's start, as far as the round
   * asks for either (a model that fits in memory). */
  private async finished(round: RoundRecord, step: StepRecord, aggregate: AggregatedModel): Promise<AggregatedModel> {
    const { content } = aggregate;
    let weights: NamedTensors;
    if (content.file !== undefined) {
      weights = decodeSafetensors(await readFile(content.file)).tensors;
      await rm(content.file);
    } else weights = content.weights;
    const notes = [aggregate.note];
    const distilled = await this.distillation.apply(round, step, weights);
    if (distilled) {
      weights = distilled.weights;
      notes.push(distilled.note);
    }
    const fused = await this.fusion.apply(round, step, weights);
    if (fused) {
      weights = fused.weights;
      notes.push(fused.note);
    }
    return { ...aggregate, content: { weights }, note: notes.join('; ') };
  }

  /** Only the sum can be unmasked: FedAvg, then the aggregate's own checks (finite, norm bound). */
  private async unmask(round: RoundRecord, step: StepRecord, base: NamedTensors): Promise<InMemoryAggregate | null> {
    const secure = await this.secure.aggregate(round, round.state, base, step.config.training.privacy);
    if (!secure) return null;
    const limits = { ...DEFAULT_VALIDATION_LIMITS, maxDeltaNorm: this.config.training.maxUpdateNorm, ...dpNormLimits(step.config.training.privacy, secagg.flatLength(base), round.config.clipping?.clipNorm) };
    const v = validateUpdate(modelReference(base), { sampleCount: 1, kind: 'weights', tensors: secure.weights }, limits);
    if (!v.ok) throw new Error(`the securely aggregated update fails the aggregate's checks: ${v.rejection.reason}`);
    return { weights: secure.weights, serverState: null, note: secure.note, unclippedCount: secure.unclippedCount };
  }

  private async combine(round: RoundRecord, kind: ModelKind, step: StepRecord, strategy: AggregationStrategy, base: NamedTensors, contributors: readonly string[]): Promise<InMemoryAggregate> {
    const aggregation = strategy.begin(base, await this.states.load(step.index, kind));
    const updates = await this.updates.accepted(round.id, contributors);
    for (const u of updates) {
      // One update in memory at a time: decoded, added, dropped.
      const { tensors } = decodeSafetensors(await this.store.get(u.sha256));
      aggregation.add({ siteId: u.siteId, sampleCount: u.realImages + u.replayImages, kind: 'weights', tensors });
    }
    const result = aggregation.finish();
    return {
      weights: result.weights,
      serverState: result.state,
      note: `${strategy.name} of ${result.contributors} updates (${result.totalSamples} samples${result.clipped ? `, ${result.clipped} clipped` : ''})`,
      unclippedCount: round.config.clipping ? unclippedCount(updates) : undefined,
    };
  }

  /**
   * The strategy's statistic over the accepted updates' files, slice by slice, written into a new
   * safetensors file: memory of SLICE_BUDGET_BYTES whatever the number of sites and the model's
   * size (in memory, median and trimmed mean hold every update at once: N models). The arithmetic
   * per coordinate is the in-memory strategies' (sliced.ts), so the weights are the same bits.
   */
  private async bySlices(round: RoundRecord, kind: ModelKind, step: StepRecord, strategy: AggregationStrategy, contributors: readonly string[]): Promise<AggregatedModel> {
    const accepted = await this.updates.accepted(round.id, contributors);
    const dir = join(this.config.dataDir, 'new-versions');
    await mkdir(dir, { recursive: true });
    const file = join(dir, `${round.id}-${randomBytes(4).toString('hex')}.safetensors`);
    const readers: SafetensorsFileReader[] = [];
    try {
      const base = await SafetensorsFileReader.open((await this.models.localFile(round.baseVersionId!)).path);
      readers.push(base);
      for (const u of accepted) readers.push(await SafetensorsFileReader.open(await this.store.getFile(u.sha256)));
      const updates = accepted.map((u, k) => ({ siteId: u.siteId, sampleCount: u.realImages + u.replayImages, kind: 'weights' as const, tensors: readers[k + 1] }));
      const writer = await SafetensorsFileWriter.create(file, base.shapes, versionMetadata(versionShape(kind, step.config)));
      let result;
      try {
        result = await aggregateBySlices(strategy.options, base, updates, writer, SLICE_BUDGET_BYTES);
      } finally {
        await writer.close();
      }
      return {
        content: { file },
        serverState: null,
        note: `${strategy.name} of ${result.contributors} updates (${result.totalSamples} samples), by slices`,
        unclippedCount: round.config.clipping ? unclippedCount(accepted) : undefined,
      };
    } catch (e) {
      await rm(file, { force: true });
      throw e;
    } finally {
      await Promise.all(readers.map((r) => r.close()));
    }
  }
}

/** The in-memory path's result before distillation and fusion. */
type InMemoryAggregate = Omit<AggregatedModel, 'content'> & { weights: NamedTensors };
