import { Inject, Injectable } from '@nestjs/common';
import type { Prisma, Step } from '../generated/prisma/client';
import { DatabaseService } from '../database/database.service';
import { AuditService, type Actor } from '../audit/audit.service';
import { CONFIG, MODEL_FACTORY } from '../common/tokens';
import { conflict } from '../common/errors';
import type { CoordinatorConfig, TrainingSettings } from '../config/coordinator-config';
import type { ModelFactory } from '../models/model-factory';
import { ModelVersionsService } from '../models/model-versions.service';
import { GlobalModels } from './global-models';
import { RoundsService } from './rounds.service';

/** What a step was opened with; stored on the step so a restart or a config change cannot alter it. */
export interface StepConfig {
  training: TrainingSettings;
  segmenter: Record<string, unknown>;
  generator: Record<string, unknown>;
  numClasses: number;
  newClassIds: number[];
  segmenterRounds: number;
  generatorRounds: number;
}

export function stepConfig(step: Step): StepConfig {
  return step.config as unknown as StepConfig;
}

/** Long enough for writing a large model inside the transaction that opens a step. */
const TX = { timeout: 120_000, maxWait: 30_000 };

/**
 * Incremental steps. Opening step t adds its classes to the roster, makes the step's starting
 * model (fresh at step 0; at later steps the previous global model with its head grown, MiB-style),
 * freezes the previous global model as the teacher, and opens the first round.
 */
@Injectable()
export class StepsService {
  constructor(
    private readonly db: DatabaseService,
    private readonly audit: AuditService,
    private readonly models: ModelVersionsService,
    private readonly globals: GlobalModels,
    private readonly rounds: RoundsService,
    @Inject(MODEL_FACTORY) private readonly factory: ModelFactory,
    @Inject(CONFIG) private readonly config: CoordinatorConfig,
  ) {}

  async current(): Promise<Step | null> {
    return this.db.prisma.step.findFirst({ orderBy: { index: 'desc' } });
  }

  async openStep(actor: Actor, classes: Array<{ name: string; color: string; description: string }>): Promise<number> {
    return this.rounds.serialized(async () => {
      const last = await this.current();
      if (last && last.status !== 'completed') {
        throw conflict(`step ${last.index} is still ${last.status}; new classes can be added once it completes`);
      }
      const index = last ? last.index + 1 : 0;
      const first = last ? stepConfig((await this.db.prisma.step.findFirstOrThrow({ where: { index: 0 } }))) : null;
      // The architecture is fixed by step 0: later steps only grow the head.
      const segmenter = first?.segmenter ?? { ...this.factory.defaultSegmenterConfig(), ...this.config.training.segmenter };
      const generator = first?.generator ?? { ...this.factory.defaultGeneratorConfig(segmenter), ...this.config.training.generator };
      const maxId = (await this.db.prisma.rosterClass.aggregate({ _max: { id: true } }))._max.id ?? 0;
      const newClassIds = classes.map((_, i) => maxId + 1 + i);
      const numClasses = maxId + 1 + classes.length;
      const oldClasses = maxId + 1;
      const teacherId = last ? await this.globals.current('segmenter') : null;
      const weights = teacherId
        ? await this.factory.growHead(await this.models.weights(teacherId), oldClasses, numClasses, segmenter)
        : await this.factory.createSegmenter({ numClasses, config: segmenter }, 1000 + index);
      const needGenerator = this.config.rounds.generatorRounds > 0 && !(await this.globals.current('generator'));
      const generatorWeights = needGenerator ? await this.factory.createGenerator(generator, 2000) : null;
      const config: StepConfig = {
        training: this.config.training,
        segmenter,
        generator,
        numClasses,
        newClassIds,
        segmenterRounds: this.config.rounds.segmenterRounds,
        generatorRounds: this.config.rounds.generatorRounds,
      };
      await this.db.prisma.$transaction(async (tx) => {
        if (index === 0) await tx.rosterClass.create({ data: { id: 0, name: 'background', color: '#000000', description: 'everything that is not an annotated structure', stepAdded: 0 } });
        for (const [i, c] of classes.entries()) await tx.rosterClass.create({ data: { id: newClassIds[i], ...c, stepAdded: index } });
        await tx.step.create({ data: { index, status: 'training', teacherVersionId: teacherId, config: config as unknown as Prisma.InputJsonValue } });
        const start = await this.models.create(
          { kind: 'segmenter', weights, parentId: teacherId, stepIndex: index, numClasses, config: segmenter, note: teacherId ? `head grown from ${oldClasses} to ${numClasses} classes` : 'initial model' },
          tx,
        );
        await this.globals.set('segmenter', start.id, tx);
        if (generatorWeights) {
          const gen = await this.models.create({ kind: 'generator', weights: generatorWeights, stepIndex: index, numClasses: 0, config: generator, note: 'initial generator' }, tx);
          await this.globals.set('generator', gen.id, tx);
        }
        await this.audit.record(actor, 'step.open', `step ${index}`, { classes: classes.map((c) => c.name), teacher: teacherId, startVersion: start.id }, tx);
        for (const c of classes) await this.audit.record(actor, 'roster.add', c.name, { step: index, color: c.color }, tx);
      }, TX);
      await this.rounds.openNextRound(index);
      return index;
    });
  }
}
