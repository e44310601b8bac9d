import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { EvaluationReport } from '@fedciss/proto';
import { DatabaseService } from '../database/database.service';
import { isUniqueViolation } from '../database/database-errors';
import { invalid, notFound } from '../common/errors';
import { quote } from '../common/text';

const MAX_COUNT = 2 ** 50;

/**
 * Stores the per-class confusion counts that sites report for a model version on their own test
 * patients. A site reporting again for the same model, split and evaluated model replaces its
 * earlier report (retries are safe).
 */
@Injectable()
export class EvaluationsService {
  constructor(private readonly db: DatabaseService) {}

  async record(siteId: string, r: EvaluationReport): Promise<void> {
    const version = await this.db.prisma.modelVersion.findUnique({ where: { id: r.modelVersionId } });
    if (!version) throw notFound(`model version ${quote(r.modelVersionId)} does not exist`);
    if (version.kind !== 'segmenter') throw invalid(`model version ${quote(r.modelVersionId)} is a ${version.kind}, not a segmenter`);
    const split = r.split || 'test';
    if (!['test', 'validation'].includes(split)) throw invalid(`split must be test or validation (got '${split}')`);
    if (!Number.isInteger(r.images) || r.images < 0 || r.images > 1e7) throw invalid(`images ${r.images} is not a count`);
    if (r.evaluatedSiteModel && !(await this.db.prisma.modelVersion.findUnique({ where: { id: r.evaluatedSiteModel } }))) {
      throw notFound(`evaluated model ${quote(r.evaluatedSiteModel)} does not exist`);
    }
    const seen = new Set<number>();
    for (const c of r.classes) {
      if (!Number.isInteger(c.classId) || c.classId < 0 || c.classId >= version.numClasses) {
        throw invalid(`class id ${c.classId} is outside 0..${version.numClasses - 1} of model ${version.id}`);
      }
      if (seen.has(c.classId)) throw invalid(`class id ${c.classId} is reported twice`);
      seen.add(c.classId);
      for (const [k, v] of [['true_positive', c.truePositive], ['false_positive', c.falsePositive], ['false_negative', c.falseNegative]] as const) {
        if (!Number.isInteger(v) || v < 0 || v > MAX_COUNT) throw invalid(`class ${c.classId}: ${k} ${v} is not a pixel count`);
      }
    }
    const key = { modelVersionId: version.id, siteId, split, evaluatedSiteModel: r.evaluatedSiteModel ?? '' };
    const replace = () => this.db.prisma.$transaction(async (tx) => {
      await tx.evaluation.deleteMany({ where: key });
      await tx.evaluation.create({
        data: {
          id: `eval-${randomBytes(8).toString('hex')}`,
          ...key,
          stepIndex: version.stepIndex,
          images: r.images,
          classes: {
            create: r.classes.map((c) => ({
              classId: c.classId,
              truePositive: BigInt(c.truePositive),
              falsePositive: BigInt(c.falsePositive),
              falseNegative: BigInt(c.falseNegative),
            })),
          },
        },
      });
    });
    // A retry that overlaps its first attempt (the site stopped waiting for a slow answer) finds the
    // key taken when it inserts; the first has committed by then, so replacing again succeeds.
    await replace().catch((e: unknown) => {
      if (isUniqueViolation(e)) return replace();
      throw e;
    });
  }
}
