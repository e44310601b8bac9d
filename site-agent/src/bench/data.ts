/**
 * `npm run bench:data`: images per second for reading + resizing a generated DSAD tree, first epoch
 * (PNG decode), later epochs (memory cache) and a fresh process-like pass served by the disk cache.
 * Flags: --surgeries N --images M --size WxH (generated) --model WxH (model resolution) --epochs E.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SegmentationDataset } from '../data/dataset';
import { scanDsad } from '../data/dsad-reader';
import { defaultDsadRoster } from '../data/roster';
import { parseSize } from '../data/types';
import { generateSynthetic } from '../synthetic/generate';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

async function main(): Promise<void> {
  const surgeries = Number(flag('surgeries', '6'));
  const images = Number(flag('images', '10'));
  const size = parseSize(flag('size', '480x270'));
  const model = parseSize(flag('model', '128x72'));
  const epochs = Number(flag('epochs', '3'));
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
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:data failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
