import { Inject, Injectable } from '@nestjs/common';
import { parseDiffusionConfig, type DiffusionConfig, type SegmenterConfig } from '@fedciss/ml';
import { DatabaseService, LONG_TRANSACTION } from '../database/database.service';
import { AuditService, type Actor } from '../audit/audit.service';
import { CONFIG, MODEL_FACTORY } from '../common/tokens';
import { conflict } from '../common/errors';
import type { CoordinatorConfig } from '../config/coordinator-config';
import { federationArchitecture } from '../config/architecture-check';
import type { ModelFactory } from '../models/model-factory';
import { ModelVersionsService, type NewModelVersion } from '../models/model-versions.service';
import { RosterRepository } from '../roster/roster.repository';
import { GlobalModels } from './global-models';
import { RoundOpener } from './round-opener.service';
import { SerialQueue } from '../common/serial-queue';
import type { StepConfig } from './step-config';
import { StepsRepository } from './repositories/steps.repository';

/**
 * Incremental steps. Opening step t adds its classes to the roster, makes the step's starting
 * model (fresh at step 0, and a fresh generator unless one was imported; at later steps the
 * previous global model with its head grown, MiB-style), freezes the previous global model as the
 * teacher, and opens the first round.
 */
@Injectable()
export class StepsService {
  constructor(
    private readonly db: DatabaseService,
    private readonly steps: StepsRepository,
    private readonly roster: RosterRepository,
    private readonly audit: AuditService,
    private readonly models: ModelVersionsService,
    private readonly globals: GlobalModels,
    private readonly queue: SerialQueue,
    private readonly opener: RoundOpener,
    @Inject(MODEL_FACTORY) private readonly factory: ModelFactory,
    @Inject(CONFIG) private readonly config: CoordinatorConfig,
  ) {}

  /** Step 0's architecture: the training settings', with the generator's of a generator imported
   * before the first step (models import checked that they agree; its stored architecture is what
   * its weights were built for, should the settings have changed since). */
  private async startingArchitecture(importedGenerator: string | null): Promise<{ segmenter: SegmenterConfig; generator: DiffusionConfig }> {
    const fromSettings = federationArchitecture(this.config.training, this.factory);
    if (!importedGenerator) return fromSettings;
    const row = await this.models.get(importedGenerator);
    return { ...fromSettings, generator: parseDiffusionConfig(row.config, `generator ${importedGenerator}'s stored architecture`) };
  }

  async openStep(actor: Actor, classes: Array<{ name: string; color: string; description: string }>): Promise<number> {
    return this.queue.run(async () => {
      const last = await this.steps.latest();
      if (last && last.status !== 'completed') {
        throw conflict(`step ${last.index} is still ${last.status}; new classes can be added once it completes`);
      }
      const index = last ? last.index + 1 : 0;
      const first = last ? (await this.steps.byIndex(0)).config : null;
      const currentGenerator = await this.globals.current('generator');
      // The architecture is fixed by step 0: later steps only grow the head.
      const { segmenter, generator } = first ?? (await this.startingArchitecture(currentGenerator));
      const maxId = await this.roster.maxId();
      const newClassIds = classes.map((_, i) => maxId + 1 + i);
      const numClasses = maxId + 1 + classes.length;
      const oldClasses = maxId + 1;
      const teacherId = last ? await this.globals.current('segmenter') : null;
      const weights = teacherId
        ? await this.factory.growHead(await this.models.weights(teacherId), oldClasses, numClasses, segmenter)
        : await this.factory.createSegmenter({ numClasses, config: segmenter }, 1000 + index);
      const rounds = this.config.rounds;
      const needGenerator = rounds.generatorRounds > 0 && !currentGenerator;
      const generatorWeights = needGenerator ? await this.factory.createGenerator(generator, 2000) : null;
      const config: StepConfig = {
        training: this.config.training,
        segmenter,
        generator,
        numClasses,
        newClassIds,
        segmenterRounds: rounds.segmenterRounds,
        // A later step keeps the generator it has unless told to train it on (laterStepGeneratorRounds).
        generatorRounds: index > 0 && currentGenerator ? rounds.laterStepGeneratorRounds : rounds.generatorRounds,
      };
      const startVersion: NewModelVersion = { kind: 'segmenter', weights, parentId: teacherId, stepIndex: index, numClasses, config: segmenter, note: teacherId ? `head grown from ${oldClasses} to ${numClasses} classes` : 'initial model' };
      const generatorVersion: NewModelVersion | null = generatorWeights ? { kind: 'generator', weights: generatorWeights, stepIndex: index, numClasses: 0, config: generator, note: 'initial generator' } : null;
      // The bytes go into the store before the transaction: hashing a large model must not hold it open.
      const startBlob = await this.models.storeContent(startVersion);
      const generatorBlob = generatorVersion && (await this.models.storeContent(generatorVersion));
      await this.db.transaction(async (tx) => {
        if (index === 0) await this.roster.add(tx, { id: 0, name: 'background', color: '#000000', description: 'everything that is not an annotated structure', stepAdded: 0 });
        for (const [i, c] of classes.entries()) await this.roster.add(tx, { id: newClassIds[i], ...c, stepAdded: index });
        await this.steps.create(tx, { index, status: 'training', teacherVersionId: teacherId, config });
        const start = await this.models.record(startBlob, startVersion, tx);
        await this.globals.set('segmenter', start.id, tx);
        if (generatorVersion && generatorBlob) {
          const gen = await this.models.record(generatorBlob, generatorVersion, tx);
          await this.globals.set('generator', gen.id, tx);
        }
        await this.audit.record(actor, 'step.open', `step ${index}`, { classes: classes.map((c) => c.name), teacher: teacherId, startVersion: start.id }, tx);
        for (const c of classes) await this.audit.record(actor, 'roster.add', c.name, { step: index, color: c.color }, tx);
      }, LONG_TRANSACTION);
      await this.opener.openNext(index);
      return index;
    });
  }
}
