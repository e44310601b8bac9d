/**
 * Importing a model trained elsewhere (a hospital's previous model, a pretrained network, the
 * shared step-0 model of a benchmark) as the federation's global model, so a federation can begin
 * from it. The file is checked before anything is written: its tensors against the architecture
 * stored with it, and its classes against the roster.
 *
 * - A segmenter into an empty federation needs the names of its classes (in channel order, without
 *   background): they become the roster and step 0, recorded as completed, with the imported model
 *   as its result. Adding classes then opens step 1 with it as the teacher.
 * - A segmenter into a federation that has a roster must predict exactly the roster's classes; it
 *   becomes the global model between steps (never while a step is running).
 * - A generator (diffusion model) becomes the global generator; step 0's generator architecture is
 *   set to the imported one, so later steps keep training it.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { DSAD_COLORS, isDsadStructure } from '@fedciss/ml/dsad';
import {
  checkSegmenterWeights, classCountOf, createDiffusionWeights, decodeSafetensors, diffusionConfig, segmenterConfig,
  type DiffusionConfig, type NamedTensors, type SegmenterConfig,
} from '@fedciss/ml';
import type { DatabaseService } from '../database/database.service';
import { AuditService } from '../audit/audit.service';
import { GlobalModels } from '../federation/global-models';
import { ServerStateRepository } from '../federation/repositories/server-state.repository';
import { StepsRepository } from '../federation/repositories/steps.repository';
import { RosterRepository } from '../roster/roster.repository';
import { LocalBlobStore } from '../model-store/local-blob-store';
import type { StepConfig } from '../federation/step-config';
import type { TrainingSettings } from '../config/coordinator-config';
import { ModelVersionsService, type ModelKind } from './model-versions.service';
import { BACKGROUND, classColor, CLASS_NAME } from '../roster/roster.service';

export class ModelImportError extends Error {
  override readonly name = 'ModelImportError';
}

export interface ImportRequest {
  /** Path of a .safetensors file (weights with the metadata the platform writes: kind, config). */
  file: string;
  /** Expected kind; default: the file's own `kind` metadata, else segmenter. */
  kind?: ModelKind;
  /** Class names in channel order without background; required for a segmenter into an empty federation. */
  classes?: string[];
  /** Round settings recorded with a step 0 created by the import. */
  rounds: { segmenterRounds: number; generatorRounds: number };
  training: TrainingSettings;
}

export interface ImportResult {
  versionId: string;
  kind: ModelKind;
  numClasses: number;
  /** The step the version belongs to (0 when the import created step 0). */
  step: number;
  createdStep0: boolean;
}

interface ParsedModel {
  kind: ModelKind;
  weights: NamedTensors;
  config: Record<string, unknown>;
}

/** Reads and decodes the file; the kind and architecture come from its metadata. */
export function readModelFile(file: string, kind?: ModelKind): ParsedModel {
  const ext = extname(file).toLowerCase();
  if (ext !== '.safetensors') throw new ModelImportError(`${file}: only .safetensors files can be imported (got '${ext || 'no extension'}')`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new ModelImportError(`${file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let decoded: ReturnType<typeof decodeSafetensors>;
  try {
    decoded = decodeSafetensors(bytes);
  } catch (e) {
    throw new ModelImportError(`${file}: not a valid safetensors file (${(e as Error).message})`);
  }
  const { tensors, metadata } = decoded;
  const own = metadata.kind;
  if (own !== undefined && own !== 'segmenter' && own !== 'generator') throw new ModelImportError(`${file}: metadata kind '${own}' is neither segmenter nor generator`);
  if (kind && own && own !== kind) throw new ModelImportError(`${file}: holds a ${own}, not a ${kind}`);
  let config: Record<string, unknown> = {};
  if (metadata.config) {
    try {
      config = JSON.parse(metadata.config) as Record<string, unknown>;
    } catch {
      throw new ModelImportError(`${file}: metadata 'config' is not JSON`);
    }
  }
  return { kind: kind ?? (own as ModelKind | undefined) ?? 'segmenter', weights: tensors, config };
}

/** The architecture the weights were built for, checked tensor by tensor. */
function checkSegmenter(file: string, m: ParsedModel): { config: SegmenterConfig; numClasses: number } {
  try {
    const config = segmenterConfig(m.config as Partial<SegmenterConfig>);
    const numClasses = classCountOf(m.weights);
    checkSegmenterWeights(m.weights, config, numClasses);
    return { config, numClasses };
  } catch (e) {
    throw new ModelImportError(`${file}: not a segmenter of the architecture stored with it: ${(e as Error).message}`);
  }
}

function checkGenerator(file: string, m: ParsedModel): DiffusionConfig {
  let config: DiffusionConfig;
  try {
    config = diffusionConfig(m.config as Partial<DiffusionConfig>);
  } catch (e) {
    throw new ModelImportError(`${file}: generator configuration is invalid: ${(e as Error).message}`);
  }
  for (const [name, want] of createDiffusionWeights(config)) {
    const got = m.weights.get(name);
    if (!got) throw new ModelImportError(`${file}: generator weights lack '${name}' [${want.shape.join(', ')}]`);
    if (got.shape.join(',') !== want.shape.join(',')) throw new ModelImportError(`${file}: generator weight '${name}' is [${got.shape.join(', ')}], the configuration declares [${want.shape.join(', ')}]`);
  }
  return config;
}

export class ModelImporter {
  constructor(
    private readonly db: DatabaseService,
    private readonly steps: StepsRepository,
    private readonly roster: RosterRepository,
    private readonly models: ModelVersionsService,
    private readonly globals: GlobalModels,
    private readonly audit: AuditService,
  ) {}

  /** An importer over an open database and the model store in `modelsDir` (outside the Nest application). */
  static open(db: DatabaseService, modelsDir: string): ModelImporter {
    return new ModelImporter(db, new StepsRepository(db), new RosterRepository(db), new ModelVersionsService(db, new LocalBlobStore(modelsDir)), new GlobalModels(new ServerStateRepository(db)), new AuditService(db));
  }

  async import(r: ImportRequest, actor = 'cli'): Promise<ImportResult> {
    const m = readModelFile(r.file, r.kind);
    const steps = await this.steps.all();
    const last = steps.at(-1);
    if (last && last.status !== 'completed') throw new ModelImportError(`step ${last.index} is ${last.status}: import a model between steps, not during one`);
    return m.kind === 'generator' ? this.importGenerator(r, m, steps.length > 0, actor) : this.importSegmenter(r, m, last?.index, actor);
  }

  private async importSegmenter(r: ImportRequest, m: ParsedModel, lastStep: number | undefined, actor: string): Promise<ImportResult> {
    const { config, numClasses } = checkSegmenter(r.file, m);
    const roster = await this.roster.list(true);
    const names = r.classes;
    if (roster.length) {
      if (numClasses !== roster.length) {
        throw new ModelImportError(`${r.file}: the model predicts ${numClasses} classes, the roster has ${roster.length} (${roster.map((c) => c.name).join(', ')})`);
      }
      const have = roster.slice(1).map((c) => c.name);
      if (names && names.join(',') !== have.join(',')) throw new ModelImportError(`--classes ${names.join(',')} differ from the roster's ${have.join(',')}`);
      const first = await this.steps.byIndex(0);
      const want = JSON.stringify(segmenterConfig(first.config.segmenter as Partial<SegmenterConfig>));
      if (JSON.stringify(config) !== want) throw new ModelImportError(`${r.file}: its architecture ${JSON.stringify(config)} differs from the federation's ${want}`);
      const step = lastStep ?? 0;
      const parent = await this.globals.current('segmenter');
      const v = await this.db.transaction(async (tx) => {
        const created = await this.models.create({ kind: 'segmenter', weights: m.weights, parentId: parent, stepIndex: step, numClasses, config: { ...config }, note: `imported from ${r.file}` }, tx);
        await this.globals.set('segmenter', created.id, tx);
        await this.audit.record(actor, 'model.import', created.id, { kind: 'segmenter', file: r.file, step, replaced: parent }, tx);
        return created;
      });
      return { versionId: v.id, kind: 'segmenter', numClasses, step, createdStep0: false };
    }
    if (!names) throw new ModelImportError(`the federation has no roster yet: give the model's ${numClasses - 1} class names in channel order (--classes a,b,...)`);
    if (names.length !== numClasses - 1) throw new ModelImportError(`--classes names ${names.length} classes, the model predicts ${numClasses - 1} besides background`);
    const seen = new Set<string>();
    for (const [i, n] of names.entries()) {
      if (!CLASS_NAME.test(n)) throw new ModelImportError(`--classes[${i}] '${n}' must be lower-case letters, digits and _ (starting with a letter)`);
      if (n === BACKGROUND.name || seen.has(n)) throw new ModelImportError(`--classes[${i}] '${n}' is background or appears twice`);
      seen.add(n);
    }
    const stepConfig: StepConfig = {
      training: r.training,
      segmenter: { ...config },
      generator: { ...diffusionConfig(), ...r.training.generator } as Record<string, unknown>,
      numClasses,
      newClassIds: names.map((_, i) => i + 1),
      segmenterRounds: r.rounds.segmenterRounds,
      generatorRounds: r.rounds.generatorRounds,
    };
    const v = await this.db.transaction(async (tx) => {
      await this.roster.add(tx, { ...BACKGROUND, description: 'everything that is not an annotated structure', stepAdded: 0 });
      for (const [i, name] of names.entries()) {
        await this.roster.add(tx, { id: i + 1, name, color: isDsadStructure(name) ? DSAD_COLORS[name] : classColor(name), description: '', stepAdded: 0 });
      }
      await this.steps.create(tx, { index: 0, status: 'completed', teacherVersionId: null, config: stepConfig });
      const created = await this.models.create({ kind: 'segmenter', weights: m.weights, stepIndex: 0, numClasses, config: stepConfig.segmenter, note: `imported from ${r.file}` }, tx);
      await this.globals.set('segmenter', created.id, tx);
      await this.audit.record(actor, 'model.import', created.id, { kind: 'segmenter', file: r.file, step: 0, classes: names }, tx);
      return created;
    });
    return { versionId: v.id, kind: 'segmenter', numClasses, step: 0, createdStep0: true };
  }

  private async importGenerator(r: ImportRequest, m: ParsedModel, hasSteps: boolean, actor: string): Promise<ImportResult> {
    const config = checkGenerator(r.file, m);
    if (!hasSteps) throw new ModelImportError('the federation has no step yet: import a segmenter first (with --classes), then the generator');
    const first = await this.steps.byIndex(0);
    const last = (await this.steps.latest())!;
    const parent = await this.globals.current('generator');
    const v = await this.db.transaction(async (tx) => {
      await this.steps.setConfig(tx, 0, { ...first.config, generator: { ...config } });
      const created = await this.models.create({ kind: 'generator', weights: m.weights, parentId: parent, stepIndex: last.index, numClasses: 0, config: { ...config }, note: `imported from ${r.file}` }, tx);
      await this.globals.set('generator', created.id, tx);
      await this.audit.record(actor, 'model.import', created.id, { kind: 'generator', file: r.file, step: last.index, replaced: parent }, tx);
      return created;
    });
    return { versionId: v.id, kind: 'generator', numClasses: 0, step: last.index, createdStep0: false };
  }
}
