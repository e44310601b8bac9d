/**
 * `npm run bench:data`: images per second for reading + resizing a generated DSAD tree, first epoch
 * (PNG decode), later epochs (memory cache) and a fresh process-like pass served by the disk cache.
 * Flags: --surgeries N --images M --size WxH (generated) --model WxH (model resolution) --epochs E.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchUserError, benchOptions, positiveNumber, runBenchCommand, valueOption } from '@fedciss/ml/bench';
import { SegmentationDataset } from '../data/dataset';
import { scanDsad } from '../data/dsad-reader';
import { defaultDsadRoster } from '../data/roster';
import { parseSize, type Size } from '../data/types';
import { generateSynthetic } from '../synthetic/generate';

/** A WIDTHxHEIGHT value given to `flag` (parseSize's rules). */
function sizeOption(flag: string, raw: string): Size {
  try {
    return parseSize(raw);
  } catch (e) {
    throw new BenchUserError(`${flag}: ${(e as Error).message}`);
  }
}

async function main(): Promise<number> {
  const v = benchOptions(process.argv.slice(2), { surgeries: valueOption('6'), images: valueOption('10'), size: valueOption('480x270'), model: valueOption('128x72'), epochs: valueOption('3') });
  const surgeries = positiveNumber('--surgeries', v.surgeries, true);
  const images = positiveNumber('--images', v.images, true);
  const size = sizeOption('--size', v.size);
  const model = sizeOption('--model', v.model);
  const epochs = positiveNumber('--epochs', v.epochs, true);
  const base = await mkdtemp(join(tmpdir(), 'bench-data-'));
  try {
    const root = join(base, 'dsad');
    const gen = await generateSynthetic({ out: root, surgeries, seed: 1, size, imagesPerSurgery: images });
    let t = performance.now();
    const { samples, report } = await scanDsad(root, { roster: defaultDsadRoster() });
    const scanS = (performance.now() - t) / 1000;
    const cacheDir = join(base, 'cache');
    const ds = new SegmentationDataset(samples, { size: model, cacheDir });
    const pass = async (d: SegmentationDataset): Promise<number> => {
      const t0 = performance.now();
      let n = 0;
      for await (const _ of d.epoch(undefined, 4)) n++;
      return n / ((performance.now() - t0) / 1000);
    };
    const first = await pass(ds);
    const cached: number[] = [];
    for (let e = 1; e < epochs; e++) cached.push(await pass(ds));
    const disk = await pass(new SegmentationDataset(samples, { size: model, cacheDir, memoryCache: false }));
    t = performance.now();
    const r = (x: number): number => Math.round(x * 10) / 10;
    process.stdout.write(
      JSON.stringify(
        {
          bench: 'data',
          generated: { surgeries, scenes: gen.images, files: gen.files, size: `${size.width}x${size.height}`, seconds: r(gen.seconds), scenesPerSecond: r(gen.images / gen.seconds) },
          samples: samples.length,
          skipped: report.skipped.length,
          modelSize: `${model.width}x${model.height}`,
          scanSeconds: r(scanS),
          firstEpochImagesPerSecond: r(first),
          cachedEpochsImagesPerSecond: cached.map(r),
          diskCacheEpochImagesPerSecond: r(disk),
          stats: ds.stats,
        },
        null,
        2,
      ) + '\n',
    );
  } finally {
    await rm(base, { recursive: true, force: true });
  }
  return 0;
}

runBenchCommand('data', main);
