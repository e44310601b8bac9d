/**
 * Importing a model trained elsewhere (a hospital's previous model, a pretrained network, the
 * shared step-0 model of a benchmark) as the federation's global model, so a federation can begin
 * from it. The file (.safetensors, or an .onnx exported by `coordinator models export`: see
 * model-import-file.ts) is checked before anything is written: its tensors against the architecture
 * stored with it, its classes and architecture against the roster and the federation's.
 *
 * - A segmenter into an empty federation needs the names of its classes (in channel order, without
 *   background): they become the roster and step 0, recorded as completed, with the imported model
 *   as its result. Adding classes then opens step 1 with it as the teacher.
 * - A segmenter into a federation that has a roster must predict exactly the roster's classes; it
 *   becomes the global model between steps (never while a step is running).
 * - A generator (diffusion model) becomes the global generator; step 0's generator architecture is
 *   set to the imported one, so later steps keep training it. Into a federation without steps (a
 *   generator pretrained elsewhere), step 0 trains on from it instead of from fresh weights.
 */
import { DSAD_COLORS, isDsadStructure } from '@fedciss/ml/dsad';
import {
  checkSegmenterWeights, classCountOf, createDiffusionWeights, parseDiffusionConfig, parseSegmenterConfig, type DiffusionConfig, type SegmenterConfig,
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
import { federationArchitecture } from '../config/architecture-check';
import { ModelImportError, readModelFile, type ParsedModel } from './model-import-file';
import type { ModelFactory } from './model-factory';
import { MlModelFactory } from './ml-model-factory';

export { ModelImportError } from './model-import-file';

export interface ImportRequest {
  /** Path of a .safetensors file (weights with the metadata the platform writes: kind, config) or
   * of an .onnx exported by `coordinator models export` (a segmenter; classes and architecture inside). */
  file: string;
  /** Expected kind; default: the file's own `kind` metadata, else segmenter. */
  kind?: ModelKind;
  /** Class names in channel order without background; required for a .safetensors segmenter into an
   * empty federation (an .onnx names its own: then they must agree). */
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
  /** Tensors the file did not carry, initialised fresh (an .onnx has no projection head). */
  fresh: readonly string[];
}

/** The architecture the weights were built for, checked tensor by tensor. */
function checkSegmenter(file: string, m: ParsedModel): { config: SegmenterConfig; numClasses: number } {
  try {
    const config = parseSegmenterConfig(m.config, "metadata 'config'");
    const numClasses = classCountOf(m.weights);
    checkSegmenterWeights(m.weights, config, numClasses);
    return { config, numClasses };
  } catch (e) {
    throw new ModelImportError(`${file}: not a segmenter of ${m.configSource}: ${(e as Error).message}`);
  }
}

/** The class names besides background in channel order: the file's own (.onnx), which --classes
 * must then repeat if given, else --classes. */
function classNames(r: ImportRequest, m: ParsedModel): { names?: string[]; source: string } {
  if (!m.classes) return { names: r.classes, source: '--classes' };
  const [first, ...rest] = m.classes;
  if (first?.name !== BACKGROUND.name) throw new ModelImportError(`${r.file}: its channel 0 is '${first?.name ?? 'missing'}', not ${BACKGROUND.name}`);
  const names = rest.map((c) => c.name);
  if (r.classes && r.classes.join(',') !== names.join(',')) throw new ModelImportError(`--classes ${r.classes.join(',')} differ from the classes of ${r.file}: ${names.join(',')}`);
  return { names, source: `the classes of ${r.file}` };
}

/** "key: file's value in the file, configured value configured" for each of `keys` whose values differ. */
function differences(file: object, configured: object, keys: Iterable<string>): string[] {
  const f = file as Readonly<Record<string, unknown>>;
  const c = configured as Readonly<Record<string, unknown>>;
  return [...keys].filter((k) => JSON.stringify(f[k]) !== JSON.stringify(c[k])).map((k) => `${k}: ${JSON.stringify(f[k])} in the file, ${JSON.stringify(c[k])} configured`);
}

/** Into an empty federation the file's architecture becomes step 0's: refused where the training
 * settings (--training-file) set a key to another value, so an explicit setting never goes unheard. */
function checkAgainstTrainingSettings(r: ImportRequest, config: SegmenterConfig): void {
  const set = r.training.segmenter ?? {};
  const differ = differences(config, set, Object.keys(set));
  if (differ.length) {
    throw new ModelImportError(`${r.file}: its architecture ${JSON.stringify(config)} differs from the training settings' segmenter ${JSON.stringify(set)} (${differ.join('; ')})`);
  }
}

/** A generator into a federation without steps must be the generator a new federation gets from the training settings. */
function checkStartingGenerator(r: ImportRequest, config: DiffusionConfig, expected: DiffusionConfig): void {
  const differ = differences(config, expected, new Set([...Object.keys(config), ...Object.keys(expected)]));
  if (differ.length) {
    throw new ModelImportError(`${r.file}: its architecture differs from the generator the training settings give a new federation (${differ.join('; ')}); set training.generator to the file's architecture`);
  }
}

function checkGenerator(file: string, m: ParsedModel): DiffusionConfig {
  let config: DiffusionConfig;
  try {
    config = parseDiffusionConfig(m.config, "metadata 'config'");
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
    private readonly factory: ModelFactory,
  ) {}

  /** An importer over an open database and the model store in `modelsDir` (outside the Nest application). */
  static open(db: DatabaseService, modelsDir: string): ModelImporter {
    return new ModelImporter(db, new StepsRepository(db), new RosterRepository(db), new ModelVersionsService(db, new LocalBlobStore(modelsDir)), new GlobalModels(new ServerStateRepository(db)), new AuditService(db), new MlModelFactory());
  }

  async import(r: ImportRequest, actor = 'cli'): Promise<ImportResult> {
    const steps = await this.steps.all();
    const last = steps.at(-1);
    // What an .onnx without a recorded architecture is checked against: the federation's, or the one a new federation would get.
    const configured = steps.length ? (await this.steps.byIndex(0)).config.segmenter : federationArchitecture(r.training, this.factory).segmenter;
    const m = readModelFile(r.file, r.kind, configured);
    if (last && last.status !== 'completed') throw new ModelImportError(`step ${last.index} is ${last.status}: import a model between steps, not during one`);
    return m.kind === 'generator' ? this.importGenerator(r, m, steps.length > 0, actor) : this.importSegmenter(r, m, last?.index, actor);
  }

  private async importSegmenter(r: ImportRequest, m: ParsedModel, lastStep: number | undefined, actor: string): Promise<ImportResult> {
    const { config, numClasses } = checkSegmenter(r.file, m);
    const { names, source } = classNames(r, m);
    const roster = await this.roster.list(true);
    const note = `imported from ${r.file}${m.fresh.length ? ` (fresh: ${m.fresh.join(', ')})` : ''}`;
    if (roster.length) {
      if (numClasses !== roster.length) {
        throw new ModelImportError(`${r.file}: the model predicts ${numClasses} classes, the roster has ${roster.length} (${roster.map((c) => c.name).join(', ')})`);
      }
      const have = roster.slice(1).map((c) => c.name);
      if (names && names.join(',') !== have.join(',')) throw new ModelImportError(`${source} ${names.join(',')} differ from the roster's ${have.join(',')}`);
      const first = await this.steps.byIndex(0);
      const want = JSON.stringify(first.config.segmenter);
      if (JSON.stringify(config) !== want) throw new ModelImportError(`${r.file}: its architecture ${JSON.stringify(config)} differs from the federation's ${want}`);
      const step = lastStep ?? 0;
      const parent = await this.globals.current('segmenter');
      const v = await this.db.transaction(async (tx) => {
        const created = await this.models.create({ kind: 'segmenter', weights: m.weights, parentId: parent, stepIndex: step, numClasses, config, note }, tx);
        await this.globals.set('segmenter', created.id, tx);
        await this.audit.record(actor, 'model.import', created.id, { kind: 'segmenter', file: r.file, step, replaced: parent, fresh: [...m.fresh] }, tx);
        return created;
      });
      return { versionId: v.id, kind: 'segmenter', numClasses, step, createdStep0: false, fresh: m.fresh };
    }
    if (!names) throw new ModelImportError(`the federation has no roster yet: give the model's ${numClasses - 1} class names in channel order (--classes a,b,...)`);
    if (names.length !== numClasses - 1) throw new ModelImportError(`${source} names ${names.length} classes, the model predicts ${numClasses - 1} besides background`);
    const seen = new Set<string>();
    for (const [i, n] of names.entries()) {
      if (!CLASS_NAME.test(n)) throw new ModelImportError(`${source}[${i}] '${n}' must be lower-case letters, digits and _ (starting with a letter)`);
      if (n === BACKGROUND.name || seen.has(n)) throw new ModelImportError(`${source}[${i}] '${n}' is background or appears twice`);
      seen.add(n);
    }
    checkAgainstTrainingSettings(r, config);
    const stepConfig: StepConfig = {
      training: r.training,
      segmenter: config,
      // As a fresh federation of this segmenter would get it (architecture-check.ts): the factory's
      // generator for its input size, the training settings' overrides on top.
      generator: parseDiffusionConfig({ ...this.factory.defaultGeneratorConfig(config), ...r.training.generator }, 'training settings, generator'),
      numClasses,
      newClassIds: names.map((_, i) => i + 1),
      segmenterRounds: r.rounds.segmenterRounds,
      generatorRounds: r.rounds.generatorRounds,
    };
    // The file's colours where it has them (an .onnx export), so the console draws the classes as before.
    const colorOf = (name: string, i: number) => m.classes?.[i + 1]?.color ?? (isDsadStructure(name) ? DSAD_COLORS[name] : classColor(name));
    const v = await this.db.transaction(async (tx) => {
      await this.roster.add(tx, { ...BACKGROUND, description: 'everything that is not an annotated structure', stepAdded: 0 });
      for (const [i, name] of names.entries()) {
        await this.roster.add(tx, { id: i + 1, name, color: colorOf(name, i), description: '', stepAdded: 0 });
      }
      await this.steps.create(tx, { index: 0, status: 'completed', teacherVersionId: null, config: stepConfig });
      const created = await this.models.create({ kind: 'segmenter', weights: m.weights, stepIndex: 0, numClasses, config: stepConfig.segmenter, note }, tx);
      await this.globals.set('segmenter', created.id, tx);
      await this.audit.record(actor, 'model.import', created.id, { kind: 'segmenter', file: r.file, step: 0, classes: names, fresh: [...m.fresh] }, tx);
      return created;
    });
    return { versionId: v.id, kind: 'segmenter', numClasses, step: 0, createdStep0: true, fresh: m.fresh };
  }

  /** With steps, the generator replaces the global one and becomes step 0's architecture. Without
   * (a generator pretrained elsewhere, e.g. on public data), it becomes the global generator that
   * step 0 trains on from instead of fresh weights; its architecture must be the one the training
   * settings give a new federation, so step 0's configuration and its weights agree. */
  private async importGenerator(r: ImportRequest, m: ParsedModel, hasSteps: boolean, actor: string): Promise<ImportResult> {
    const config = checkGenerator(r.file, m);
    if (!hasSteps) checkStartingGenerator(r, config, federationArchitecture(r.training, this.factory).generator);
    const first = hasSteps ? await this.steps.byIndex(0) : null;
    const step = hasSteps ? (await this.steps.latest())!.index : 0;
    const parent = await this.globals.current('generator');
    const v = await this.db.transaction(async (tx) => {
      if (first) await this.steps.setConfig(tx, 0, { ...first.config, generator: config });
      const note = `imported from ${r.file}${first ? '' : ' (step 0 trains on from it)'}`;
      const created = await this.models.create({ kind: 'generator', weights: m.weights, parentId: parent, stepIndex: step, numClasses: 0, config, note }, tx);
      await this.globals.set('generator', created.id, tx);
      await this.audit.record(actor, 'model.import', created.id, { kind: 'generator', file: r.file, step, replaced: parent, ...(first ? {} : { starting: true }) }, tx);
      return created;
    });
    return { versionId: v.id, kind: 'generator', numClasses: 0, step, createdStep0: false, fresh: [] };
  }
}
