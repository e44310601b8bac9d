// The round clock resuming an open round: after a restart whose first tick meets the database out
// of reach for a moment, and after a spell as a standby, every site of the round gets the fresh
// heartbeat window a coordinator that could not hear them owes them (coordinatorRestarted), instead
// of having that time counted against it.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { Logger } from '@nestjs/common';
import { captureLogs, unreachableDatabase } from '../testing/database-outage';
import { openRound, startCollecting, type RoundDecision, type RoundState } from '../rounds';
import { SerialQueue } from '../common/serial-queue';
import type { CoordinatorConfig } from '../config/coordinator-config';
import type { Leadership } from '../leadership';
import { RoundClock } from './round-clock.service';
import type { RoundDecisions } from './round-decisions.service';
import type { RoundOpener } from './round-opener.service';
import type { RoundsRepository } from './repositories/rounds.repository';
import type { StepsRepository } from './repositories/steps.repository';

// Ends a test's capture (captureLogs); Nest then logs nothing for the rest of this file's process.
afterEach(() => Logger.overrideLogger(false));

/**
 * A clock over one collecting round of sites a and b (last heard of at t = 1; heartbeat timeout 50
 * ms, deadlines far off), its repositories faked: `unreachable` first reads of the active step fail
 * as a database out of reach does; what the clock persists becomes the round's state.
 */
function clockOverOneRound(o: { unreachable?: number } = {}) {
  const config = { quorum: 2, deadlineMs: 100_000, hardLimitMs: 200_000, maxDurationMs: 300_000, heartbeatTimeoutMs: 50, stragglerPolicy: 'drop' as const };
  let state: RoundState = startCollecting(openRound('r1', config, ['a', 'b'], 0), 1).state;
  let unreachable = o.unreachable ?? 0;
  const at = { now: 0, leader: true };
  const persisted: Array<{ state: RoundState; decision: RoundDecision }> = [];
  const steps = {
    active: async () => {
      if (unreachable-- > 0) throw unreachableDatabase();
      return { index: 0 };
    },
  };
  const rounds = { openOf: async () => ({ id: 'r1', stepIndex: 0, state }) };
  const decisions = {
    persist: async (_round: unknown, s: RoundState, decision: RoundDecision) => {
      persisted.push({ state: s, decision });
      state = s;
    },
  };
  const queue = new SerialQueue();
  const clock = new RoundClock(
    queue,
    steps as unknown as StepsRepository,
    rounds as unknown as RoundsRepository,
    decisions as unknown as RoundDecisions,
    {} as RoundOpener,
    { tickMs: 3_600_000 } as CoordinatorConfig, // no tick by itself but the first: the test ticks
    { now: () => at.now },
    { isLeader: () => at.leader } as unknown as Leadership,
  );
  const tick = async () => {
    (clock as unknown as { schedule(): void }).schedule();
    await queue.idle();
  };
  return { clock, at, persisted, tick, start: async () => (clock.onApplicationBootstrap(), await queue.idle()) };
}

test('a first tick that met the database out of reach is a warning, and the next tick still gives the restart its fresh heartbeat windows', async () => {
  const logged = captureLogs();
  const c = clockOverOneRound({ unreachable: 1 });
  c.at.now = 500; // back at t = 500: without the restart's windows both sites are long dead
  try {
    await c.start();
    assert.deepEqual(logged.filter(([level]) => level !== 'log'), [['warn', 'round tick skipped, the next one tries again: the database server cannot be reached; try again (Prisma P1001)']]);
    assert.equal(c.persisted.length, 0);
    await c.tick();
    assert.equal(c.persisted.length, 1, 'the restart is applied and saved');
    assert.deepEqual(c.persisted[0]!.state.sites, { a: { lastSeenAt: 500 }, b: { lastSeenAt: 500 } }, 'every site gets a fresh window from the restart');
    assert.equal(c.persisted[0]!.decision.action, 'none', 'the round waits for its sites');
  } finally {
    await c.clock.onApplicationShutdown();
  }
});

test('a coordinator that leads again after a spell as a standby gives every site a fresh window: their silence meanwhile counts against none', async () => {
  const c = clockOverOneRound();
  try {
    await c.start(); // t = 0: leads, resumes the round (windows from now)
    assert.equal(c.persisted.length, 1);
    c.at.leader = false; // loses the lease: it answers no site, hears no heartbeat
    c.at.now = 400;
    await c.tick();
    assert.equal(c.persisted.length, 1, 'a standby does not touch the round');
    c.at.leader = true;
    c.at.now = 500;
    await c.tick();
    assert.equal(c.persisted.length, 2);
    assert.deepEqual(c.persisted[1]!.state.sites, { a: { lastSeenAt: 500 }, b: { lastSeenAt: 500 } }, 'fresh windows from when it leads again');
    assert.equal(c.persisted[1]!.decision.action, 'none', 'the round waits for its sites');
  } finally {
    await c.clock.onApplicationShutdown();
  }
});
