// The run loop with a generator the memorisation gate stopped: the coordinator is told why, nothing
// is uploaded and nothing is kept on disk for a later upload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskKind, type Task, type WithheldUpdate } from '@fedciss/proto';
import { loadAgentConfig } from '../config/agent-config';
import { runAgent, type SiteWork } from '../agent/run-loop';
import type { CoordinatorClient } from '../federation/coordinator-client';

const task = (kind: TaskKind, roundId = ''): Task => ({
  kind, step: 0, roundId, roundIndex: 0, roster: [], newClassIds: [], globalModel: { versionId: 'gen-1', kind: 'generator', sha256: 'x', sizeBytes: 1 },
  teacherModel: undefined, generator: undefined, hyperParameters: undefined, deadlineMs: 0, retryAfterMs: 1, message: '', crossSiteModels: [], secureAggregation: undefined,
});

test('a withheld generator is reported with its reason, never uploaded, never saved', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'site-withheld-'));
  try {
    const config = loadAgentConfig({ flags: { siteName: 'Test', workDir: dir, heartbeatSeconds: 60 } });
    const tasks = [task(TaskKind.TASK_KIND_TRAIN_GENERATOR, 'r0-gen-0'), task(TaskKind.TASK_KIND_DONE)];
    const reported: WithheldUpdate[] = [];
    let uploads = 0;
    const client = {
      heartbeat: async () => ({ serverTimeMs: 0, heartbeatIntervalMs: 0 }),
      getTask: async () => tasks.shift() ?? task(TaskKind.TASK_KIND_DONE),
      reportProgress: async () => ({ ok: true, message: '' }),
      reportWithheld: async (w: WithheldUpdate) => (reported.push(w), { ok: true, message: 'recorded' }),
      upload: async () => (uploads++, { updateId: '', state: 0, reason: '', receivedBytes: 0 }),
    } as unknown as CoordinatorClient;
    const work: SiteWork = {
      trainSegmenter: async () => assert.fail('no segmenter task was given'),
      evaluate: async () => assert.fail('no evaluation task was given'),
      trainGenerator: async () => ({ withheld: true, reason: 'memorisation gate: 1 of 8 generated samples lie within the threshold', metrics: { privacyFlagged: 1 } }),
    };
    await runAgent(config, client, 'site-1', work, () => undefined, { exitWhenDone: true });
    assert.deepEqual(reported, [{ roundId: 'r0-gen-0', kind: 'generator', reason: 'memorisation gate: 1 of 8 generated samples lie within the threshold', metrics: { privacyFlagged: 1 } }]);
    assert.equal(uploads, 0);
    assert.deepEqual(readdirSync(join(dir, 'updates')), [], 'nothing kept for a later upload');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
