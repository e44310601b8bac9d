/** `site-agent status`: what this site is, whether it can reach the coordinator, and what it would do now. */
import type { Command } from 'commander';
import { TaskKind } from '@fedciss/proto';
import type { AgentConfig } from '../../config/agent-config';
import { siteIdentityStatus } from '../../identity';
import { siteClient, insecureSiteId } from '../../agent/connection';
import { agentConfigFrom, withAgentOptions, type AgentFlags } from './agent-options';

export interface StatusContext {
  config: AgentConfig;
  json: boolean;
}

export type StatusAction = (ctx: StatusContext) => Promise<void>;

export const runStatus: StatusAction = async ({ config, json }) => {
  const identity = config.insecure
    ? { state: insecureSiteId(config) ? 'enrolled' : 'none', siteId: insecureSiteId(config), detail: 'plaintext demo mode' }
    : siteIdentityStatus(config.identityDir);
  const report: Record<string, unknown> = { siteName: config.siteName, coordinator: config.coordinator, identity };
  if (identity.state === 'enrolled') {
    const { client } = siteClient(config, { giveUpAfterMs: 5000 });
    try {
      const task = await client.getTask();
      report.coordinatorReachable = true;
      report.task = { kind: TaskKind[task.kind], step: task.step, round: task.roundId, message: task.message };
    } catch (e) {
      report.coordinatorReachable = false;
      report.error = (e as Error).message;
    } finally {
      client.close();
    }
  }
  process.stdout.write(json ? JSON.stringify(report, null, 2) + '\n' : Object.entries(report).map(([k, v]) => `${k.padEnd(20)} ${typeof v === 'string' ? v : JSON.stringify(v)}`).join('\n') + '\n');
};

export function register(program: Command, action: StatusAction = runStatus): void {
  withAgentOptions(program.command('status').description('this site\'s identity, whether the coordinator answers, and its current task'))
    .option('--json', 'print one JSON document', false)
    .action(async (o: AgentFlags & { json: boolean }) => action({ config: agentConfigFrom(o), json: o.json }));
}
