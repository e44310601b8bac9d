/**
 * `site-agent evaluate`: scores the last global model this site received on its own test patients
 * and prints per-class IoU, locally: nothing is sent (the coordinator asks for evaluations itself,
 * in evaluation rounds, through `run`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { iouOfCounts } from '@fedciss/ml';
import { TaskKind, type Task } from '@fedciss/proto';
import type { AgentConfig } from '../../config/agent-config';
import { createLog } from '../../agent/log';
import { LAST_TASK_FILE } from '../../agent/run-loop';
import { MlSiteWork } from '../../work/ml-site-work';
import { agentConfigFrom, withAgentOptions, type AgentFlags } from './agent-options';

export interface EvaluateContext {
  config: AgentConfig;
  json: boolean;
}

export type EvaluateAction = (ctx: EvaluateContext) => Promise<void>;

export const runEvaluate: EvaluateAction = async ({ config, json }) => {
  const file = join(config.workDir, LAST_TASK_FILE);
  if (!existsSync(file)) throw new Error(`no model received yet (${file} is missing): run "site-agent run" first`);
  const last = JSON.parse(readFileSync(file, 'utf8')) as Pick<Task, 'roster' | 'globalModel' | 'step'>;
  if (!last.globalModel || last.globalModel.kind !== 'segmenter') throw new Error('the last task named no segmenter model to evaluate');
  const cached = join(config.workDir, 'models', `${last.globalModel.sha256}.safetensors`);
  if (!existsSync(cached)) throw new Error(`model ${last.globalModel.versionId} is not in the local cache (${cached})`);
  const work = new MlSiteWork(config, createLog('text', config.siteName));
  const task = { ...last, kind: TaskKind.TASK_KIND_EVALUATE, roundId: 'local' } as Task;
  const report = await work.evaluate(task, async () => readFileSync(cached), () => undefined);
  const iou = report.classes.map((c) => ({ id: c.classId, iou: iouOfCounts({ tp: c.truePositive, fp: c.falsePositive, fn: c.falseNegative }) }));
  const names = new Map(last.roster.map((c) => [c.id, c.name]));
  if (json) {
    process.stdout.write(JSON.stringify({ model: last.globalModel.versionId, images: report.images, perClassIoU: Object.fromEntries(iou.map((c) => [names.get(c.id) ?? c.id, c.iou])) }, null, 2) + '\n');
    return;
  }
  process.stdout.write(`model ${last.globalModel.versionId} on ${report.images} local test images\n`);
  for (const c of iou) process.stdout.write(`  ${String(names.get(c.id) ?? c.id).padEnd(28)} ${c.iou === null ? '   –' : (100 * c.iou).toFixed(1).padStart(5)}\n`);
};

export function register(program: Command, action: EvaluateAction = runEvaluate): void {
  withAgentOptions(program.command('evaluate').description('score the last global model this site received on its own test patients (nothing is sent)'))
    .option('--json', 'print one JSON document', false)
    .action(async (o: AgentFlags & { json: boolean }) => action({ config: agentConfigFrom(o), json: o.json }));
}
