import { Inject, Injectable } from '@nestjs/common';
import type { NamedTensors } from '@fedciss/ml';
import { SecAggStage, secagg, type SecureAggregation, type SecAggAdvertisement, type SecAggRevealedShares, type SecAggShares } from '@fedciss/proto';
import type { Prisma, Round } from '../generated/prisma/client';
import { DatabaseService } from '../database/database.service';
import { BLOB_STORE } from '../common/tokens';
import { invalid } from '../common/errors';
import type { BlobStore } from '../model-store/blob-store';
import type { RoundState, SecAggEvent } from '../rounds';
import { secureQuantisation, secureWeight, type PrivacySettings } from './privacy-settings';

type Payload = SecAggAdvertisement | SecAggShares | SecAggRevealedShares;
const KIND: Record<SecAggEvent, string> = { advertise: 'keys', share: 'shares', reveal: 'reveal' };
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const bytes = (s: string) => Buffer.from(s, 'base64');

interface StoredKeys { encryptionKey: string; maskKey: string; selfSeedHash: string }
type StoredShares = Array<{ to: string; ciphertext: string }>;
type StoredReveal = Array<{ owner: string; secret: 'self' | 'mask'; share: string }>;

/**
 * The coordinator's side of secure aggregation: checks and stores what sites send in the key stages
 * and the unmasking, tells each site what to do at the current stage, and unmasks the sum of a
 * round's masked updates (proto's secagg core). It never holds a single site's update in the clear.
 */
@Injectable()
export class SecureAggregationService {
  constructor(private readonly db: DatabaseService, @Inject(BLOB_STORE) private readonly store: BlobStore) {}

  /** Checks a message's content (the round state machine then checks whether it is due). */
  check(state: RoundState, siteId: string, event: SecAggEvent, p: Payload): void {
    const sa = state.secureAggregation;
    if (!sa) throw invalid(`round ${state.roundId} does not aggregate securely`);
    if (event === 'advertise') {
      const a = p as SecAggAdvertisement;
      if (a.encryptionKey.length !== 32 || a.maskKey.length !== 32) throw invalid('encryption_key and mask_key must be 32-byte X25519 public keys');
      if (a.selfSeedHash.length !== 32) throw invalid('self_seed_hash must be a 32-byte SHA-256');
    } else if (event === 'share') {
      const shares = (p as SecAggShares).shares;
      const seen = new Set<string>();
      for (const [i, e] of shares.entries()) {
        if (e.fromSite !== siteId) throw invalid(`shares[${i}].from_site '${e.fromSite}' is not the calling site ${siteId}`);
        if (!sa.advertised.includes(e.toSite)) throw invalid(`shares[${i}].to_site '${e.toSite}' did not advertise keys in round ${state.roundId}`);
        if (seen.has(e.toSite)) throw invalid(`shares[${i}]: a second bundle for ${e.toSite}`);
        if (e.ciphertext.length < 28 || e.ciphertext.length > 4096) throw invalid(`shares[${i}].ciphertext of ${e.ciphertext.length} bytes is not a share bundle`);
        seen.add(e.toSite);
      }
      if (!seen.has(siteId)) throw invalid('the bundles must include the sending site\'s own (it is one of the holders)');
    } else {
      for (const [i, r] of (p as SecAggRevealedShares).shares.entries()) {
        if (!sa.shared.includes(r.owner)) throw invalid(`shares[${i}].owner '${r.owner}' did not share keys in round ${state.roundId}`);
        const survived = state.contributors.includes(r.owner);
        if (r.secret !== (survived ? 'self' : 'mask')) throw invalid(`shares[${i}]: ${r.owner}'s ${r.secret} share is not asked for (its input is ${survived ? 'in' : 'not in'} the sum)`);
        if (r.share.length !== 33) throw invalid(`shares[${i}].share must be 33 bytes`);
      }
    }
  }

  async save(tx: Prisma.TransactionClient, roundId: string, siteId: string, event: SecAggEvent, p: Payload): Promise<void> {
    let payload: StoredKeys | StoredShares | StoredReveal;
    if (event === 'advertise') {
      const a = p as SecAggAdvertisement;
      payload = { encryptionKey: b64(a.encryptionKey), maskKey: b64(a.maskKey), selfSeedHash: b64(a.selfSeedHash) };
    } else if (event === 'share') payload = (p as SecAggShares).shares.map((e) => ({ to: e.toSite, ciphertext: b64(e.ciphertext) }));
    else payload = (p as SecAggRevealedShares).shares.map((r) => ({ owner: r.owner, secret: r.secret as 'self' | 'mask', share: b64(r.share) }));
    await tx.secAggMessage.create({ data: { roundId, siteId, kind: KIND[event], payload: payload as unknown as Prisma.InputJsonValue } });
  }

  private async messages<T>(roundId: string, kind: string): Promise<Map<string, T>> {
    const rows = await this.db.prisma.secAggMessage.findMany({ where: { roundId, kind } });
    return new Map(rows.map((r) => [r.siteId, r.payload as unknown as T]));
  }

  private async roster(roundId: string, advertised: readonly string[]): Promise<secagg.Advertisement[]> {
    const keys = await this.messages<StoredKeys>(roundId, 'keys');
    return advertised.map((siteId) => {
      const k = keys.get(siteId)!;
      return { siteId, encryptionKey: bytes(k.encryptionKey), maskKey: bytes(k.maskKey), selfSeedHash: bytes(k.selfSeedHash) };
    });
  }

  /**
   * What `siteId` does now in this secure round: a stage with its data, or the reason to wait
   * (string). `privacy`: the step's settings.
   */
  async taskFor(round: Pick<Round, 'id'>, state: RoundState, siteId: string, privacy: PrivacySettings): Promise<SecureAggregation | string> {
    const sa = state.secureAggregation!;
    const base = { threshold: sa.threshold, neighbours: sa.neighbours, roster: [], sharers: [], quantisationRange: 0, quantisationSites: 0, sampleWeightCap: 0, survivors: [], incoming: [] };
    const roster = async () => (await this.roster(round.id, sa.advertised)).map((a) => ({ siteId: a.siteId, encryptionKey: Buffer.from(a.encryptionKey), maskKey: Buffer.from(a.maskKey), selfSeedHash: Buffer.from(a.selfSeedHash) }));
    switch (sa.stage) {
      case 'advertise':
        return sa.advertised.includes(siteId) ? 'secure aggregation: waiting for the other sites\' public keys' : { ...base, stage: SecAggStage.SEC_AGG_STAGE_ADVERTISE };
      case 'share':
        if (!sa.advertised.includes(siteId)) return 'secure aggregation: this site missed the key stage of this round; it joins the next';
        return sa.shared.includes(siteId) ? 'secure aggregation: waiting for the other sites\' key shares' : { ...base, stage: SecAggStage.SEC_AGG_STAGE_SHARE_KEYS, roster: await roster() };
      case 'input': {
        const q = secureQuantisation(privacy, sa.shared.length);
        return { ...base, stage: SecAggStage.SEC_AGG_STAGE_MASKED_INPUT, roster: await roster(), sharers: [...sa.shared], quantisationRange: q.range, quantisationSites: q.sites, sampleWeightCap: q.sampleWeightCap };
      }
      case 'unmask': {
        if (!state.contributors.includes(siteId) || sa.revealed.includes(siteId)) return 'secure aggregation: waiting for the unmasking';
        const incoming: SecureAggregation['incoming'] = [];
        for (const [from, bundles] of await this.messages<StoredShares>(round.id, 'shares')) {
          if (!sa.shared.includes(from)) continue;
          for (const b of bundles) if (b.to === siteId) incoming.push({ fromSite: from, toSite: siteId, ciphertext: bytes(b.ciphertext) });
        }
        return { ...base, stage: SecAggStage.SEC_AGG_STAGE_UNMASK, roster: await roster(), sharers: [...sa.shared], survivors: [...state.contributors], incoming };
      }
    }
  }

  /**
   * The round's new weights from the unmasked sum: base + Σ weighted deltas / Σ weights. Null while
   * too few shares have come back (and some contributor has yet to answer).
   */
  async aggregate(round: Pick<Round, 'id'>, state: RoundState, base: NamedTensors, privacy: PrivacySettings): Promise<{ weights: NamedTensors; note: string } | null> {
    const sa = state.secureAggregation!;
    if (sa.revealed.length < sa.threshold) return null;
    const d = secagg.flatLength(base);
    const updates = await this.db.prisma.siteUpdate.findMany({ where: { roundId: round.id, status: 'accepted', siteId: { in: [...state.contributors] } } });
    const q = secureQuantisation(privacy, sa.shared.length);
    const sum = new Uint32Array(d);
    let totalWeight = 0;
    for (const u of updates) {
      secagg.addInto(sum, secagg.decodeMasked(await this.store.get(u.sha256), d));
      totalWeight += secureWeight(u.realImages + u.replayImages, q.sampleWeightCap);
    }
    const revealed: secagg.RevealedShare[] = [];
    for (const [holder, shares] of await this.messages<StoredReveal>(round.id, 'reveal')) for (const r of shares) revealed.push({ holder, owner: r.owner, secret: r.secret, share: bytes(r.share) });
    let unmasked: Uint32Array;
    try {
      unmasked = await secagg.unmaskSum(sum, await this.roster(round.id, sa.advertised), sa.shared, state.contributors, revealed, { roundId: round.id, threshold: sa.threshold, neighbours: sa.neighbours });
    } catch (e) {
      // Not enough shares yet: wait for the contributors still to answer; if all have, it cannot succeed.
      if (e instanceof secagg.SecAggError && /shares needed/.test(e.message) && sa.revealed.length < state.contributors.length) return null;
      throw e;
    }
    const mean = secagg.dequantiseSum(unmasked, q).map((v) => v / totalWeight);
    const dropped = sa.shared.filter((id) => !state.contributors.includes(id));
    return {
      weights: secagg.addFlat(base, mean),
      note: `secure aggregation (FedAvg of ${state.contributors.length} masked updates, total weight ${totalWeight}${dropped.length ? `, masks of ${dropped.length} dropped sites removed` : ''}, ${sa.revealed.length} sites revealed shares)`,
    };
  }
}
