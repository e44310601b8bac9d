// GetTask's long poll (task-hold.ts) against a real event stream (rxjs Subject, as ProgressHub's):
// what ends a hold, what does not, and how long a call may be held.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Subject } from 'rxjs';
import { TaskKind, type Task } from '@fedciss/proto';
import type { FederationEvent } from './progress-hub';
import { holdBudgetMs, holdWhileWaiting, TASK_HOLD_DEADLINE_MARGIN_MS, TASK_HOLD_MAX_MS, TASK_HOLD_RETRY_MS, type TaskDecision } from './task-hold';

const WAIT = { kind: TaskKind.TASK_KIND_WAIT, retryAfterMs: 2000, message: 'waiting for the others' } as Task;
const TRAIN = { kind: TaskKind.TASK_KIND_TRAIN_SEGMENTER, retryAfterMs: 0, roundId: 'r0-seg-1' } as Task;
const ROUND_OPENED: FederationEvent = { type: 'round', roundId: 'r0-seg-1', status: 'collecting', reason: null };

/** decide() answering from `answers` in turn (the last one from then on), counting its calls. */
function decisions(...answers: TaskDecision[]) {
  let calls = 0;
  return { decide: async () => answers[Math.min(calls++, answers.length - 1)], calls: () => calls };
}
const tick = () => new Promise((r) => setTimeout(r, 20));

test('a wait is held until a round changes, then the new task is the answer', async () => {
  const events = new Subject<FederationEvent>();
  const d = decisions({ task: WAIT, wakesOnRounds: true }, { task: TRAIN, wakesOnRounds: true });
  let answer: Task | undefined;
  const held = holdWhileWaiting(d.decide, events, 10_000, new AbortController().signal).then((t) => (answer = t));
  await tick();
  events.next({ type: 'progress', progress: { siteId: 'b', roundId: 'r0-seg-0', phase: 'train', fraction: 0.5, metrics: {}, message: '', at: '' } });
  await tick();
  assert.equal(answer, undefined, 'still held: another site\'s progress changes nothing');
  assert.equal(d.calls(), 1, 'progress does not make it decide again');
  events.next(ROUND_OPENED);
  await held;
  assert.equal(answer, TRAIN);
  assert.equal(d.calls(), 2);
});

test('a change while deciding is not missed: it decides again at once', async () => {
  const events = new Subject<FederationEvent>();
  let calls = 0;
  const decide = async (): Promise<TaskDecision> => {
    calls++;
    if (calls === 1) events.next(ROUND_OPENED); // the round opens between the first decision and the wait
    return { task: calls === 1 ? WAIT : TRAIN, wakesOnRounds: true };
  };
  assert.equal(await holdWhileWaiting(decide, events, 10_000, new AbortController().signal), TRAIN);
});

test('a wait that outlasts the hold is answered at its end, saying to ask again at once', async () => {
  const started = Date.now();
  const task = await holdWhileWaiting(decisions({ task: WAIT, wakesOnRounds: true }).decide, new Subject<FederationEvent>(), 60, new AbortController().signal);
  assert.ok(Date.now() - started >= 55, 'held for the budget');
  assert.equal(task.kind, TaskKind.TASK_KIND_WAIT);
  assert.equal(task.retryAfterMs, TASK_HOLD_RETRY_MS);
});

test('never held: work to do, a wait rounds do not end, no budget; an abort ends a hold', async () => {
  const events = new Subject<FederationEvent>();
  const never = new AbortController().signal;
  assert.equal(await holdWhileWaiting(decisions({ task: TRAIN, wakesOnRounds: true }).decide, events, 10_000, never), TRAIN);
  const secure = await holdWhileWaiting(decisions({ task: WAIT, wakesOnRounds: false }).decide, events, 10_000, never);
  assert.equal(secure.retryAfterMs, 2000, 'secure aggregation\'s wait keeps its own retry');
  assert.equal((await holdWhileWaiting(decisions({ task: WAIT, wakesOnRounds: true }).decide, events, 0, never)).retryAfterMs, 2000);
  const stop = new AbortController();
  const held = holdWhileWaiting(decisions({ task: WAIT, wakesOnRounds: true }).decide, events, 10_000, stop.signal);
  await tick();
  stop.abort();
  assert.equal((await held).retryAfterMs, 2000, 'cancelled or stopping: the plain wait');
  assert.equal(events.observed, false, 'every hold stopped listening');
});

test('the hold budget: what the site asks, the cap, and the deadline less the margin', () => {
  const now = 1_000_000;
  assert.equal(holdBudgetMs(0, Infinity, now), 0, 'a site that does not ask is not held');
  assert.equal(holdBudgetMs(Number.NaN, Infinity, now), 0);
  assert.equal(holdBudgetMs(5_000, Infinity, now), 5_000);
  assert.equal(holdBudgetMs(10 * TASK_HOLD_MAX_MS, Infinity, now), TASK_HOLD_MAX_MS);
  assert.equal(holdBudgetMs(15_000, now + 15_000, now), 15_000 - TASK_HOLD_DEADLINE_MARGIN_MS);
  assert.equal(holdBudgetMs(15_000, now + 500, now), 0, 'a deadline inside the margin: answered at once');
});

test('a woken call decides again through decideAgain (the coordinator queues those), the first decision directly', async () => {
  const events = new Subject<FederationEvent>();
  const first = decisions({ task: WAIT, wakesOnRounds: true });
  const again = decisions({ task: TRAIN, wakesOnRounds: true });
  const held = holdWhileWaiting(first.decide, events, 10_000, new AbortController().signal, again.decide);
  await tick();
  events.next(ROUND_OPENED);
  assert.equal(await held, TRAIN);
  assert.deepEqual([first.calls(), again.calls()], [1, 1]);
});
