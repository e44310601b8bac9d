import { Inject, Injectable } from '@nestjs/common';
import { rgbOf } from '@fedciss/ml';
import { encodePng } from '@fedciss/ml/images';
import { DatabaseService } from '../database/database.service';
import { MODEL_FACTORY } from '../common/tokens';
import { invalid, notFound } from '../common/errors';
import type { ModelFactory } from '../models/model-factory';
import { ModelVersionsService } from '../models/model-versions.service';
import { GlobalModels } from '../federation/global-models';
import { quote } from '../common/text';

export interface Overlay {
  imagePng: string;
  overlayPng: string;
}

const OVERLAYS = 8;

/**
 * Prediction overlays for the console: a segmenter version's predictions on images the current
 * generator makes, drawn in the roster's colours. Computed once per version and kept in memory
 * (a version never changes).
 */
@Injectable()
export class OverlaysService {
  private readonly cache = new Map<string, Promise<Overlay[]>>();

  constructor(
    private readonly db: DatabaseService,
    private readonly models: ModelVersionsService,
    private readonly globals: GlobalModels,
    @Inject(MODEL_FACTORY) private readonly factory: ModelFactory,
  ) {}

  overlays(versionId: string): Promise<Overlay[]> {
    let result = this.cache.get(versionId);
    if (!result) {
      result = this.compute(versionId);
      this.cache.set(versionId, result);
      result.catch(() => this.cache.delete(versionId));
    }
    return result;
  }

  private async compute(versionId: string): Promise<Overlay[]> {
    const version = await this.models.get(versionId);
    if (version.kind !== 'segmenter') throw invalid(`model version ${quote(versionId)} is a ${version.kind}; overlays need a segmenter`);
    const generatorId = await this.globals.current('generator');
    if (!generatorId) throw notFound('no generator has been trained yet, so there are no images to draw predictions on');
    const generator = await this.models.get(generatorId);
    const colors = new Map((await this.db.prisma.rosterClass.findMany()).map((c) => [c.id, rgbOf(c.color)]));
    const predictions = await this.factory.predictOnGenerated({
      segmenter: await this.models.weights(versionId),
      spec: { numClasses: version.numClasses, config: version.config as Record<string, unknown> },
      generator: await this.models.weights(generatorId),
      generatorConfig: generator.config as Record<string, unknown>,
      count: OVERLAYS,
      seed: 7,
    });
    return predictions.map((p) => {
      const hw = p.height * p.width;
      const rgb = new Uint8Array(hw * 3);
      const rgba = new Uint8Array(hw * 4);
      for (let i = 0; i < hw; i++) {
        for (let c = 0; c < 3; c++) rgb[i * 3 + c] = Math.round(255 * Math.min(1, Math.max(0, p.image[c * hw + i])));
        const label = p.labels[i];
        const color = label === 0 ? undefined : colors.get(label);
        if (color) rgba.set([...color, 255], i * 4);
      }
      return {
        imagePng: encodePng({ width: p.width, height: p.height, channels: 3, data: rgb }).toString('base64'),
        overlayPng: encodePng({ width: p.width, height: p.height, channels: 4, data: rgba }).toString('base64'),
      };
    });
  }
}
