import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  advance,
  checkUpload,
  completeRound,
  coordinatorRestarted,
  failRound,
  openRound,
  recordHeartbeat,
  recordUpload,
  recordWithheld,
  RoundConfigError,
  RoundTransitionError,
  siteLiveness,
  startCollecting,
  type RoundConfig,
  type RoundState,
  type StragglerPolicy,
} from './round-state';

// Times in ms from t = 0 (opened). Deadline 100, hard limit 200, max duration 300, heartbeat timeout 50.
const config = (policy: StragglerPolicy, quorum = 2): RoundConfig => ({
  quorum,
  deadlineMs: 100,
  hardLimitMs: 200,
  maxDurationMs: 300,
  heartbeatTimeoutMs: 50,
  stragglerPolicy: policy,
});
const OK = { ok: true } as const;

function started(policy: StragglerPolicy, quorum = 2, sites = ['a', 'b', 'c']): RoundState {
  return startCollecting(openRound('r1', config(policy, quorum), sites, 0), 1).state;
}

/** Keeps every site alive up to time t with heartbeats every 40 ms (under the 50 ms timeout). */
function heartbeats(s: RoundState, sites: string[], until: number, from = 0): RoundState {
  for (let t = from; t <= until; t += 40) for (const id of sites) s = recordHeartbeat(s, id, t);
  return s;
}

function upload(s: RoundState, site: string, now: number, key = `${site}-key`, verdict: { ok: true } | { ok: false; reason: string } = OK) {
  return recordUpload(s, site, key, verdict, now);
}

describe('round state machine', () => {
  it('validates its config', () => {
    assert.throws(() => openRound('r', config('drop', 4), ['a', 'b', 'c'], 0), /quorum 4 exceeds the 3 invited sites/);
    assert.throws(() => openRound('r', { ...config('drop'), hardLimitMs: 50 }, ['a', 'b'], 0), RoundConfigError);
    assert.throws(() => openRound('r', { ...config('drop'), maxDurationMs: 200 }, ['a', 'b'], 0), /leaves no time to aggregate/);
    assert.throws(() => openRound('r', { ...config('drop'), quorum: 0 }, ['a', 'b'], 0), /positive integer/);
  });

  it('open → collecting → aggregating → completed when every site uploads', () => {
    let s = openRound('r1', config('drop'), ['a', 'b', 'c', 'a'], 0);
    assert.equal(s.phase, 'open');
    assert.deepEqual(Object.keys(s.sites), ['a', 'b', 'c']);
    assert.equal(checkUpload(s, 'a', 'k', 0).action, 'reject', 'not started yet');
    const t = startCollecting(s, 1);
    assert.deepEqual(t.decision, { action: 'none', nextCheckAt: 51 }, 'next check: when a silent site would die');
    s = t.state;
    assert.equal(s.phase, 'collecting');
    assert.equal(upload(s, 'a', 10).decision.action, 'none');
    s = upload(s, 'a', 10).state;
    s = upload(s, 'b', 20).state;
    assert.equal(s.phase, 'collecting', 'quorum reached, c still alive: wait');
    const last = upload(s, 'c', 30);
    assert.deepEqual(last.outcome, { status: 'accepted', late: false });
    assert.equal(last.decision.action, 'aggregate');
    assert.deepEqual(last.decision.action === 'aggregate' && [last.decision.contributors, last.decision.dropped], [['a', 'b', 'c'], []]);
    s = last.state;
    assert.equal(s.phase, 'aggregating');
    assert.equal(s.closedAt, 30);
    s = completeRound(s, 'mv-7', 40);
    assert.deepEqual([s.phase, s.modelVersionId, s.endedAt], ['completed', 'mv-7', 40]);
    assert.match(s.reason!, /aggregated 3 updates into model version mv-7/);
    assert.deepEqual(advance(s, 10_000).decision, { action: 'none', nextCheckAt: null }, 'terminal states stay put');
    assert.throws(() => startCollecting(s, 50), RoundTransitionError);
    assert.throws(() => failRound(s, 'x', 50), RoundTransitionError);
  });

  it('never mutates the state it is given', () => {
    const s = started('drop');
    const before = JSON.stringify(s);
    upload(s, 'a', 10);
    recordHeartbeat(s, 'b', 20);
    advance(s, 150);
    assert.equal(JSON.stringify(s), before);
  });

  describe('quorum and deadline', () => {
    it('drop: aggregates the quorum at the deadline and drops the straggler', () => {
      let s = heartbeats(started('drop'), ['a', 'b', 'c'], 99);
      s = upload(s, 'a', 10).state;
      s = upload(s, 'b', 20).state;
      assert.equal(advance(s, 99).decision.action, 'none');
      const t = advance(s, 100);
      assert.equal(t.decision.action, 'aggregate');
      assert.deepEqual(t.decision.action === 'aggregate' && t.decision.dropped, ['c']);
      assert.match(t.state.reason!, /deadline reached, stragglers dropped: 2 of 3 sites uploaded/);
    });

    it('drop: fails at the deadline without quorum', () => {
      let s = heartbeats(started('drop'), ['a', 'b', 'c'], 99);
      s = upload(s, 'a', 10).state;
      const t = advance(s, 100);
      assert.deepEqual(t.decision, { action: 'fail', reason: 'quorum not reached by the deadline: 1 of 3 sites uploaded (quorum 2)' });
      assert.deepEqual([t.state.phase, t.state.endedAt], ['failed', 100]);
    });

    it('wait: past the deadline, aggregates as soon as the quorum arrives', () => {
      let s = heartbeats(started('wait'), ['a', 'b', 'c'], 160);
      s = upload(s, 'a', 10).state;
      const atDeadline = advance(s, 100);
      assert.deepEqual(atDeadline.decision, { action: 'none', nextCheckAt: 200 }, 'waits; next check at the hard limit (b and c alive until 211)');
      const late = upload(atDeadline.state, 'b', 150);
      assert.deepEqual(late.outcome, { status: 'accepted', late: true });
      assert.equal(late.decision.action, 'aggregate');
      assert.deepEqual(late.state.contributors, ['a', 'b']);
    });

    it('wait: fails at the hard limit without quorum', () => {
      let s = heartbeats(started('wait'), ['a', 'b', 'c'], 199);
      s = upload(s, 'a', 10).state;
      assert.equal(advance(s, 199).decision.action, 'none');
      const t = advance(s, 200);
      assert.equal(t.decision.action, 'fail');
      assert.match(t.state.reason!, /quorum not reached by the hard limit/);
    });

    it('accept-late-same-round: late updates count for this round until the hard limit', () => {
      let s = heartbeats(started('accept-late-same-round'), ['a', 'b', 'c'], 199);
      s = upload(s, 'a', 10).state;
      s = upload(s, 'b', 20).state;
      assert.equal(advance(s, 120).decision.action, 'none', 'quorum in, but c is alive: keep collecting past the deadline');
      const late = upload(s, 'c', 150);
      assert.deepEqual(late.outcome, { status: 'accepted', late: true });
      assert.equal(late.decision.action, 'aggregate');
      assert.deepEqual(late.state.contributors, ['a', 'b', 'c']);
    });

    it('accept-late-same-round: closes at the hard limit with whoever is in', () => {
      let s = heartbeats(started('accept-late-same-round'), ['a', 'b', 'c'], 200);
      s = upload(s, 'a', 10).state;
      s = upload(s, 'b', 120).state;
      const t = advance(s, 200);
      assert.equal(t.decision.action, 'aggregate');
      assert.match(t.state.reason!, /hard limit reached: 2 of 3/);
      assert.equal(checkUpload(t.state, 'c', 'c-key', 201).action, 'reject');
    });
  });

  describe('heartbeats and dead sites', () => {
    it('a site not heard from within the timeout is dead; a heartbeat revives it', () => {
      let s = started('drop');
      s = recordHeartbeat(s, 'a', 40);
      assert.deepEqual(siteLiveness(s, 50), { a: 'alive', b: 'alive', c: 'alive' });
      assert.deepEqual(siteLiveness(s, 51), { a: 'alive', b: 'dead', c: 'dead' });
      s = recordHeartbeat(s, 'b', 60);
      assert.deepEqual(siteLiveness(s, 61), { a: 'alive', b: 'alive', c: 'dead' });
      assert.equal(recordHeartbeat(s, 'stranger', 70), s, 'unknown sites are ignored');
      assert.equal(recordHeartbeat(s, 'a', 30), s, 'an older heartbeat changes nothing');
    });

    it('does not wait for dead sites once the quorum is in', () => {
      let s = started('drop');
      s = upload(s, 'a', 10).state;
      s = upload(s, 'b', 20).state; // c silent since 0
      const beforeDeath = advance(s, 50);
      assert.deepEqual(beforeDeath.decision, { action: 'none', nextCheckAt: 51 }, 'next check when c dies');
      const t = advance(s, 51);
      assert.equal(t.decision.action, 'aggregate');
      assert.match(t.state.reason!, /every live site has reported.*not waiting for dead sites c/);
    });

    it('a coordinator restart gives every site a fresh heartbeat window: its downtime counts against none', () => {
      let s = started('drop');
      s = upload(s, 'a', 10).state; // b is mid-upload when the coordinator goes down at 20 and comes back at 80
      const resumed = coordinatorRestarted(s, 80);
      assert.deepEqual(siteLiveness(s, 80), { a: 'dead', b: 'dead', c: 'dead' }, 'without it: all declared dead for the downtime');
      assert.deepEqual(siteLiveness(resumed, 130), { a: 'alive', b: 'alive', c: 'alive' });
      assert.deepEqual(siteLiveness(resumed, 131), { a: 'dead', b: 'dead', c: 'dead' }, 'the window is one timeout long');
      assert.equal(advance(resumed, 90).decision.action, 'none', 'the round waits for b instead of closing on a alone');
      assert.equal(upload(resumed, 'b', 95).decision.action, 'none', 'b resumes and counts; c still has until its window ends');
      const failed = failRound(s, 'x', 30);
      assert.equal(coordinatorRestarted(failed, 80), failed, 'a finished round is left alone');
    });

    it('a dead site below quorum is waited for until the deadline, and may revive', () => {
      let s = started('drop', 2, ['a', 'b']);
      s = upload(s, 'a', 10).state;
      assert.equal(advance(s, 70).decision.action, 'none', 'b is dead but the quorum needs it');
      s = recordHeartbeat(s, 'b', 80);
      const t = upload(s, 'b', 90);
      assert.equal(t.decision.action, 'aggregate');
    });
  });

  describe('uploads', () => {
    it('a duplicate upload (same idempotency key) gets the same result, before and after closing', () => {
      let s = started('drop');
      const first = upload(s, 'a', 10, 'k1');
      s = first.state;
      const again = upload(s, 'a', 11, 'k1');
      assert.deepEqual(again.outcome, first.outcome);
      assert.equal(Object.keys(again.state.uploads).length, 1, 'recorded once');
      assert.deepEqual(checkUpload(s, 'a', 'k1', 12), { action: 'replay', outcome: { status: 'accepted', late: false } });
      s = upload(s, 'b', 20).state;
      s = upload(s, 'c', 30).state;
      assert.equal(s.phase, 'aggregating');
      assert.deepEqual(upload(s, 'a', 500, 'k1').outcome, first.outcome, 'replayed even after the round closed');
      assert.equal(checkUpload(s, 'b', 'k1', 13).action, 'reject', 'a key belongs to one site');
    });

    it('a second, different update from a site that already counts is rejected', () => {
      const s = upload(started('drop'), 'a', 10, 'k1').state;
      const t = upload(s, 'a', 20, 'k2');
      assert.deepEqual(t.outcome.status === 'rejected' && t.outcome.code, 'already-uploaded');
    });

    it('an invalid update is recorded with its reason, the round goes on, and the site may retry', () => {
      let s = started('drop');
      const bad = upload(s, 'a', 10, 'k1', { ok: false, reason: "tensor 'w' has a non-finite value" });
      assert.deepEqual(bad.outcome, { status: 'rejected', code: 'invalid-update', reason: "tensor 'w' has a non-finite value" });
      s = bad.state;
      assert.equal(s.phase, 'collecting');
      assert.deepEqual(upload(s, 'a', 11, 'k1').outcome, bad.outcome, 'same key, same rejection');
      s = upload(s, 'a', 20, 'k2').state;
      s = upload(s, 'b', 30).state;
      s = upload(s, 'c', 40).state;
      assert.deepEqual(s.contributors, ['a', 'b', 'c']);
    });

    it('late uploads for a closed round, or past the deadline under drop, are rejected with a reason', () => {
      let s = heartbeats(started('drop'), ['a', 'b', 'c'], 99);
      s = upload(s, 'a', 10).state;
      s = upload(s, 'b', 20).state;
      const lateBeforeAdvance = upload(s, 'c', 100);
      assert.equal(lateBeforeAdvance.outcome.status === 'rejected' && lateBeforeAdvance.outcome.code, 'late');
      assert.match(lateBeforeAdvance.outcome.status === 'rejected' ? lateBeforeAdvance.outcome.reason : '', /past its deadline/);
      assert.equal(lateBeforeAdvance.decision.action, 'aggregate', 'the late upload also lets the round close');
      const closed = lateBeforeAdvance.state;
      const after = upload(closed, 'c', 130, 'c-key-2');
      assert.equal(after.outcome.status === 'rejected' && after.outcome.code, 'round-closed');
      assert.match(after.outcome.status === 'rejected' ? after.outcome.reason : '', /round r1 is closed \(aggregating: deadline reached/);
      assert.equal(checkUpload(closed, 'zed', 'z', 130).action, 'reject');
      assert.equal(Object.keys(after.state.uploads).length, 2);
    });
  });

  describe('every round ends', () => {
    it('fails a round that never starts collecting, at the max duration', () => {
      const s = openRound('r1', config('wait'), ['a', 'b'], 0);
      assert.deepEqual(advance(s, 299).decision, { action: 'none', nextCheckAt: 300 });
      assert.equal(advance(s, 300).state.phase, 'failed');
    });

    it('fails an aggregation that does not finish by the max duration', () => {
      let s = started('drop', 1, ['a']);
      s = upload(s, 'a', 10).state;
      assert.equal(s.phase, 'aggregating');
      assert.deepEqual(advance(s, 299).decision, { action: 'none', nextCheckAt: 300 });
      const t = advance(s, 300);
      assert.equal(t.decision.action, 'fail');
      assert.match(t.state.reason!, /aggregation did not finish/);
      assert.throws(() => completeRound(t.state, 'mv', 301), RoundTransitionError);
    });

    it('an aggregation error fails the round with its reason', () => {
      let s = started('drop', 1, ['a']);
      s = upload(s, 'a', 10).state;
      s = failRound(s, "aggregation: tensor 'w' has shape [3] but the global model's is [2]", 20);
      assert.deepEqual([s.phase, s.endedAt], ['failed', 20]);
      assert.equal(failRound(s, 'again', 30), s);
    });

    it('under every policy, a round with silent sites is terminal by the hard limit', () => {
      for (const policy of ['wait', 'drop', 'accept-late-same-round'] as const) {
        let t = { state: started(policy), decision: { action: 'none', nextCheckAt: 1 } } as ReturnType<typeof advance>;
        // Follow the machine's own nextCheckAt, as the service's timer would.
        for (let i = 0; i < 10 && t.decision.action === 'none' && t.decision.nextCheckAt !== null; i++) {
          t = advance(t.state, t.decision.nextCheckAt);
        }
        assert.equal(t.state.phase, 'failed', policy);
        assert.ok(t.state.endedAt! <= 200, `${policy} ended at ${t.state.endedAt}`);
      }
    });

    it('state survives a JSON round trip (persisted, restarted, advanced)', () => {
      let s = started('accept-late-same-round');
      s = upload(s, 'a', 10).state;
      const restored = JSON.parse(JSON.stringify(s)) as RoundState;
      assert.deepEqual(restored, s);
      assert.deepEqual(advance(restored, 60), advance(s, 60));
    });
  });

  it('a withheld update (memorisation gate): the round stops waiting for that site and aggregates the others', () => {
    let s = heartbeats(started('wait', 2), ['a', 'b', 'c'], 40);
    s = upload(s, 'a', 41).state;
    s = upload(s, 'b', 42).state;
    assert.equal(advance(s, 43).decision.action, 'none', 'c is alive and pending: wait for it');
    const w = recordWithheld(s, 'c', 'generator memorised an image', 44);
    assert.equal(w.recorded, true);
    assert.equal(w.decision.action, 'aggregate', 'nothing left pending: aggregate a and b now, not at the deadline');
    assert.deepEqual(w.state.contributors, ['a', 'b']);
    assert.deepEqual(Object.keys(w.state.withheld ?? {}), ['c']);
    // A second report, or one from a site not invited, changes nothing.
    assert.equal(recordWithheld(w.state, 'c', 'again', 45).recorded, false);
    assert.equal(recordWithheld(s, 'zz', 'stranger', 45).recorded, false);
    assert.equal(recordWithheld(s, 'a', 'already counted', 45).recorded, false);
  });

  it('fails at once when every site has answered but withheld updates leave the quorum out of reach', () => {
    let s = started('wait', 2, ['a', 'b']);
    s = upload(s, 'a', 10).state;
    const w = recordWithheld(s, 'b', 'memorised', 11);
    assert.equal(w.decision.action, 'fail');
    assert.match(w.state.reason ?? '', /quorum cannot be reached: 1 of 2 sites uploaded \(quorum 2\), 1 withheld/);
  });

  it('states persisted before the gate existed (no withheld field) still advance', () => {
    const old = started('drop', 1, ['a']);
    const { withheld: _, ...legacy } = old;
    assert.equal(upload(legacy as RoundState, 'a', 5).decision.action, 'aggregate');
  });
});
