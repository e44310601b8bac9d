/** `coordinator models export VERSION --out DIR`: a segmenter version as files a hospital deploys
 * (the .onnx model with its metadata, the raw weights, the Markdown model card), written offline
 * from the coordinator's database and model store: no running coordinator is needed. */
import type { Command } from 'commander';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '../../common/tokens';
import { resolveConfig } from '../../config/coordinator-config';
import { openDatabase } from '../../database/database';
import { DatabaseService } from '../../database/database.service';
import { LocalBlobStore } from '../../model-store/local-blob-store';
import { MlModelFactory } from '../../models/ml-model-factory';
import { ModelExportService } from '../../models/model-export.service';
import { ModelVersionsService } from '../../models/model-versions.service';
import { copyFileAtomic, PUBLIC_FILE_MODE, writeFileAtomic } from '../../pki/files';

export interface ModelsExportContext {
  dataDir?: string;
  databaseUrl?: string;
  version: string;
  outDir: string;
  /** Unset: the smallest opset that expresses the model. */
  opset?: number;
}

export interface ModelsExportResult {
  files: { onnx: string; weights: string; card: string };
  opset: number;
  classes: number;
}

export type ModelsExportAction = (ctx: ModelsExportContext) => Promise<ModelsExportResult>;

export const runModelsExport: ModelsExportAction = async (ctx) => {
  const config = resolveConfig({ flags: { dataDir: ctx.dataDir, databaseUrl: ctx.databaseUrl } });
  const database = await openDatabase({ url: config.databaseUrl, dataDir: join(config.dataDir, 'db') });
  try {
    const db = new DatabaseService(database);
    const versions = new ModelVersionsService(db, new LocalBlobStore(join(config.dataDir, 'models')));
    const exporter = new ModelExportService(versions, db, new MlModelFactory(), config, systemClock);
    const exported = await exporter.export(ctx.version, ctx.opset);
    // Copied from the store by the kernel: bytes() held the model once more, and stopped at 2 GiB (readFile).
    const { path: weights } = await versions.localFile(ctx.version);
    const files = {
      onnx: join(ctx.outDir, `${ctx.version}.onnx`),
      weights: join(ctx.outDir, `${ctx.version}.safetensors`),
      card: join(ctx.outDir, `${ctx.version}.model-card.md`),
    };
    mkdirSync(ctx.outDir, { recursive: true }); // with the umask's mode (writeFileAtomic would make it private)
    writeFileAtomic(files.onnx, exported.onnx, PUBLIC_FILE_MODE);
    copyFileAtomic(weights, files.weights, PUBLIC_FILE_MODE);
    writeFileAtomic(files.card, exported.card, PUBLIC_FILE_MODE);
    return { files, opset: exported.metadata.opset, classes: exported.metadata.classes.length };
  } finally {
    await database.close();
  }
};

/** The `models` command group, shared with the other `models` subcommands (each in its own file). */
export function modelsCommand(program: Command): Command {
  return program.commands.find((c) => c.name() === 'models') ?? program.command('models').description('model versions in the coordinator\'s store');
}

export function register(program: Command, action: ModelsExportAction = runModelsExport): void {
  modelsCommand(program)
    .command('export')
    .description('write a segmenter version as VERSION.onnx (weights, classes and input normalisation inside), VERSION.safetensors and VERSION.model-card.md; offline')
    .argument('<version>', 'model version id (see the console\'s Models page or GET /api/models)')
    .requiredOption('--out <dir>', 'folder to write the files to (created if missing)')
    .option('--opset <n>', 'ONNX opset to write, 11..21 (default: the smallest that expresses the model)', (v) => {
      if (!/^\d+$/.test(v)) throw new Error(`--opset must be an integer, got '${v}'`);
      return Number(v);
    })
    .option('--data-dir <dir>', 'coordinator data folder (env FEDCISS_DATA_DIR)')
    .option('--database-url <url>', 'PostgreSQL URL (env DATABASE_URL); default: the embedded database')
    .action(async (version: string, o: { out: string; opset?: number; dataDir?: string; databaseUrl?: string }) => {
      const r = await action({ version, outDir: o.out, opset: o.opset, dataDir: o.dataDir, databaseUrl: o.databaseUrl });
      process.stdout.write(`${r.files.onnx} (ONNX opset ${r.opset}, ${r.classes} classes)\n${r.files.weights}\n${r.files.card}\n`);
    });
}
