/** `coordinator models import`: makes a model trained elsewhere the federation's global model (see models/model-import.ts). */
import type { Command } from 'commander';
import { join } from 'node:path';
import { resolveConfig } from '../../config/coordinator-config';
import { openDatabase } from '../../database/database';
import { DatabaseService } from '../../database/database.service';
import type { ModelKind } from '../../models/model-versions.service';
import { ModelImporter, type ImportResult } from '../../models/model-import';

export interface ImportModelContext {
  dataDir?: string;
  databaseUrl?: string;
  file: string;
  kind?: ModelKind;
  classes?: string[];
  /** Recorded with a step 0 the import creates. */
  segmenterRounds?: string;
  generatorRounds?: string;
  trainingFile?: string;
}

export type ImportModelAction = (ctx: ImportModelContext) => Promise<ImportResult>;

export const runImportModel: ImportModelAction = async (ctx) => {
  const config = resolveConfig({
    flags: { dataDir: ctx.dataDir, databaseUrl: ctx.databaseUrl, trainingFile: ctx.trainingFile, segmenterRounds: ctx.segmenterRounds, generatorRounds: ctx.generatorRounds },
  });
  const database = await openDatabase({ url: config.databaseUrl, dataDir: join(config.dataDir, 'db') });
  try {
    const db = new DatabaseService(database);
    const importer = ModelImporter.open(db, join(config.dataDir, 'models'));
    const r = await importer.import({ file: ctx.file, kind: ctx.kind, classes: ctx.classes, rounds: config.rounds, training: config.training });
    process.stdout.write(`imported ${r.kind} ${r.versionId} (${r.kind === 'segmenter' ? `${r.numClasses} classes, ` : ''}step ${r.step}${r.createdStep0 ? ', created the roster and step 0' : ''})\n`);
    if (r.fresh.length) process.stdout.write(`not in the file, initialised fresh: ${r.fresh.join(', ')} (the projection head: only the contrastive loss trains it)\n`);
    return r;
  } finally {
    await database.close();
  }
};

/** Adds `import` under the `models` command (created here unless another module already made it). */
export function register(program: Command, action: ImportModelAction = runImportModel): void {
  const models = program.commands.find((c) => c.name() === 'models') ?? program.command('models').description('model versions');
  models
    .command('import')
    .description('make a model the global model: a .safetensors (segmenter or generator, with the metadata the platform writes) or an .onnx exported by `models export` (a segmenter; classes and architecture inside); checked against its architecture, the roster and the training settings')
    .requiredOption('--file <file>', 'the .safetensors or .onnx file')
    .option('--kind <kind>', 'segmenter or generator (default: from the file)')
    .option('--classes <names>', 'class names in channel order without background, comma-separated (a .safetensors segmenter into an empty federation; an .onnx names its own)')
    .option('--data-dir <dir>', 'coordinator data folder (env FEDCISS_DATA_DIR)')
    .option('--database-url <url>', 'PostgreSQL URL (env DATABASE_URL); default: the embedded database')
    .option('--training-file <file>', 'training settings recorded with a step 0 the import creates (as for serve)')
    .option('--segmenter-rounds <n>', 'segmenter rounds recorded with a step 0 the import creates')
    .option('--generator-rounds <n>', 'generator rounds recorded with a step 0 the import creates')
    .action(async (o: { file: string; kind?: string; classes?: string; dataDir?: string; databaseUrl?: string; trainingFile?: string; segmenterRounds?: string; generatorRounds?: string }) => {
      if (o.kind !== undefined && o.kind !== 'segmenter' && o.kind !== 'generator') throw new Error(`--kind must be segmenter or generator (got '${o.kind}')`);
      const classes = o.classes?.split(',').map((s) => s.trim()).filter(Boolean);
      await action({ ...o, kind: o.kind as ModelKind | undefined, classes });
    });
}
