/**
 * The secure-aggregation part of a round's state (pure, persisted inside RoundState): the key
 * stages that come before the masked uploads, and the unmasking after collection closes.
 *
 *   advertise ──every live site, or ¼ of the deadline──▶ share ──every advertiser, or ½──▶ input ──close──▶ unmask
 *
 * A stage ends early once every live site has done it, or at its time limit if at least
 * `threshold` sites have; sites that did not share their keys cannot send a masked input and are
 * marked withheld, so the round does not wait for them. Uploads are admitted only at `input`, from
 * sites that shared (round-state.ts checkUpload).
 */
import { siteLiveness, type RoundState } from './round-state';
import type { SecAggEvent, SecAggStage } from './secagg-types';

export type { SecAggEvent, SecAggRoundState, SecAggStage } from './secagg-types';

const STAGE_LIMIT: Partial<Record<SecAggStage, number>> = { advertise: 0.25, share: 0.5 };

/** The secure-aggregation state of a new round (advertise stage). */
export function secureRound(s: RoundState, threshold: number, neighbours: number): RoundState {
  const n = Object.keys(s.sites).length;
  return { ...s, secureAggregation: { stage: 'advertise', threshold, neighbours: neighbours > 0 ? neighbours : Math.max(1, n - 1), advertised: [], shared: [], revealed: [] } };
}

/** `duplicate`: the site already sent this (a retried call): answer it as before, change nothing. */
export type SecAggRecord =
  | { readonly state: RoundState; readonly recorded: true }
  | { readonly state: RoundState; readonly recorded: false; readonly reason: string; readonly duplicate: boolean };

/** A site's key-stage message or reveal: recorded when the round is at that stage and the site may send it. */
export function recordSecAgg(s: RoundState, siteId: string, event: SecAggEvent, now: number): SecAggRecord {
  const sa = s.secureAggregation;
  const refuse = (reason: string, duplicate = false): SecAggRecord => ({ state: s, recorded: false, reason, duplicate });
  if (!sa) return refuse(`round ${s.roundId} does not aggregate securely`);
  if (!s.sites[siteId]) return refuse(`site ${siteId} is not a participant of round ${s.roundId}`);
  const expected: Record<SecAggEvent, SecAggStage> = { advertise: 'advertise', share: 'share', reveal: 'unmask' };
  const list = event === 'advertise' ? 'advertised' : event === 'share' ? 'shared' : 'revealed';
  // A retry of a message already recorded (its answer was lost), even after the stage moved on.
  if (sa[list].includes(siteId)) return refuse(`site ${siteId} already ${event === 'share' ? 'shared its keys' : `sent its ${event}`} in round ${s.roundId}`, true);
  if (sa.stage !== expected[event]) return refuse(`round ${s.roundId} is at secure-aggregation stage ${sa.stage}, not ${expected[event]}`);
  if (event === 'share' && !sa.advertised.includes(siteId)) return refuse(`site ${siteId} did not advertise keys in round ${s.roundId}`);
  if (event === 'reveal' && !s.contributors.includes(siteId)) return refuse(`site ${siteId}'s masked input is not in the sum of round ${s.roundId}`);
  const sites = { ...s.sites, [siteId]: { lastSeenAt: Math.max(now, s.sites[siteId].lastSeenAt) } };
  return { state: { ...s, sites, secureAggregation: { ...sa, [list]: [...sa[list], siteId] } }, recorded: true };
}

/** Moves the key stages on (see the file comment); other states are returned as they are. */
export function advanceSecAgg(s: RoundState, now: number): RoundState {
  let sa = s.secureAggregation;
  if (!sa || s.phase !== 'collecting') return s;
  const alive = siteLiveness(s, now);
  const limitReached = (stage: SecAggStage) => now >= s.openedAt + (STAGE_LIMIT[stage] ?? 1) * s.config.deadlineMs;
  const withheld: Record<string, { at: number; reason: string }> = { ...(s.withheld ?? {}) };
  if (sa.stage === 'advertise') {
    const waiting = Object.keys(s.sites).filter((id) => alive[id] === 'alive' && !sa!.advertised.includes(id));
    if (sa.advertised.length >= sa.threshold && (!waiting.length || limitReached('advertise'))) sa = { ...sa, stage: 'share' };
  }
  if (sa.stage === 'share') {
    const waiting = sa.advertised.filter((id) => alive[id] === 'alive' && !sa!.shared.includes(id));
    if (sa.shared.length >= sa.threshold && (!waiting.length || limitReached('share'))) {
      sa = { ...sa, stage: 'input' };
      for (const id of Object.keys(s.sites)) {
        if (!sa.shared.includes(id) && !withheld[id]) withheld[id] = { at: now, reason: 'did not complete the key exchange of secure aggregation in time' };
      }
    }
  }
  return sa === s.secureAggregation ? s : { ...s, secureAggregation: sa, withheld };
}
