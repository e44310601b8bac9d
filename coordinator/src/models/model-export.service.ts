import { Inject, Injectable } from '@nestjs/common';
import { MODEL_FACTORY } from '../common/tokens';
import { invalid } from '../common/errors';
import type { ModelFactory } from './model-factory';
import { ModelVersionsService } from './model-versions.service';
import { quote } from '../common/text';

/** Any segmenter version as a self-contained .onnx inference model (weights inside). */
@Injectable()
export class ModelExportService {
  constructor(private readonly models: ModelVersionsService, @Inject(MODEL_FACTORY) private readonly factory: ModelFactory) {}

  async onnx(id: string): Promise<Buffer> {
    const row = await this.models.get(id);
    if (row.kind !== 'segmenter') throw invalid(`model version ${quote(id)} is a ${row.kind}; only segmenters export to ONNX`);
    return this.factory.exportOnnx(await this.models.weights(id), { numClasses: row.numClasses, config: row.config as Record<string, unknown> });
  }
}
