import type { Observable } from 'rxjs';
import { TaskKind, type Task } from '@fedciss/proto';
import type { FederationEvent } from './progress-hub';

/** The longest the coordinator holds a GetTask, whatever the site asks for. */
export const TASK_HOLD_MAX_MS = 30_000;
/** Answered this long before the call's deadline, so the answer arrives before the site gives up. */
export const TASK_HOLD_DEADLINE_MARGIN_MS = 1_000;
/** What a held WAIT tells the site when the hold ran out: ask again at once (the hold paced it). */
export const TASK_HOLD_RETRY_MS = 1;

/** A site's task and whether a round's or a step's change can be what it waits for. */
export interface TaskDecision {
  task: Task;
  /** False for waits that rounds' events do not end (secure aggregation's stages): never held. */
  wakesOnRounds: boolean;
}

/** How long a call may be held: what the site asked for, the coordinator's cap, and the call's deadline. */
export function holdBudgetMs(askedMs: number, deadline: number, now: number): number {
  if (!(askedMs > 0)) return 0;
  const untilDeadline = Number.isFinite(deadline) ? deadline - now - TASK_HOLD_DEADLINE_MARGIN_MS : Infinity;
  return Math.max(0, Math.min(askedMs, TASK_HOLD_MAX_MS, untilDeadline));
}

/**
 * The long poll of GetTask: the site's task now, or, while it is a WAIT that a round's or a step's
 * change can end, the task again after each such change, until it is something to do, `budgetMs`
 * has passed or `signal` aborts (the call was cancelled, the coordinator stops). Listens before it
 * first decides, so a change between the decision and the wait is not missed. A WAIT that used the
 * whole hold says to ask again at once.
 */
export async function holdWhileWaiting(
  decide: () => Promise<TaskDecision>,
  events: Observable<FederationEvent>,
  budgetMs: number,
  signal: AbortSignal,
  /** How a woken call decides again (default `decide`): one event wakes every held site at once. */
  decideAgain: () => Promise<TaskDecision> = decide,
): Promise<Task> {
  if (budgetMs <= 0) return (await decide()).task;
  let changed = false;
  let wake: (() => void) | null = null;
  const subscription = events.subscribe((e) => {
    if (e.type !== 'round' && e.type !== 'step') return;
    changed = true;
    wake?.();
  });
  const end = Date.now() + budgetMs;
  try {
    for (let first = true; ; first = false) {
      changed = false;
      const { task, wakesOnRounds } = await (first ? decide() : decideAgain());
      if (task.kind !== TaskKind.TASK_KIND_WAIT || !wakesOnRounds || signal.aborted) return task;
      if (changed) continue;
      const left = end - Date.now();
      if (left <= 0) return { ...task, retryAfterMs: TASK_HOLD_RETRY_MS };
      const woken = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => done(false), left);
        const onAbort = () => done(false);
        function done(value: boolean) {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          wake = null;
          resolve(value);
        }
        wake = () => done(true);
        signal.addEventListener('abort', onAbort, { once: true });
      });
      if (!woken) return signal.aborted ? task : { ...task, retryAfterMs: TASK_HOLD_RETRY_MS };
    }
  } finally {
    subscription.unsubscribe();
  }
}
