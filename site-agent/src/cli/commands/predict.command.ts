/** `site-agent predict --model FILE --images DIR --out DIR`: an exported segmenter on a folder of
 * frames at their own size; writes label maps and overlays and reports frames per second. Local
 * only: nothing is sent. */
import type { Command } from 'commander';
import { predictFolder, type PredictFolderOptions, type PredictFolderResult } from '../../predict/predict-folder';

export interface PredictContext extends PredictFolderOptions {
  readonly json: boolean;
}

export type PredictAction = (ctx: PredictContext) => Promise<PredictFolderResult>;

export const runPredict: PredictAction = async (ctx) => {
  const r = await predictFolder({
    ...ctx,
    onFrame: ctx.json ? undefined : (done, total) => process.stderr.write(`\r${done}/${total} frames`),
  });
  if (ctx.json) {
    process.stdout.write(JSON.stringify({ ...r, outputs: r.outputs.length }, null, 2) + '\n');
    return r;
  }
  process.stderr.write('\n');
  const sizes = [...new Set(r.outputs.map((f) => `${f.width}x${f.height}`))].join(', ');
  process.stdout.write(
    `model ${r.model}: ${r.frames} frames (${sizes}) in ${r.seconds.toFixed(2)} s, batch ${r.batch}\n` +
      `  ${r.framesPerSecond.toFixed(2)} frames/s end to end (decode, resize, inference, resize back, PNG writes)\n` +
      `  ${r.modelFramesPerSecond.toFixed(2)} frames/s inference alone\n` +
      `  label maps and overlays in ${ctx.out}\n`,
  );
  const total = Object.values(r.pixels).reduce((a, b) => a + b, 0);
  for (const [name, n] of Object.entries(r.pixels)) if (n > 0) process.stdout.write(`  ${name.padEnd(28)} ${((100 * n) / total).toFixed(1).padStart(5)} % of pixels\n`);
  return r;
};

const positiveInt = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got '${v}'`);
  return n;
};

export function register(program: Command, action: PredictAction = runPredict): void {
  program
    .command('predict')
    .description('run an exported segmenter (.onnx) on a folder of frames at their own size: label maps and overlays, frames per second (nothing is sent)')
    .requiredOption('--model <file>', 'the .onnx model (from "coordinator models export" or the console\'s Models page)')
    .requiredOption('--images <dir>', 'folder of .png / .jpg frames')
    .requiredOption('--out <dir>', 'where to write NAME.labels.png (grey value = class id) and NAME.overlay.png')
    .option('--batch <n>', 'frames per inference call', positiveInt('--batch'), 4)
    .option('--alpha <a>', 'opacity of the class colours in the overlays (0..1)', (v) => {
      const a = Number(v);
      if (!(a >= 0 && a <= 1)) throw new Error(`--alpha must be between 0 and 1, got '${v}'`);
      return a;
    }, 0.5)
    .option('--threads <n>', 'inference threads (default: the core count)', positiveInt('--threads'))
    .option('--json', 'print one JSON document', false)
    .action(async (o: { model: string; images: string; out: string; batch: number; alpha: number; threads?: number; json: boolean }) => {
      await action({ model: o.model, images: o.images, out: o.out, batch: o.batch, alpha: o.alpha, json: o.json, runtime: { threads: o.threads } });
    });
}
