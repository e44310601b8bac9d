import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { DatabaseService, type Tx } from '../database/database.service';
import { AuditService } from '../audit/audit.service';
import { SKIPPED_ROUND_ACTIONS, skippedRoundTarget } from '../audit/skipped-rounds';
import { CLOCK, BLOB_STORE, CONFIG, type Clock } from '../common/tokens';
import type { CoordinatorConfig } from '../config/coordinator-config';
import type { BlobStore, StoredBlob } from '../model-store/blob-store';
import { ModelVersionsService, versionMetadata, type ModelContent, type NewModelVersion } from '../models/model-versions.service';
import { copySafetensorsWithMetadata } from '../model-store/safetensors-file';
import { SitesService } from '../sites/sites.service';
import { deadlineAt, openRound, secureRound, startCollecting } from '../rounds';
import { PrivacyLedger } from '../privacy/privacy-ledger.service';
import { openingClipping } from '../privacy/adaptive-clip.service';
import { GlobalModels } from './global-models';
import { versionShape } from './round-aggregator.service';
import { ProgressHub } from './progress-hub';
import type { StepConfig } from './step-config';
import { RoundsRepository, type RoundKind, type RoundRecord } from './repositories/rounds.repository';
import { StepsRepository } from './repositories/steps.repository';
import { UpdatesRepository } from './repositories/updates.repository';

/**
 * Opens a step's next round: segmenter rounds (each but the last followed by an evaluation of its
 * aggregate when `evaluateEveryRound` is on), then generator rounds, then the step's evaluation
 * round; a failed training round is followed by another of the same kind (a failed generator round
 * only up to rounds.generatorFailuresPerStep). Called inside the SerialQueue only (by the clock, by a
 * round's end, by a new step).
 */
@Injectable()
export class RoundOpener {
  private readonly log = new Logger('Rounds');

  constructor(
    private readonly db: DatabaseService,
    private readonly steps: StepsRepository,
    private readonly rounds: RoundsRepository,
    private readonly updates: UpdatesRepository,
    private readonly audit: AuditService,
    private readonly models: ModelVersionsService,
    private readonly globals: GlobalModels,
    private readonly sites: SitesService,
    private readonly progress: ProgressHub,
    private readonly privacy: PrivacyLedger,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    @Inject(CONFIG) private readonly config: CoordinatorConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** Opens nothing while no approved site is alive (or too few for a secure round): the clock tries again. */
  async openNext(stepIndex: number): Promise<void> {
    const step = await this.steps.byIndex(stepIndex);
    const cfg = step.config;
    const rounds = await this.rounds.ofStep(stepIndex);
    const completed = (k: RoundKind) => rounds.filter((r) => r.kind === k && r.status === 'completed').length;
    const alive = await this.sites.aliveSiteIds();
    const sa = cfg.training.privacy?.secureAggregation;
    // evaluateEveryRound: the last segmenter round's aggregate is scored before training goes on (one
    // try: a failed evaluation is not repeated). The step's last segmenter round is left to the
    // step's own evaluation round, which scores the same version.
    const lastSegmenter = rounds.filter((r) => r.kind === 'segmenter' && r.status === 'completed').sort((a, b) => b.index - a.index)[0];
    const roundEvaluation = cfg.training.evaluateEveryRound && lastSegmenter?.resultVersionId && completed('segmenter') < cfg.segmenterRounds
      && !rounds.some((r) => r.config.evaluatesRound === lastSegmenter.id) ? lastSegmenter : undefined;
    // Training rounds first; a kind whose next round would cross the privacy budget is refused (and
    // said so, once), and the step moves on. So does a step whose generator rounds failed too often.
    let kind: RoundKind = 'evaluate';
    for (const k of roundEvaluation ? [] : (['segmenter', 'generator'] as const)) {
      if (completed(k) >= (k === 'segmenter' ? cfg.segmenterRounds : cfg.generatorRounds)) continue;
      if (k === 'generator' && (await this.generatorGivenUp(stepIndex, rounds))) continue;
      if (alive.length && (await this.privacy.refuse(stepIndex, k, cfg.training.privacy, alive))) continue;
      kind = k;
      break;
    }
    const base = roundEvaluation ? roundEvaluation.resultVersionId : kind === 'generator' ? await this.globals.current('generator') : await this.globals.current('segmenter');
    if (!alive.length || !base) return;
    // A secure round needs at least `threshold` sites to unmask its sum: wait for them.
    if (sa && kind !== 'evaluate' && alive.length < sa.threshold) return;
    // The sites' local models are stored before the transaction that records them: copying large models takes a while,
    // and before the round's clock starts.
    const localModels = kind === 'evaluate' && !roundEvaluation && cfg.training.crossSiteEvaluation ? await this.storeLocalModels(stepIndex, cfg) : undefined;
    const r = this.config.rounds;
    const quorum = kind === 'evaluate' ? 1 : Math.max(Math.min(r.quorum, alive.length), sa ? sa.threshold : 1);
    const now = this.clock.now();
    const index = rounds.filter((x) => x.kind === kind).length;
    const id = `r${stepIndex}-${kind.slice(0, 3)}-${index}-${randomBytes(3).toString('hex')}`;
    const opened = openRound(id, {
      quorum,
      deadlineMs: r.deadlineSeconds * 1000,
      hardLimitMs: Math.max(r.hardLimitSeconds, r.deadlineSeconds) * 1000,
      maxDurationMs: (Math.max(r.hardLimitSeconds, r.deadlineSeconds) + 600) * 1000,
      heartbeatTimeoutMs: r.heartbeatTimeoutSeconds * 1000,
      stragglerPolicy: r.stragglers,
    }, alive, now);
    const collecting = startCollecting(opened, now).state;
    const state = sa && kind !== 'evaluate' ? secureRound(collecting, sa.threshold, sa.neighbours) : collecting;
    const adaptive = kind !== 'evaluate' ? openingClipping(cfg.training.privacy, await this.rounds.completed(kind)) : undefined;
    // The step's last segmenter round (a failed one's successor too) ends the step's training: its
    // aggregate is the one fused with the step's start.
    const fusion = kind === 'segmenter' && step.teacherVersionId && cfg.training.endpointFusion > 0 && completed('segmenter') === cfg.segmenterRounds - 1
      ? { endpointFusion: cfg.training.endpointFusion } : undefined;
    await this.db.roundTransaction(async (tx) => {
      const crossSite = localModels && (await this.registerLocalModels(tx, localModels));
      await this.rounds.create(tx, {
        id, stepIndex, kind, index, baseVersionId: base, quorum, deadlineAt: new Date(deadlineAt(state)),
        config: { stragglers: r.stragglers, sites: alive, ...(crossSite ? { crossSite } : {}), ...(roundEvaluation ? { evaluatesRound: roundEvaluation.id } : {}), ...adaptive, ...fusion }, state,
      });
      if (kind !== 'evaluate') await this.privacy.charge(tx, id, kind, alive, cfg.training.privacy);
      if (kind === 'evaluate' && !roundEvaluation && step.status !== 'evaluating') await this.steps.setStatus(tx, stepIndex, 'evaluating');
      await this.audit.record('system', 'round.open', id, { kind, base, sites: alive, quorum }, tx);
    });
    this.progress.publish({ type: 'round', roundId: id, status: 'collecting', reason: null });
    this.log.log(`opened ${kind} round ${id} of step ${stepIndex} for ${alive.length} sites (quorum ${quorum})`);
  }

  /**
   * True once the step's generator rounds have failed `rounds.generatorFailuresPerStep` times (said
   * so once, in the audit log the replay report reads): the step goes on with the generator it has.
   * Segmenter rounds are retried without limit: they are what a step is for, and they fail when sites
   * are gone, which the clock waits out.
   */
  private async generatorGivenUp(stepIndex: number, rounds: readonly RoundRecord[]): Promise<boolean> {
    const failed = rounds.filter((r) => r.kind === 'generator' && r.status === 'failed').sort((a, b) => a.index - b.index);
    const limit = this.config.rounds.generatorFailuresPerStep;
    if (failed.length < limit) return false;
    const generator = await this.globals.current('generator');
    const reason = `${failed.length} generator round${failed.length === 1 ? '' : 's'} of step ${stepIndex} failed (the last: ${failed.at(-1)!.reason ?? 'no reason recorded'}); `
      + `the step goes on with ${generator ? `generator version ${generator}` : 'no generator'} (rounds.generatorFailuresPerStep ${limit})`;
    if (await this.audit.recordOnce('system', SKIPPED_ROUND_ACTIONS.givenUp, skippedRoundTarget(stepIndex, 'generator'), { reason, kind: 'generator', failedRounds: failed.map((r) => r.id) })) this.log.warn(reason);
    return true;
  }

  /**
   * For a cross-site evaluation: each site's update in the step's last completed segmenter round
   * becomes a model version of its own, so every site can download and evaluate it. Its tensors are
   * copied by slices under a version's header (a model of any size) into the store; the rows come
   * in registerLocalModels.
   */
  private async storeLocalModels(stepIndex: number, cfg: StepConfig): Promise<LocalModel[]> {
    const last = await this.rounds.lastCompleted(this.db.prisma, stepIndex, 'segmenter');
    if (!last) return [];
    const updates = await this.updates.accepted(last.id);
    const shape = versionShape('segmenter', cfg);
    const dir = join(this.config.dataDir, 'new-versions');
    await mkdir(dir, { recursive: true });
    const out: LocalModel[] = [];
    for (const u of updates) {
      const file = join(dir, `local-${u.id}-${randomBytes(4).toString('hex')}.safetensors`);
      try {
        await copySafetensorsWithMetadata(await this.store.getFile(u.sha256), file, versionMetadata(shape));
        const version = { ...shape, parentId: last.baseVersionId, stepIndex, roundId: last.id, note: `local model of ${u.siteId} (round ${last.id})` };
        out.push({ siteId: u.siteId, blob: await this.models.storeContent({ file, ...version }), version });
      } finally {
        await rm(file, { force: true }); // moved into the store unless the copy failed
      }
    }
    return out;
  }

  /** The stored local models' versions: site id → version id. */
  private async registerLocalModels(tx: Tx, models: readonly LocalModel[]): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const m of models) out[m.siteId] = (await this.models.record(m.blob, m.version, tx)).id;
    return out;
  }
}

interface LocalModel {
  siteId: string;
  blob: StoredBlob;
  version: Omit<NewModelVersion, keyof ModelContent>;
}
