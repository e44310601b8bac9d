/**
 * V8's heap growth for a process that moves models: the coordinator and the site agent call
 * growHeapForTransfers() when they start.
 *
 * Measured in bench:scale's models section (a 200 MB model through a real round, plaintext): the
 * coordinator and the agent ran 164 full collections between them, 8-10 a second while bytes moved,
 * each marking the whole heap (the coordinator's 49 MB of live objects: 40-70 ms) and freeing
 * almost none of it (48.9 -> 48.4 MB); V8 started each on reaching the old generation's limit
 * (49 of 73 MB by its count). The likely cause: a transfer passes every chunk through a few fresh
 * 4 MiB buffers (read, encoded, framed; frames joined into a message), a chunk that waits for its
 * write or hash check outlives the young generation's collections, and V8 counts a buffer's bytes
 * against the old generation once it is promoted. After each full collection V8 lets the old
 * generation grow by a factor it picks (here about 1.5): a few chunks. Growing by 3 instead
 * (HEAP_GROWING_PERCENT), the same run had 26 full collections, the round's result download took
 * 0.67-0.68 s instead of 1.87-2.02 s and the second site's upload 1.3-1.5 s instead of 2.3-2.7 s;
 * a growth of 5 measured the same as 3, a growth of 2 was in between (77 collections).
 *
 * The cost is memory: up to twice the live heap of garbage before a full collection (measured:
 * up to 35 MB more peak RSS at an end). The flag is read whenever V8 recomputes its limits, so
 * setting it at start-up, before the first transfer, is enough.
 */
import { setFlagsFromString } from 'node:v8';

/** The old generation may grow to (1 + this / 100) times what survived the last full collection. */
export const HEAP_GROWING_PERCENT = 200;

const FLAG = '--heap-growing-percent';
/** The flag as V8 takes it on a command line: dashes or underscores, its value after `=` or as the next argument. */
const GIVEN = /^--heap[-_]growing[-_]percent(=|$)/;

/**
 * Sets V8's heap growing factor for this process, unless the process was started with its own
 * `--heap-growing-percent` (an operator's choice wins). Returns whether it set it.
 */
export function growHeapForTransfers(execArgv: readonly string[] = process.execArgv): boolean {
  if (execArgv.some((a) => GIVEN.test(a))) return false;
  setFlagsFromString(`${FLAG}=${HEAP_GROWING_PERCENT}`);
  return true;
}
