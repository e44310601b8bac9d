/**
 * The training file's architecture overrides (`segmenter`, `generator`) are free-form records that
 * the model factory merges over its defaults, so a misspelt key would be ignored silently. At
 * start-up every key is checked against the factory's defaults: an unknown one stops the
 * coordinator, named with its path.
 */
import type { ModelFactory } from '../models/model-factory';
import type { TrainingSettings } from './training-settings.schema';

export function architectureProblems(training: Pick<TrainingSettings, 'segmenter' | 'generator'>, factory: ModelFactory): string[] {
  const problems: string[] = [];
  const known = { segmenter: factory.defaultSegmenterConfig(), generator: factory.defaultGeneratorConfig() };
  for (const part of ['segmenter', 'generator'] as const) {
    for (const key of Object.keys(training[part] ?? {})) {
      if (!(key in known[part])) problems.push(`${part}.${key}: unknown setting (a typo? known: ${Object.keys(known[part]).join(', ')})`);
    }
  }
  return problems;
}
