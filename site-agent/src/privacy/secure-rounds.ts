/**
 * The site's side of secure aggregation, across the stages of each secure round: the round's key
 * pairs and seed live in this process only (a restarted agent drops out of that round; the others
 * recover without it). Key stages and the unmasking are answered here; at the masked-input stage
 * the trained update becomes (local − global) · weight, quantised and masked, so what leaves is
 * indistinguishable from noise on its own.
 */
import { status } from '@grpc/grpc-js';
import { decodeSafetensors } from '@fedciss/ml';
import { secagg, SecAggStage, type SampleCounts, type Task } from '@fedciss/proto';
import type { CoordinatorClient } from '../federation/coordinator-client';
import type { AgentLog } from '../agent/log';

export class SecureRounds {
  private readonly clients = new Map<string, secagg.SecAggClient>();

  constructor(private readonly siteId: string, private readonly coordinator: CoordinatorClient, private readonly log: AgentLog) {}

  /**
   * True when the task is a key stage or the unmasking (answered here; nothing to train). A stage
   * the coordinator no longer accepts (this site was too slow) costs this site the round, not the
   * agent: it is logged and the loop asks for the next task.
   */
  async answer(task: Task): Promise<boolean> {
    const sa = task.secureAggregation;
    if (!sa || sa.stage === SecAggStage.SEC_AGG_STAGE_MASKED_INPUT) return false;
    try {
      await this.stage(task);
    } catch (e) {
      const code = (e as { code?: number }).code;
      if (code !== status.FAILED_PRECONDITION && code !== status.NOT_FOUND) throw e;
      this.log('warn', 'secure aggregation: the coordinator did not take this stage; sitting the round out', { round: task.roundId, stage: SecAggStage[sa.stage], reason: (e as Error).message });
    }
    return true;
  }

  private async stage(task: Task): Promise<void> {
    const sa = task.secureAggregation!;
    const roundId = task.roundId;
    if (sa.stage === SecAggStage.SEC_AGG_STAGE_ADVERTISE) {
      const client = new secagg.SecAggClient(this.siteId, { roundId, threshold: sa.threshold, neighbours: sa.neighbours });
      this.clients.set(roundId, client);
      const a = client.advertise();
      await this.coordinator.secAggAdvertise({ roundId, encryptionKey: Buffer.from(a.encryptionKey), maskKey: Buffer.from(a.maskKey), selfSeedHash: Buffer.from(a.selfSeedHash) });
      return;
    }
    const client = this.clients.get(roundId);
    if (!client) {
      // Keys lost (a restart): this site cannot take part in this round; the others carry on without it.
      this.log('warn', 'secure aggregation keys of this round are gone (agent restarted); sitting the round out', { round: roundId });
      return;
    }
    if (sa.stage === SecAggStage.SEC_AGG_STAGE_SHARE_KEYS) {
      const shares = await client.shareKeys(sa.roster.map((r) => ({ siteId: r.siteId, encryptionKey: r.encryptionKey, maskKey: r.maskKey, selfSeedHash: r.selfSeedHash })));
      await this.coordinator.secAggShareKeys({ roundId, shares: shares.map((e) => ({ fromSite: e.from, toSite: e.to, ciphertext: Buffer.from(e.ciphertext) })) });
      return;
    }
    const dropped = sa.sharers.filter((id) => !sa.survivors.includes(id));
    const revealed = client.reveal(sa.survivors, dropped, sa.incoming.map((e) => ({ from: e.fromSite, to: e.toSite, ciphertext: e.ciphertext })));
    await this.coordinator.secAggReveal({ roundId, shares: revealed.map((r) => ({ owner: r.owner, secret: r.secret, share: Buffer.from(r.share) })) });
    this.clients.delete(roundId);
    this.log('info', 'secure aggregation: shares revealed for the unmasking', { round: roundId, survivors: sa.survivors.length, dropped: dropped.length });
  }

  /**
   * The masked upload of a trained model (safetensors) at the masked-input stage; under adaptive
   * clipping the noisy "within the bound" bit is one more masked word (only its sum is unmasked).
   */
  mask(task: Task, trained: Buffer, global: Buffer, samples: SampleCounts, unclippedIndicator?: number): Buffer {
    const sa = task.secureAggregation!;
    const client = this.clients.get(task.roundId);
    if (!client) throw new Error(`secure aggregation keys of round ${task.roundId} are gone (agent restarted)`);
    const weight = sa.sampleWeightCap > 0 ? Math.min(samples.realImages + samples.replayImages, sa.sampleWeightCap) : 1;
    let delta = secagg.weightedDelta(decodeSafetensors(global).tensors, decodeSafetensors(trained).tensors, weight);
    const dp = task.hyperParameters?.differentialPrivacy;
    if (dp && dp.countNoiseStddev > 0) {
      if (unclippedIndicator === undefined) throw new Error(`round ${task.roundId} asks for the adaptive clipping bit, but the update has none`);
      delta = secagg.withIndicator(delta, unclippedIndicator, secagg.indicatorScale(dp.clipNorm, dp.countNoiseStddev));
    }
    const x = secagg.quantise(delta, { range: sa.quantisationRange, sites: sa.quantisationSites });
    return secagg.encodeMasked(client.maskInput(x, sa.sharers));
  }
}
