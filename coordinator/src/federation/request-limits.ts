/**
 * Bounds of every request the federation endpoint takes, checked on the decoded message before any
 * handler sees it (so a NUL character, an unpaired surrogate or a megabyte-long id never reaches
 * the database or the log). Paths are field paths of the ts-proto messages; `[]` stands for any
 * index. Services check the meaning of the values (formats, ranges, existence) on top of this.
 */
import { findShapeProblem, type ShapeLimits } from '../common/text';

/** Longest text of a field, in code points; fields not listed get DEFAULT_STRING_MAX. */
const STRING_MAX: Readonly<Record<string, number>> = {
  // Enroll
  displayName: 120,
  csrPem: 16 * 1024,
  'capabilities.executionProviders[]': 32,
  'capabilities.agentVersion': 64,
  // ids, keys and hashes (upload header, download, status, reports)
  versionId: 128,
  idempotencyKey: 128,
  roundId: 128,
  'header.roundId': 128,
  'header.baseVersionId': 128,
  'header.idempotencyKey': 128,
  'header.kind': 32,
  'header.sha256': 64,
  'chunk.sha256': 64,
  'chunk.prefixSha256': 64,
  modelVersionId: 128,
  evaluatedSiteModel: 128,
  split: 32,
  // free text the coordinator stores or shows truncated
  state: 256,
  phase: 64,
  message: 1000,
};

const DEFAULT_STRING_MAX = 256;

export const REQUEST_LIMITS: ShapeLimits = {
  maxString: (path) => STRING_MAX[path] ?? DEFAULT_STRING_MAX,
  // The largest repeated field or map is an evaluation's classes (one per roster class).
  maxEntries: 256,
  maxDepth: 6,
  // Map keys: metric names.
  maxKey: 64,
};

/** The first problem of a decoded request, as `field problem`, or null. */
export function requestProblem(message: unknown): string | null {
  return findShapeProblem(message, REQUEST_LIMITS);
}
