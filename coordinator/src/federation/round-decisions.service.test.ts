// A round whose aggregation meets the database out of reach for a moment stays aggregating, and
// the clock's next tick carries it out, instead of failing the round and losing every update it
// collected; any other failure, or the database still gone at the round's maximum duration, fails it.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { Logger } from '@nestjs/common';
import { captureLogs, unreachableDatabase } from '../testing/database-outage';
import { openRound, recordUpload, startCollecting, type RoundState } from '../rounds';
import type { DatabaseService } from '../database/database.service';
import type { AuditService } from '../audit/audit.service';
import type { ModelVersionsService } from '../models/model-versions.service';
import type { MetricsService } from '../operations/metrics.service';
import type { AggregationStates } from './aggregation-states';
import type { GlobalModels } from './global-models';
import type { ProgressHub } from './progress-hub';
import type { RoundAggregator } from './round-aggregator.service';
import type { RoundOpener } from './round-opener.service';
import type { RoundRecord, RoundsRepository } from './repositories/rounds.repository';
import type { StepsRepository } from './repositories/steps.repository';
import { RoundDecisions } from './round-decisions.service';

// Ends a test's capture (captureLogs); Nest then logs nothing for the rest of this file's process.
afterEach(() => Logger.overrideLogger(false));

/** Decisions over one segmenter round whose collection closed with sites a and b (maximum duration
 * 300 s from t = 0); the aggregator's first `failures` calls throw what `failure` makes. */
function decisionsOverOneRound(o: { failures: number; failure: () => Error }) {
  const config = { quorum: 2, deadlineMs: 100_000, hardLimitMs: 200_000, maxDurationMs: 300_000, heartbeatTimeoutMs: 50_000, stragglerPolicy: 'drop' as const };
  const collecting = startCollecting(openRound('r1', config, ['a', 'b'], 0), 1).state;
  const state: RoundState = recordUpload(recordUpload(collecting, 'a', 'ka', { ok: true }, 2).state, 'b', 'kb', { ok: true }, 3).state;
  assert.equal(state.phase, 'aggregating', 'both updates in: collection closed');
  const round = { id: 'r1', stepIndex: 0, kind: 'segmenter', status: 'aggregating', state, config: {}, baseVersionId: 'v0' } as unknown as RoundRecord;
  const at = { now: 1_000 };
  const done = { completed: [] as string[], failed: [] as string[], opened: 0, aggregations: 0 };
  let failures = o.failures;
  const tx = {};
  const decisions = new RoundDecisions(
    { roundTransaction: async (fn: (t: unknown) => Promise<unknown>) => fn(tx) } as unknown as DatabaseService,
    {
      complete: async (_tx: unknown, id: string) => void done.completed.push(id),
      fail: async (_tx: unknown, id: string, _s: unknown, reason: string) => void done.failed.push(`${id}: ${reason}`),
      saveConfig: async () => undefined,
    } as unknown as RoundsRepository,
    { byIndex: async () => ({ index: 0, config: { numClasses: 3, segmenter: {}, generator: {}, training: {} } }) } as unknown as StepsRepository,
    { record: async () => undefined } as unknown as AuditService,
    { storeContent: async () => ({}), record: async () => ({ id: 'v1' }) } as unknown as ModelVersionsService,
    { set: async () => undefined } as unknown as GlobalModels,
    { save: async () => undefined } as unknown as AggregationStates,
    {
      aggregate: async () => {
        done.aggregations++;
        if (failures-- > 0) throw o.failure();
        return { content: {}, serverState: undefined, note: 'fedavg of 2' };
      },
    } as unknown as RoundAggregator,
    { openNext: async () => void done.opened++ } as unknown as RoundOpener,
    { publish: () => undefined } as unknown as ProgressHub,
    { aggregationTimer: () => () => undefined } as unknown as MetricsService,
    { now: () => at.now },
  );
  const carryOut = () => decisions.carryOut(round, { action: 'aggregate', contributors: ['a', 'b'], dropped: [], reason: 'quorum' });
  return { carryOut, at, done };
}

test('an aggregation that met the database out of reach leaves the round aggregating; carried out again, it completes with its updates', async () => {
  const logged = captureLogs();
  const d = decisionsOverOneRound({ failures: 1, failure: unreachableDatabase });
  await d.carryOut();
  assert.deepEqual(d.done, { completed: [], failed: [], opened: 0, aggregations: 1 }, 'neither failed nor completed: still aggregating');
  assert.deepEqual(logged.filter(([level]) => level !== 'log'), [['warn', 'aggregation of round r1 met the database out of reach, the next tick tries again: the database server cannot be reached; try again (Prisma P1001)']]);
  await d.carryOut(); // what the round clock's next tick does with an aggregating round
  assert.deepEqual(d.done, { completed: ['r1'], failed: [], opened: 1, aggregations: 2 });
});

test('an aggregation that failed otherwise, or met the database out of reach past the round\'s maximum duration, fails the round', async () => {
  captureLogs();
  const bug = decisionsOverOneRound({ failures: 1, failure: () => new Error('weights of different shapes') });
  await bug.carryOut();
  assert.deepEqual(bug.done.failed, ['r1: aggregation failed: weights of different shapes']);
  assert.equal(bug.done.opened, 1, 'the next round opens');
  const late = decisionsOverOneRound({ failures: 1, failure: unreachableDatabase });
  late.at.now = 300_000; // the round opened at 0 with a maximum duration of 300 s
  await late.carryOut();
  assert.equal(late.done.failed.length, 1);
  assert.match(late.done.failed[0], /^r1: aggregation failed: .*Can't reach database server/);
});
