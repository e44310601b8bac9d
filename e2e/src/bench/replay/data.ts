/**
 * The site of bench:replay: a generated DSAD-layout dataset on disk (the scene generator the demo
 * uses, at the demo's frame size), read back with the site agent's own reader at the segmenter's
 * input size, split by surgery into training patients (teacher and generator learn from them)
 * and held-out test patients (where teacher and student are scored). Cached by its options.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RosterEntry } from '@fedciss/ml';
import { DSAD_STRUCTURES, isDsadStructure } from '@fedciss/ml/dsad';
import { generateSynthetic, openDataset, type LoadedSample } from '@fedciss/site-agent';
import { BenchUserError } from '@fedciss/ml/bench';

export interface SiteDataOptions {
  dir: string;
  seed: number;
  /** Frame size written to disk (the demo's 160x128). */
  frame: { width: number; height: number };
  trainSurgeries: number;
  testSurgeries: number;
  imagesPerSurgery: number;
  /** The classes the teacher knows (step 0 of the demo). */
  classes: readonly string[];
  /** The segmenter's input size [height, width]. */
  inputSize: readonly [number, number];
}

export interface SiteSplit {
  roster: RosterEntry[];
  train: LoadedSample[];
  test: LoadedSample[];
}

export async function siteData(o: SiteDataOptions): Promise<SiteSplit> {
  for (const c of o.classes) if (!isDsadStructure(c)) throw new BenchUserError(`unknown structure '${c}' (known: ${DSAD_STRUCTURES.join(', ')})`);
  const surgeries = o.trainSurgeries + o.testSurgeries;
  const ids = Array.from({ length: surgeries }, (_, i) => String(i + 1).padStart(2, '0'));
  const stamp = JSON.stringify({ seed: o.seed, frame: o.frame, ids, images: o.imagesPerSurgery });
  const marker = join(o.dir, 'bench-replay.json');
  if (!existsSync(marker) || readFileSync(marker, 'utf8') !== stamp) {
    rmSync(o.dir, { recursive: true, force: true });
    await generateSynthetic({ out: o.dir, surgeries, surgeryIds: ids, seed: o.seed, size: o.frame, imagesPerSurgery: o.imagesPerSurgery, multilabelFraction: 1 });
    writeFileSync(marker, stamp);
  }
  const roster = o.classes.map((name, i) => ({ id: i + 1, name }));
  const size = { height: o.inputSize[0], width: o.inputSize[1] };
  const { dataset } = await openDataset(o.dir, { roster, size, unknown: 'ignore', memoryCache: false });
  const trainIds = new Set(ids.slice(0, o.trainSurgeries));
  const train: LoadedSample[] = [];
  const test: LoadedSample[] = [];
  for await (const s of dataset.epoch()) (trainIds.has(s.surgery) ? train : test).push(s);
  if (!train.length || !test.length) throw new Error(`bench:replay: ${train.length} training and ${test.length} test images; need both`);
  return { roster, train, test };
}
