import { Injectable } from '@nestjs/common';
import { DatabaseService } from '../database/database.service';
import { buildReports, type StepEvaluations, type StepReport } from './federated-report';
import { crossSiteModels, RoundsRepository, type RoundRecord } from '../federation/repositories/rounds.repository';

/** Reads the sites' evaluations of each step's final global model and builds the federated report. */
@Injectable()
export class ReportsService {
  constructor(private readonly db: DatabaseService, private readonly rounds: RoundsRepository) {}

  async steps(): Promise<StepReport[]> {
    const p = this.db.prisma;
    const evalRounds = await this.rounds.completed('evaluate');
    // The last completed evaluation round of a step names the step's final model.
    const finalRound = new Map<number, RoundRecord>();
    for (const r of evalRounds) if (r.baseVersionId) finalRound.set(r.stepIndex, r);
    const siteCounts = async (modelVersionId: string, evaluatedSiteModel: string) =>
      (await p.evaluation.findMany({ where: { modelVersionId, split: 'test', evaluatedSiteModel }, include: { classes: true }, orderBy: { siteId: 'asc' } })).map((e) => ({
        siteId: e.siteId,
        images: e.images,
        counts: e.classes.map((c) => ({ classId: c.classId, tp: Number(c.truePositive), fp: Number(c.falsePositive), fn: Number(c.falseNegative) })),
      }));
    const evaluations: StepEvaluations[] = [];
    for (const [step, round] of finalRound) {
      const local = Object.entries(crossSiteModels(round));
      evaluations.push({
        step,
        modelVersionId: round.baseVersionId!,
        sites: await siteCounts(round.baseVersionId!, ''),
        ...(local.length ? { crossSite: await Promise.all(local.map(async ([modelSite, id]) => ({ modelSite, modelVersionId: id, sites: await siteCounts(id, id) }))) } : {}),
      });
    }
    const roster = (await p.rosterClass.findMany({ orderBy: { id: 'asc' } })).map((c) => ({ id: c.id, name: c.name, color: c.color, stepAdded: c.stepAdded }));
    return buildReports(evaluations, roster);
  }
}
