import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../database/database.service';
import { notFound } from '../common/errors';
import { buildReports, pooledScores, type RoundPoint, type StepEvaluations, type StepReport } from './federated-report';
import { crossSiteModels, isRoundEvaluation, RoundsRepository, type RoundRecord } from '../federation/repositories/rounds.repository';

/**
 * Reads the sites' evaluations of each step's final global model and builds the federated report;
 * and, per step, the evaluations of each segmenter round's aggregate (the per-round series).
 */
@Injectable()
export class ReportsService {
  constructor(private readonly db: DatabaseService, private readonly rounds: RoundsRepository) {}

  async steps(): Promise<StepReport[]> {
    const evalRounds = await this.rounds.completed('evaluate');
    // The last completed evaluation round of a step names the step's final model.
    const finalRound = new Map<number, RoundRecord>();
    for (const r of evalRounds) if (r.baseVersionId && !isRoundEvaluation(r)) finalRound.set(r.stepIndex, r);
    const evaluations: StepEvaluations[] = [];
    for (const [step, round] of finalRound) {
      const local = Object.entries(crossSiteModels(round));
      evaluations.push({
        step,
        modelVersionId: round.baseVersionId!,
        sites: await this.siteCounts(round.baseVersionId!, ''),
        ...(local.length ? { crossSite: await Promise.all(local.map(async ([modelSite, id]) => ({ modelSite, modelVersionId: id, sites: await this.siteCounts(id, id) }))) } : {}),
      });
    }
    return buildReports(evaluations, await this.roster());
  }

  /**
   * Old/new/all mIoU of each completed segmenter round's aggregate of a step that its sites have
   * evaluated (every round with `evaluateEveryRound`, else only the step's last), in round order.
   */
  async roundSeries(step: number): Promise<RoundPoint[]> {
    if (!(await this.db.prisma.step.findUnique({ where: { index: step } }))) throw notFound(`step ${step} does not exist`);
    const classes = (await this.roster()).filter((c) => c.stepAdded <= step);
    const rounds = (await this.rounds.ofStep(step)).filter((r) => r.kind === 'segmenter' && r.status === 'completed' && r.resultVersionId).sort((a, b) => a.index - b.index);
    const points: RoundPoint[] = [];
    for (const r of rounds) {
      const sites = await this.siteCounts(r.resultVersionId!, '');
      if (!sites.length) continue;
      points.push({ round: r.index, roundId: r.id, modelVersionId: r.resultVersionId!, images: sites.reduce((n, x) => n + x.images, 0), sites: sites.length, ...pooledScores(sites, classes, step) });
    }
    return points;
  }

  /** Each site's test-split counts for a model version (`evaluatedSiteModel`: '' for the version itself). */
  private async siteCounts(modelVersionId: string, evaluatedSiteModel: string) {
    const rows = await this.db.prisma.evaluation.findMany({ where: { modelVersionId, split: 'test', evaluatedSiteModel }, include: { classes: true }, orderBy: { siteId: 'asc' } });
    return rows.map((e) => ({
      siteId: e.siteId,
      images: e.images,
      counts: e.classes.map((c) => ({ classId: c.classId, tp: Number(c.truePositive), fp: Number(c.falsePositive), fn: Number(c.falseNegative) })),
    }));
  }

  private async roster() {
    return (await this.db.prisma.rosterClass.findMany({ orderBy: { id: 'asc' } })).map((c) => ({ id: c.id, name: c.name, color: c.color, stepAdded: c.stepAdded }));
  }
}
