import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAgentConfig } from '../config/agent-config';
import { HYPER, noiseGeneratorTask, siteData } from '../testing/step-task';
import { MlSiteWork } from './ml-site-work';

// The CUDA provider is absent wherever npm test runs (npm install does not fetch its libraries), so
// every ONNX Runtime session created for 'cuda' falls back to the cpu and says so once: the fallback
// messages count the sessions each purpose created on 'cuda'.
test('a site trains on trainingExecutionProvider and runs inference on executionProvider: the settings reach ml', async () => {
  const base = await mkdtemp(join(tmpdir(), 'providers-'));
  try {
    const dataRoot = await siteData(base);
    const fallbacks = async (name: string, providers: { executionProvider: string; trainingExecutionProvider?: string }) => {
      const config = loadAgentConfig({ flags: { siteName: 'A', dataRoot, workDir: join(base, name), trainSurgeries: ['01'], testSurgeries: ['02'], threads: 1, ...providers } });
      const messages: string[] = [];
      const { task, fetch } = noiseGeneratorTask({ ...HYPER, replayCheck: false });
      await new MlSiteWork(config, (_level, m) => void (/execution provider 'cuda' is not available/.test(m) && messages.push(m))).trainSegmenter(task, fetch, () => undefined);
      return messages.length;
    };
    const inferenceOnly = await fallbacks('inference-on-cuda', { executionProvider: 'cuda', trainingExecutionProvider: 'cpu' });
    const trainingOnly = await fallbacks('training-on-cuda', { executionProvider: 'cpu', trainingExecutionProvider: 'cuda' });
    const both = await fallbacks('all-on-cuda', { executionProvider: 'cuda' });
    assert.ok(inferenceOnly >= 1, 'the teacher pass and the replay sampling ran on executionProvider');
    assert.ok(trainingOnly >= 1, 'the training step ran on trainingExecutionProvider');
    assert.equal(inferenceOnly + trainingOnly, both, 'each session runs on its purpose\'s provider, and without a training provider on executionProvider');
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});
