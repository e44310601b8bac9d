import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { advance, checkUpload, openRound, recordUpload, startCollecting, type RoundState } from './round-state';
import { advanceSecAgg, recordSecAgg, secureRound } from './secagg-state';

// Deadline 100 ms (stage limits: advertise 25, share 50), heartbeat timeout 1000 (everyone alive).
const config = { quorum: 2, deadlineMs: 100, hardLimitMs: 200, maxDurationMs: 300, heartbeatTimeoutMs: 1000, stragglerPolicy: 'drop' as const };
const fresh = (): RoundState => secureRound(startCollecting(openRound('r', config, ['a', 'b', 'c'], 0), 0).state, 2, 0);
const step = (s: RoundState, site: string, event: 'advertise' | 'share' | 'reveal', now: number): RoundState => {
  const r = recordSecAgg(s, site, event, now);
  assert.ok(r.recorded, r.recorded ? '' : r.reason);
  return advanceSecAgg(r.state, now);
};

describe('secure aggregation stages of a round', () => {
  it('advertise → share → input → unmask, each stage ending once every live site has done it', () => {
    let s = fresh();
    assert.equal(s.secureAggregation!.neighbours, 2, '0 neighbours: every other site');
    assert.equal(checkUpload(s, 'a', 'k-a', 1).action, 'reject', 'no upload before the masked-input stage');
    s = step(s, 'a', 'advertise', 1);
    s = step(s, 'b', 'advertise', 2);
    assert.equal(s.secureAggregation!.stage, 'advertise', 'c is alive: wait for it');
    assert.match((recordSecAgg(s, 'a', 'share', 3) as { reason: string }).reason, /stage advertise, not share/);
    s = step(s, 'c', 'advertise', 3);
    assert.equal(s.secureAggregation!.stage, 'share');
    s = step(s, 'a', 'share', 4);
    s = step(s, 'b', 'share', 5);
    s = step(s, 'c', 'share', 6);
    assert.equal(s.secureAggregation!.stage, 'input');
    assert.equal(checkUpload(s, 'a', 'k-a', 7).action, 'validate');
    s = recordUpload(s, 'a', 'k-a', { ok: true }, 7).state;
    s = recordUpload(s, 'b', 'k-b', { ok: true }, 8).state;
    const closed = recordUpload(s, 'c', 'k-c', { ok: true }, 9);
    assert.equal(closed.decision.action, 'aggregate');
    assert.equal(closed.state.secureAggregation!.stage, 'unmask');
    s = step(closed.state, 'a', 'reveal', 10);
    assert.deepEqual(s.secureAggregation!.revealed, ['a']);
    const again = recordSecAgg(s, 'a', 'reveal', 11);
    assert.ok(!again.recorded && again.duplicate, 'a retried reveal is a duplicate, not an error');
    assert.equal(again.state, s);
  });

  it('a site that misses the key stages is left out at the time limit and marked withheld; it cannot upload', () => {
    let s = fresh();
    s = step(s, 'a', 'advertise', 1);
    s = step(s, 'b', 'advertise', 2);
    s = advanceSecAgg(s, 24);
    assert.equal(s.secureAggregation!.stage, 'advertise');
    s = advanceSecAgg(s, 25);
    assert.equal(s.secureAggregation!.stage, 'share', 'a quarter of the deadline, with the threshold of 2 advertised');
    assert.match((recordSecAgg(s, 'c', 'share', 26) as { reason: string }).reason, /stage share, not advertise|did not advertise/);
    s = step(s, 'a', 'share', 27);
    s = step(s, 'b', 'share', 28);
    assert.equal(s.secureAggregation!.stage, 'input');
    assert.match(s.withheld!.c.reason, /did not complete the key exchange/);
    const refused = checkUpload(s, 'c', 'k-c', 29);
    assert.equal(refused.action, 'reject');
  });

  it('below the threshold the stage does not move on (the round then fails by its quorum at the deadline)', () => {
    let s = fresh();
    s = step(s, 'a', 'advertise', 1);
    s = advanceSecAgg(s, 60);
    assert.equal(s.secureAggregation!.stage, 'advertise');
  });

  it('only contributors reveal', () => {
    let s = fresh();
    for (const id of ['a', 'b', 'c']) s = step(s, id, 'advertise', 1);
    for (const id of ['a', 'b', 'c']) s = step(s, id, 'share', 2);
    s = recordUpload(s, 'a', 'k-a', { ok: true }, 3).state;
    s = recordUpload(s, 'b', 'k-b', { ok: true }, 4).state;
    s = recordUpload(s, 'c', 'k-c', { ok: false, reason: 'bad length' }, 5).state;
    assert.equal(s.phase, 'collecting', 'c may send a correct one until the deadline');
    s = advance(s, 100).state;
    assert.equal(s.phase, 'aggregating');
    assert.deepEqual(s.contributors, ['a', 'b']);
    assert.match((recordSecAgg(s, 'c', 'reveal', 6) as { reason: string }).reason, /not in the sum/);
  });
});
