// Heartbeats of many sites cost one write of the round's state per turn of the serial queue, not
// one each (checked with the real queue and round-state functions; the repositories are stubs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openRound, startCollecting, type RoundState } from '../rounds';
import { SerialQueue } from '../common/serial-queue';
import { SiteEvents } from './site-events.service';

test('heartbeats arriving while the queue is busy are written together, each site at most every quarter timeout', async () => {
  const sites = Array.from({ length: 50 }, (_, i) => `site-${i}`);
  let now = 1_000;
  let state: RoundState = startCollecting(
    openRound('r1', { quorum: 50, deadlineMs: 600_000, hardLimitMs: 700_000, maxDurationMs: 800_000, heartbeatTimeoutMs: 30_000, stragglerPolicy: 'drop' }, sites, 0),
    1,
  ).state;
  const saves: RoundState[] = [];
  const queue = new SerialQueue();
  const events = new SiteEvents(
    queue,
    { active: async () => ({ index: 0 }) } as never,
    {
      openOf: async () => ({ id: 'r1', state }),
      saveState: async (_id: string, next: RoundState) => void (saves.push(next), (state = next)),
    } as never,
    {} as never, {} as never, {} as never, {} as never,
    { now: () => now },
    { rounds: { heartbeatTimeoutSeconds: 30 } } as never,
  );
  let release!: () => void;
  const busy = new Promise<void>((r) => (release = r));
  void queue.run(() => busy); // the queue busy with something else
  const beats = sites.map((s) => events.heartbeat(s));
  release();
  await Promise.all(beats);
  assert.equal(saves.length, 1, 'one write for the 50 heartbeats');
  for (const s of sites) assert.equal(state.sites[s]!.lastSeenAt, 1_000);
  // Within a quarter of the timeout a site's heartbeat is not written again; after it, it is.
  now += 7_000;
  await events.heartbeat('site-0');
  assert.equal(saves.length, 1);
  now += 1_000;
  await Promise.all([events.heartbeat('site-0'), events.heartbeat('site-1')]);
  assert.equal(saves.length, 2);
  assert.equal(state.sites['site-0']!.lastSeenAt, 9_000);
  assert.equal(state.sites['site-2']!.lastSeenAt, 1_000);
});
