/**
 * This site's images as the learning tasks need them: the patients of an incremental step with
 * labels for that step's classes only (as in the clinic: new patients annotated for the new
 * structures), and the test patients with every structure the roster knows. Decoded images are
 * cached on disk, so rounds after the first do not decode PNGs again, and what the scan reads of
 * each file (image size, hash) is remembered while the file is unchanged, so each round's rescan
 * only lists and stats the tree. Patient images are only ever read here; nothing in this file sends
 * anything anywhere.
 */
import { join } from 'node:path';
import { type RosterEntry } from '@fedciss/ml';
import { DSAD_SPLIT } from '@fedciss/ml/dsad';
import type { AgentConfig } from '../config/agent-config';
import { FileFacts, openDataset, stepLabels, type LoadedSample, type ReadReport, type SegmentationDataset } from '../data';

export interface SiteSamples {
  samples: LoadedSample[];
  report: ReadReport;
}

export class SiteData {
  /** Kept for the agent's life: each round's rescan reads only new or changed files. */
  private readonly facts = new FileFacts();

  constructor(private readonly config: AgentConfig, private readonly onSkipped: (report: ReadReport) => void = () => undefined) {}

  private async open(roster: RosterEntry[], size: { width: number; height: number }): Promise<SegmentationDataset> {
    const { dataset, report } = await openDataset(this.config.dataRoot, {
      roster,
      size,
      format: this.config.dataFormat,
      unknown: 'ignore',
      cacheDir: join(this.config.workDir, 'cache', `${size.width}x${size.height}`),
      memoryCache: false,
      facts: this.facts,
    });
    if (report.skipped.length) this.onSkipped(report);
    if (!dataset.length) throw new Error(`no usable image in ${this.config.dataRoot} (${report.skipped.length} files skipped; run "site-agent data inspect")`);
    return dataset;
  }

  private async load(dataset: SegmentationDataset, surgeries: readonly string[]): Promise<LoadedSample[]> {
    const wanted = new Set(surgeries);
    const out: LoadedSample[] = [];
    for await (const s of dataset.filter((ref) => wanted.has(ref.surgery)).epoch()) out.push(s);
    return out;
  }

  /** Surgeries this site trains on at `step`. */
  trainSurgeries(step: number): readonly string[] {
    const perStep = this.config.stepSurgeries;
    if (perStep) {
      if (step >= perStep.length) return [];
      return perStep[step];
    }
    return this.config.trainSurgeries ?? DSAD_SPLIT.train;
  }

  /** Training images of `step` annotated for `classes` (or fully), with labels for `classes` only (other structures become background). */
  async training(roster: RosterEntry[], classes: readonly number[], step: number, size: { width: number; height: number }): Promise<LoadedSample[]> {
    const dataset = await this.open(roster, size);
    const samples = await this.load(dataset, this.trainSurgeries(step));
    // An image annotated only for structures outside this step (a DSAD single-structure folder of an
    // old class) has no label of the step's classes: it would only teach "that structure is
    // background". The step trains on images annotated for its classes, and on fully annotated ones.
    const wanted = new Set(classes);
    const annotatedForStep = (s: LoadedSample) => s.complete || !classes.length || s.annotated.some((c) => wanted.has(c));
    return samples.filter(annotatedForStep).map((s) => ({ ...s, label: stepLabels(s.label, classes, 'ignore') }));
  }

  /** Test images with every class of the roster (unannotated pixels ignored). */
  async test(roster: RosterEntry[], size: { width: number; height: number }): Promise<LoadedSample[]> {
    const dataset = await this.open(roster, size);
    return this.load(dataset, this.config.testSurgeries ?? DSAD_SPLIT.test);
  }
}
