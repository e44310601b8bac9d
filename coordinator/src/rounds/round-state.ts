/**
 * The round state machine: pure functions from (state, event, now) to (new state, decision). No
 * database, no timers, no clock: the service passes `now` (epoch milliseconds), persists the state
 * (a plain JSON value) and carries out the decision. Because every transition is a value, a
 * restarted coordinator reloads the state and calls `advance` to learn what is due.
 *
 *   open ──start──▶ collecting ──advance──▶ aggregating ──complete──▶ completed
 *     │                 │                        │
 *     └────────── advance / fail ────────────────┴──────────────────▶ failed(reason)
 *
 * All deadlines count from `openedAt`: deadline ≤ hard limit < max duration, so collection ends by
 * the hard limit at the latest and aggregation has until the max duration; `advance` fails any
 * round still not terminal at the max duration. No round runs forever.
 */

import type { SecAggRoundState } from './secagg-types';

/**
 * What happens to sites that have not uploaded by the deadline:
 * - `drop`: the round closes at the deadline; it aggregates if the quorum is in, else fails. Later
 *   uploads are rejected as late.
 * - `wait`: if the quorum is in at the deadline, as `drop`; if not, the round keeps collecting past
 *   the deadline and aggregates as soon as the quorum is reached, failing at the hard limit.
 * - `accept-late-same-round`: the round keeps collecting until the hard limit (or until every live
 *   site has reported), and late updates count for this round (never carried into the next); then
 *   it aggregates if the quorum is in, else fails.
 * Under every policy a round aggregates early once every live site has reported and the quorum is
 * in: dead sites (no heartbeat within the timeout) are not waited for.
 */
export type StragglerPolicy = 'wait' | 'drop' | 'accept-late-same-round';

export interface RoundConfig {
  /** Minimum number of accepted updates to aggregate. */
  readonly quorum: number;
  /** Milliseconds after opening when the sites are due. */
  readonly deadlineMs: number;
  /** Milliseconds after opening when collection ends whatever the policy (≥ deadline). */
  readonly hardLimitMs: number;
  /** Milliseconds after opening by which the round is terminal, aggregation included (> hard limit). */
  readonly maxDurationMs: number;
  /** A site not heard from (heartbeat or upload) for this long is dead. */
  readonly heartbeatTimeoutMs: number;
  readonly stragglerPolicy: StragglerPolicy;
}

export type RoundPhase = 'open' | 'collecting' | 'aggregating' | 'completed' | 'failed';
export type SiteLiveness = 'alive' | 'dead';

export type UploadRejectionCode =
  | 'not-invited'
  | 'not-started'
  | 'round-closed'
  | 'late'
  | 'already-uploaded'
  | 'key-reused'
  | 'invalid-update';

export type UploadOutcome =
  | { readonly status: 'accepted'; readonly late: boolean }
  | { readonly status: 'rejected'; readonly code: UploadRejectionCode; readonly reason: string };

export interface UploadRecord {
  readonly idempotencyKey: string;
  readonly siteId: string;
  readonly receivedAt: number;
  readonly outcome: UploadOutcome;
}

export interface RoundState {
  readonly roundId: string;
  readonly config: RoundConfig;
  readonly phase: RoundPhase;
  readonly openedAt: number;
  readonly startedAt: number | null;
  /** When collection ended (aggregation began, or the round failed while collecting). */
  readonly closedAt: number | null;
  readonly endedAt: number | null;
  /** The invited sites, with when each was last heard from. */
  readonly sites: Readonly<Record<string, { readonly lastSeenAt: number }>>;
  /** Every recorded upload, by idempotency key, in arrival order. */
  readonly uploads: Readonly<Record<string, UploadRecord>>;
  /**
   * Sites that trained but kept their update back (the memorisation gate), with why: the round does
   * not wait for them. Absent in states persisted before the gate existed.
   */
  readonly withheld?: Readonly<Record<string, { readonly at: number; readonly reason: string }>>;
  /** Sites whose updates the aggregation uses, fixed when collection closes. */
  readonly contributors: readonly string[];
  /** Why the round is where it is: set on every terminal state, and when aggregation begins. */
  readonly reason: string | null;
  /** The model version the round produced, once completed. */
  readonly modelVersionId: string | null;
  /** Set when the round aggregates securely (secagg-state.ts). */
  readonly secureAggregation?: SecAggRoundState;
}

export type RoundDecision =
  | { readonly action: 'none'; readonly nextCheckAt: number | null }
  | {
      readonly action: 'aggregate';
      readonly contributors: readonly string[];
      readonly dropped: readonly string[];
      readonly reason: string;
    }
  | { readonly action: 'fail'; readonly reason: string };

export interface Transition {
  readonly state: RoundState;
  readonly decision: RoundDecision;
}

export type UploadAdmission =
  | { readonly action: 'validate' }
  | { readonly action: 'replay'; readonly outcome: UploadOutcome }
  | { readonly action: 'reject'; readonly outcome: Extract<UploadOutcome, { status: 'rejected' }> };

export class RoundConfigError extends Error {
  override readonly name = 'RoundConfigError';
}

/** A transition the state does not allow (a programming error of the caller, not a site's). */
export class RoundTransitionError extends Error {
  override readonly name = 'RoundTransitionError';
}

export const isTerminal = (phase: RoundPhase): boolean => phase === 'completed' || phase === 'failed';

export function validateRoundConfig(config: RoundConfig, siteCount: number): void {
  const problems: string[] = [];
  const { quorum, deadlineMs, hardLimitMs, maxDurationMs, heartbeatTimeoutMs, stragglerPolicy } = config;
  if (!Number.isInteger(quorum) || quorum < 1) problems.push(`quorum ${quorum} must be a positive integer`);
  else if (quorum > siteCount) problems.push(`quorum ${quorum} exceeds the ${siteCount} invited sites`);
  for (const [k, v] of Object.entries({ deadlineMs, hardLimitMs, maxDurationMs, heartbeatTimeoutMs })) {
    if (!Number.isFinite(v) || v <= 0) problems.push(`${k} ${v} must be a positive number`);
  }
  if (hardLimitMs < deadlineMs) problems.push(`hardLimitMs ${hardLimitMs} is before deadlineMs ${deadlineMs}`);
  if (maxDurationMs <= hardLimitMs) problems.push(`maxDurationMs ${maxDurationMs} leaves no time to aggregate after hardLimitMs ${hardLimitMs}`);
  if (!['wait', 'drop', 'accept-late-same-round'].includes(stragglerPolicy)) problems.push(`unknown straggler policy ${stragglerPolicy}`);
  if (problems.length) throw new RoundConfigError(`invalid round config: ${problems.join('; ')}`);
}

/** A new round, open, not yet collecting. Every invited site counts as heard from at opening. */
export function openRound(roundId: string, config: RoundConfig, siteIds: readonly string[], now: number): RoundState {
  const unique = [...new Set(siteIds)];
  validateRoundConfig(config, unique.length);
  const sites: Record<string, { lastSeenAt: number }> = {};
  for (const id of unique) sites[id] = { lastSeenAt: now };
  return {
    roundId,
    config: { ...config },
    phase: 'open',
    openedAt: now,
    startedAt: null,
    closedAt: null,
    endedAt: null,
    sites,
    uploads: {},
    contributors: [],
    reason: null,
    modelVersionId: null,
  };
}

// ---- derived views ------------------------------------------------------------------------

export const deadlineAt = (s: RoundState): number => s.openedAt + s.config.deadlineMs;
export const hardLimitAt = (s: RoundState): number => s.openedAt + s.config.hardLimitMs;
export const maxEndAt = (s: RoundState): number => s.openedAt + s.config.maxDurationMs;

export function siteLiveness(s: RoundState, now: number): Record<string, SiteLiveness> {
  const out: Record<string, SiteLiveness> = {};
  for (const [id, site] of Object.entries(s.sites)) {
    out[id] = now - site.lastSeenAt > s.config.heartbeatTimeoutMs ? 'dead' : 'alive';
  }
  return out;
}

/** Sites with an accepted update, in order of acceptance. */
export function acceptedSites(s: RoundState): string[] {
  return Object.values(s.uploads)
    .filter((u) => u.outcome.status === 'accepted')
    .map((u) => u.siteId);
}

/**
 * Invited sites without an accepted update and that did not withhold theirs (a site whose update
 * was rejected may send another).
 */
export function pendingSites(s: RoundState): string[] {
  const done = new Set([...acceptedSites(s), ...Object.keys(s.withheld ?? {})]);
  return Object.keys(s.sites).filter((id) => !done.has(id));
}

// ---- transitions ----------------------------------------------------------------------------

/** open → collecting: the round's task has been published to the sites. */
export function startCollecting(s: RoundState, now: number): Transition {
  if (s.phase !== 'open') throw new RoundTransitionError(`round ${s.roundId} is ${s.phase}, not open: cannot start collecting`);
  return advance({ ...s, phase: 'collecting', startedAt: now }, now);
}

/** A heartbeat from a site: it is alive now. Unknown sites and terminal rounds leave the state as it is. */
export function recordHeartbeat(s: RoundState, siteId: string, now: number): RoundState {
  const site = s.sites[siteId];
  if (!site || isTerminal(s.phase) || now <= site.lastSeenAt) return s;
  return { ...s, sites: { ...s.sites, [siteId]: { lastSeenAt: now } } };
}

/**
 * The coordinator process starts (again) at `now`. While it was down no site could reach it, so the
 * silence of that time counts against none: every site of a live round gets a fresh heartbeat
 * window from now. (Without this a coordinator restart longer than the heartbeat timeout declared
 * every site dead and closed the round without the uploads it was about to resume.)
 */
export function coordinatorRestarted(s: RoundState, now: number): RoundState {
  if (isTerminal(s.phase)) return s;
  const sites: Record<string, { lastSeenAt: number }> = {};
  for (const [id, site] of Object.entries(s.sites)) sites[id] = { lastSeenAt: Math.max(site.lastSeenAt, now) };
  return { ...s, sites };
}

const rejection = (code: UploadRejectionCode, reason: string): Extract<UploadAdmission, { action: 'reject' }> => ({
  action: 'reject',
  outcome: { status: 'rejected', code, reason },
});

/**
 * Whether an upload may be validated (a query: the state does not change). A known idempotency
 * key replays the recorded outcome, so a retried upload gets the same answer, even after the
 * round has closed.
 */
export function checkUpload(s: RoundState, siteId: string, idempotencyKey: string, now: number): UploadAdmission {
  const previous = s.uploads[idempotencyKey];
  if (previous) {
    if (previous.siteId !== siteId) {
      return rejection('key-reused', `idempotency key ${idempotencyKey} was already used by another site in round ${s.roundId}`);
    }
    return { action: 'replay', outcome: previous.outcome };
  }
  if (!s.sites[siteId]) return rejection('not-invited', `site ${siteId} is not a participant of round ${s.roundId}`);
  if (s.phase === 'open') return rejection('not-started', `round ${s.roundId} has not started collecting updates`);
  if (s.phase !== 'collecting') {
    return rejection('round-closed', `round ${s.roundId} is closed (${s.phase}${s.reason ? `: ${s.reason}` : ''}); the upload came too late`);
  }
  const lateFor =
    now >= maxEndAt(s)
      ? 'its maximum duration'
      : now >= hardLimitAt(s)
        ? 'its hard limit'
        : s.config.stragglerPolicy === 'drop' && now >= deadlineAt(s)
          ? 'its deadline (straggler policy drop)'
          : null;
  if (lateFor) {
    return rejection('late', `upload for round ${s.roundId} arrived ${now - s.openedAt} ms after opening, past ${lateFor}`);
  }
  const sa = s.secureAggregation;
  if (sa && (sa.stage !== 'input' || !sa.shared.includes(siteId))) {
    return rejection('not-started', `round ${s.roundId} aggregates securely and ${sa.stage !== 'input' ? `is at its ${sa.stage} stage` : `site ${siteId} did not share its keys`}: no masked input can count`);
  }
  if (acceptedSites(s).includes(siteId)) {
    return rejection('already-uploaded', `site ${siteId} already has an accepted update in round ${s.roundId}`);
  }
  return { action: 'validate' };
}

/**
 * A site reports that it kept its update back (e.g. its generator memorised patient images). The
 * round stops waiting for it, and may close at once if it was the last one pending. A report for
 * a round that is not collecting, from a site not invited or already counted, changes nothing
 * (`recorded` false).
 */
export function recordWithheld(s: RoundState, siteId: string, reason: string, now: number): Transition & { readonly recorded: boolean } {
  if (s.phase !== 'collecting' || !s.sites[siteId] || acceptedSites(s).includes(siteId) || s.withheld?.[siteId]) {
    return { ...advance(s, now), recorded: false };
  }
  const next: RoundState = {
    ...s,
    sites: { ...s.sites, [siteId]: { lastSeenAt: Math.max(now, s.sites[siteId].lastSeenAt) } },
    withheld: { ...(s.withheld ?? {}), [siteId]: { at: now, reason } },
  };
  return { ...advance(next, now), recorded: true };
}

/** The validator's verdict on an upload's content (see aggregation/validator). */
export type ContentVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export interface UploadResult extends Transition {
  readonly outcome: UploadOutcome;
}

/**
 * Records an upload with the validator's verdict on its content, then advances the round (an
 * upload can complete the quorum). Admission is checked again, so a replayed or late upload gets
 * the same answer as checkUpload gave; a replay or an inadmissible upload records nothing. A
 * rejected update is recorded with its reason and the round goes on.
 */
export function recordUpload(
  s: RoundState,
  siteId: string,
  idempotencyKey: string,
  verdict: ContentVerdict,
  now: number,
): UploadResult {
  const admission = checkUpload(s, siteId, idempotencyKey, now);
  if (admission.action !== 'validate') return { ...advance(s, now), outcome: admission.outcome };
  const outcome: UploadOutcome = verdict.ok
    ? { status: 'accepted', late: now > deadlineAt(s) }
    : { status: 'rejected', code: 'invalid-update', reason: verdict.reason };
  const next: RoundState = {
    ...s,
    sites: { ...s.sites, [siteId]: { lastSeenAt: Math.max(now, s.sites[siteId].lastSeenAt) } },
    uploads: { ...s.uploads, [idempotencyKey]: { idempotencyKey, siteId, receivedAt: now, outcome } },
  };
  return { ...advance(next, now), outcome };
}

function close(s: RoundState, now: number, accepted: string[], reason: string): Transition {
  const dropped = pendingSites(s);
  return {
    state: {
      ...s, phase: 'aggregating', closedAt: now, contributors: accepted, reason,
      ...(s.secureAggregation ? { secureAggregation: { ...s.secureAggregation, stage: 'unmask' as const } } : {}),
    },
    decision: { action: 'aggregate', contributors: accepted, dropped, reason },
  };
}

function fail(s: RoundState, now: number, reason: string): Transition {
  return {
    state: { ...s, phase: 'failed', closedAt: s.closedAt ?? now, endedAt: now, reason },
    decision: { action: 'fail', reason },
  };
}

const none = (s: RoundState, nextCheckAt: number | null): Transition => ({ state: s, decision: { action: 'none', nextCheckAt } });

/**
 * Evaluates the round at time `now` and returns what is due: nothing (with the time of the next
 * check), aggregate (collection is closed; the state is now aggregating), or fail (the state is
 * now failed). Idempotent: advancing twice at the same time decides nothing new.
 */
export function advance(s: RoundState, now: number): Transition {
  if (isTerminal(s.phase)) return none(s, null);
  const maxEnd = maxEndAt(s);
  if (s.phase === 'open') {
    if (now >= maxEnd) return fail(s, now, `round never started collecting within its maximum duration of ${s.config.maxDurationMs} ms`);
    return none(s, maxEnd);
  }
  if (s.phase === 'aggregating') {
    if (now >= maxEnd) return fail(s, now, `aggregation did not finish within the round's maximum duration of ${s.config.maxDurationMs} ms`);
    return none(s, maxEnd);
  }

  // collecting
  const { quorum, stragglerPolicy } = s.config;
  const accepted = acceptedSites(s);
  const pending = pendingSites(s);
  const liveness = siteLiveness(s, now);
  const alivePending = pending.filter((id) => liveness[id] === 'alive');
  const deadline = deadlineAt(s);
  const hardLimit = hardLimitAt(s);
  const have = `${accepted.length} of ${Object.keys(s.sites).length} sites uploaded (quorum ${quorum})`;

  if (pending.length === 0 && accepted.length < quorum) {
    return fail(s, now, `every site has answered but the quorum cannot be reached: ${have}, ${Object.keys(s.withheld ?? {}).length} withheld`);
  }
  if (accepted.length >= quorum && alivePending.length === 0) {
    const dead = pending.length ? `; not waiting for dead sites ${pending.join(', ')}` : '';
    return close(s, now, accepted, `every live site has reported: ${have}${dead}`);
  }
  if (now >= hardLimit || now >= maxEnd) {
    if (accepted.length >= quorum) return close(s, now, accepted, `hard limit reached: ${have}`);
    return fail(s, now, `quorum not reached by the hard limit: ${have}`);
  }
  if (now >= deadline) {
    if (stragglerPolicy === 'drop') {
      if (accepted.length >= quorum) return close(s, now, accepted, `deadline reached, stragglers dropped: ${have}`);
      return fail(s, now, `quorum not reached by the deadline: ${have}`);
    }
    if (stragglerPolicy === 'wait' && accepted.length >= quorum) {
      return close(s, now, accepted, `deadline passed with the quorum in: ${have}`);
    }
    // wait without quorum, or accept-late-same-round: keep collecting until the hard limit.
    return none(s, Math.min(hardLimit, nextDeath(s, alivePending, hardLimit)));
  }
  return none(s, Math.min(deadline, nextDeath(s, alivePending, deadline)));
}

/** The earliest time a pending live site turns dead (then the round may close early), capped. */
function nextDeath(s: RoundState, alivePending: readonly string[], cap: number): number {
  let t = cap;
  for (const id of alivePending) t = Math.min(t, s.sites[id].lastSeenAt + s.config.heartbeatTimeoutMs + 1);
  return t;
}

/** aggregating → completed, with the model version the aggregation produced. */
export function completeRound(s: RoundState, modelVersionId: string, now: number): RoundState {
  if (s.phase !== 'aggregating') {
    throw new RoundTransitionError(`round ${s.roundId} is ${s.phase}, not aggregating: cannot complete`);
  }
  return {
    ...s,
    phase: 'completed',
    endedAt: now,
    modelVersionId,
    reason: `aggregated ${s.contributors.length} updates into model version ${modelVersionId}`,
  };
}

/** Any non-terminal state → failed (aggregation error, operator cancel). Failing a failed round is a no-op. */
export function failRound(s: RoundState, reason: string, now: number): RoundState {
  if (s.phase === 'failed') return s;
  if (s.phase === 'completed') throw new RoundTransitionError(`round ${s.roundId} is completed: cannot fail it`);
  return fail(s, now, reason).state;
}
