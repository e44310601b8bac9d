/** What `npm run pretrain:generator -- --for T` pretrains: a generator for the demo's federation or
 * for a bench:ciss profile's, at the geometry its sites train and sample it at. */
import { join } from 'node:path';
import { parseDiffusionConfig, type DiffusionConfig } from '@fedciss/ml';
import { methodById, PROFILES, trainingSettings } from '../bench/ciss/methods';
import { demoTraining, DEMO_FRAME, DEMO_INPUT, DEMO_PRETRAINED_GENERATOR } from '../demo/demo-profile';

export interface PretrainTarget {
  name: string;
  /** The training settings (training.json) of the federation that imports the generator: its
   * `generator` is the architecture pretrained. */
  training: Record<string, unknown>;
  /** The frame size the target's scenes are written at. */
  frame: { width: number; height: number };
  /** The segmenter's input size [height, width]: sites read images at it, then fit them to the generator. */
  inputSize: readonly [number, number];
  /** The default --out: for the demo, its committed weights. */
  file: string;
}

export function targetConfig(target: PretrainTarget): DiffusionConfig {
  return parseDiffusionConfig(target.training.generator, `pretrain target ${target.name}`);
}

function cissTarget(profile: 'quick' | 'default'): PretrainTarget {
  const p = PROFILES[profile];
  return {
    name: `bench:ciss ${profile}`,
    training: trainingSettings(methodById('ours'), p, 0),
    frame: p.imageSize,
    inputSize: p.segmenter.inputSize as [number, number],
    file: join(__dirname, `../../models/ciss-${profile}-generator.safetensors`),
  };
}

export const PRETRAIN_TARGETS: Record<string, PretrainTarget> = {
  demo: { name: 'the demo', training: demoTraining(1), frame: DEMO_FRAME, inputSize: DEMO_INPUT, file: DEMO_PRETRAINED_GENERATOR },
  'ciss-quick': cissTarget('quick'),
  'ciss-default': cissTarget('default'),
};
