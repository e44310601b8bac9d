// The round clock after a restart whose first tick meets the database out of reach for a moment:
// the tick is a warning, and the next one still gives every site of the open round the fresh
// heartbeat window a restart owes it (coordinatorRestarted), instead of counting the downtime.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { Logger, type LoggerService } from '@nestjs/common';
import { Prisma } from '../generated/prisma/client';
import { openRound, startCollecting, type RoundDecision, type RoundState } from '../rounds';
import { SerialQueue } from '../common/serial-queue';
import type { CoordinatorConfig } from '../config/coordinator-config';
import type { Leadership } from '../leadership';
import { RoundClock } from './round-clock.service';
import type { RoundDecisions } from './round-decisions.service';
import type { RoundOpener } from './round-opener.service';
import type { RoundsRepository } from './repositories/rounds.repository';
import type { StepsRepository } from './repositories/steps.repository';

afterEach(() => Logger.overrideLogger(false));

test('a first tick that met the database out of reach is a warning, and the next tick still gives the restart its fresh heartbeat windows', async () => {
  const logged: Array<[string, string]> = [];
  const capture = (level: string) => (message: unknown) => void logged.push([level, String(message)]);
  Logger.overrideLogger({ log: capture('log'), warn: capture('warn'), error: capture('error') } as LoggerService);

  // A round collecting from a and b, both last heard of at t = 1; heartbeat timeout 50 ms, deadline far off.
  const config = { quorum: 2, deadlineMs: 100_000, hardLimitMs: 200_000, maxDurationMs: 300_000, heartbeatTimeoutMs: 50, stragglerPolicy: 'drop' as const };
  const state: RoundState = startCollecting(openRound('r1', config, ['a', 'b'], 0), 1).state;
  // The coordinator comes back at t = 500: without the restart's windows both sites are long dead.
  const now = 500;
  let unreachable = 1;
  const steps = {
    active: async () => {
      if (unreachable-- > 0) throw new Prisma.PrismaClientKnownRequestError("Can't reach database server at postgres", { code: 'P1001', clientVersion: 'test' });
      return { index: 0 };
    },
  };
  const persisted: Array<{ state: RoundState; decision: RoundDecision }> = [];
  const rounds = { openOf: async () => ({ id: 'r1', stepIndex: 0, state }) };
  const decisions = { persist: async (_round: unknown, s: RoundState, decision: RoundDecision) => void persisted.push({ state: s, decision }) };
  const queue = new SerialQueue();
  const clock = new RoundClock(
    queue,
    steps as unknown as StepsRepository,
    rounds as unknown as RoundsRepository,
    decisions as unknown as RoundDecisions,
    {} as RoundOpener,
    { tickMs: 3_600_000 } as CoordinatorConfig,
    { now: () => now },
    { isLeader: () => true } as unknown as Leadership,
  );
  try {
    clock.onApplicationBootstrap(); // the first tick, at once
    await queue.idle();
    assert.deepEqual(logged.filter(([level]) => level !== 'log'), [['warn', 'round tick skipped, the next one tries again: the database server cannot be reached; try again (Prisma P1001)']]);
    assert.equal(persisted.length, 0);

    (clock as unknown as { schedule(): void }).schedule(); // the next tick
    await queue.idle();
    assert.equal(persisted.length, 1, 'the restart is applied and saved');
    assert.deepEqual(persisted[0]!.state.sites, { a: { lastSeenAt: 500 }, b: { lastSeenAt: 500 } }, 'every site gets a fresh window from the restart');
    assert.equal(persisted[0]!.decision.action, 'none', 'the round waits for its sites');
  } finally {
    await clock.onApplicationShutdown();
  }
});
