/**
 * GetTask as a long poll. A site that sends this metadata key with a number of milliseconds asks
 * the coordinator to hold its GetTask while it has nothing to do (a WAIT between rounds) and to
 * answer as soon as a round opens or closes, for at most that long (and never past the call's
 * deadline). Without it a site polled every retry_after_ms (2 s at least) and each round began up
 * to that late at every site. A site that does not send it gets the answer at once, as before.
 */
export const TASK_HOLD_METADATA_KEY = 'x-fedciss-task-hold-ms';
