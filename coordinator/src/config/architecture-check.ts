/**
 * The training file's architecture overrides (`segmenter`, `generator`) are free-form records that
 * the model factory's defaults are merged under, so a misspelt key would be ignored silently. At
 * start-up every key is checked against the factory's defaults and the merged configurations are
 * parsed by ml: an unknown key or a wrong value stops the coordinator, named with its path.
 */
import { parseDiffusionConfig, parseSegmenterConfig, type DiffusionConfig, type SegmenterConfig } from '@fedciss/ml';
import type { ModelFactory } from '../models/model-factory';
import type { TrainingSettings } from './training-settings.schema';

type ArchitectureSettings = Pick<TrainingSettings, 'segmenter' | 'generator'>;

/** The architecture a new federation starts with: the factory's defaults, the file's overrides on top, parsed by ml. */
export function federationArchitecture(training: ArchitectureSettings, factory: ModelFactory): { segmenter: SegmenterConfig; generator: DiffusionConfig } {
  const segmenter = parseSegmenterConfig({ ...factory.defaultSegmenterConfig(), ...training.segmenter }, 'segmenter');
  const generator = parseDiffusionConfig({ ...factory.defaultGeneratorConfig(segmenter), ...training.generator }, 'generator');
  return { segmenter, generator };
}

export function architectureProblems(training: ArchitectureSettings, factory: ModelFactory): string[] {
  const problems: string[] = [];
  const known = { segmenter: factory.defaultSegmenterConfig(), generator: factory.defaultGeneratorConfig() };
  for (const part of ['segmenter', 'generator'] as const) {
    for (const key of Object.keys(training[part] ?? {})) {
      if (!(key in known[part])) problems.push(`${part}.${key}: unknown setting (a typo? known: ${Object.keys(known[part]).join(', ')})`);
    }
  }
  if (problems.length) return problems;
  try {
    federationArchitecture(training, factory);
  } catch (e) {
    problems.push((e as Error).message);
  }
  return problems;
}
