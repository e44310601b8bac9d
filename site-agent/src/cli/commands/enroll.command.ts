/** `site-agent enroll`: parses flags into an EnrollContext; the work is in agent/enroll.ts. */
import { InvalidArgumentError, type Command } from 'commander';
import type { AgentConfig } from '../../config/agent-config';
import { enroll, type EnrollOutcome } from '../../agent/enroll';
import { agentConfigFrom, withAgentOptions, type AgentFlags } from './agent-options';
import { readInvitationBundle, type InvitationBundle } from '../../agent/invitation-bundle';

export interface EnrollContext {
  config: AgentConfig;
  caCertFile?: string;
  caFingerprint?: string;
  bundle?: InvitationBundle;
  wait: boolean;
  pollSeconds: number;
  json: boolean;
}

export type EnrollAction = (ctx: EnrollContext) => Promise<EnrollOutcome>;

export const runEnroll: EnrollAction = async (ctx) => {
  const outcome = await enroll(ctx.config, { caCertFile: ctx.caCertFile, caFingerprint: ctx.caFingerprint, bundle: ctx.bundle, wait: ctx.wait, pollSeconds: ctx.pollSeconds, log: (l) => process.stderr.write(l + '\n') });
  if (ctx.json) process.stdout.write(JSON.stringify(outcome) + '\n');
  if (outcome.status === 'rejected') process.exitCode = 1;
  return outcome;
};

export function register(program: Command, action: EnrollAction = runEnroll): void {
  withAgentOptions(
    program
      .command('enroll')
      .description(
        'Join the federation: creates this site\'s key pair (the private key never leaves this machine) and asks the ' +
          'coordinator for a certificate. An administrator approves the request in the console; run again (or use --wait) ' +
          'to collect the certificate. The first time, pass the federation\'s CA certificate from the coordinator\'s operator.',
      ),
  )
    .option('--bundle <file>', 'the invitation bundle from the coordinator\'s operator (CA certificate, endpoints, one-time token): the usual way to join')
    .option('--ca-cert <file>', 'the federation\'s CA certificate (first enrolment, coordinators with open enrolment)')
    .option('--ca-fingerprint <sha256>', 'its SHA-256 fingerprint as the operator told you (checked if given)')
    .option('--wait', 'keep asking until an administrator approves or rejects', false)
    .option('--poll-seconds <n>', 'seconds between requests with --wait', (v) => {
      const n = Number(v);
      if (!(n >= 1 && n <= 3600)) throw new InvalidArgumentError(`--poll-seconds must be 1..3600, got '${v}'`);
      return n;
    }, 10)
    .option('--json', 'print the outcome as JSON', false)
    .action(async (o: AgentFlags & { bundle?: string; caCert?: string; caFingerprint?: string; wait: boolean; pollSeconds: number; json: boolean }) => {
      if (o.bundle && o.caCert) throw new InvalidArgumentError('--bundle already carries the CA certificate: leave out --ca-cert');
      const bundle = o.bundle ? readInvitationBundle(o.bundle) : undefined;
      // The bundle names the site and the endpoints; flags given next to it win.
      const flags = bundle ? { ...o, siteName: o.siteName ?? bundle.siteName, coordinator: o.coordinator ?? bundle.federationAddress, enrollAddress: o.enrollAddress ?? bundle.enrollAddress } : o;
      await action({ config: agentConfigFrom(flags), caCertFile: o.caCert, caFingerprint: o.caFingerprint, bundle, wait: o.wait, pollSeconds: o.pollSeconds, json: o.json });
    });
}
