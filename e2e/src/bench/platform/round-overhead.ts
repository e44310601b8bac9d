/**
 * The cost of federating, without the learning: a coordinator (embedded database, model store,
 * real gRPC) and three in-process sites that download the global model, "train" (shift every
 * weight), upload and wait for the round to close. The figure is a round's wall time with no
 * training in it: what a federated round adds on top of the sites' own work. Model size: the
 * platform's default segmenter. Prints one JSON document.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors } from '@fedciss/ml';
import { TaskKind } from '@fedciss/proto';
import { resolveConfig, startCoordinator, MlModelFactory, AdminAuthService } from '@fedciss/coordinator';
import { TestSiteClient, restClient, signIn } from '@fedciss/coordinator/testing';

const PASSWORD = 'benchmark operator pass';

export async function benchRoundOverhead(rounds = 5, sites = 3) {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-round-'));
  const config = resolveConfig({
    env: {},
    flags: { dataDir, insecure: true, autoApprove: true, grpcAddress: '127.0.0.1:0', httpPort: '0', quorum: String(sites), segmenterRounds: String(rounds), generatorRounds: '0', deadline: '600', tickMs: '50' },
  });
  const coordinator = await startCoordinator(config, new MlModelFactory(), { logLevels: ['error'] });
  const clients = Array.from({ length: sites }, () => new TestSiteClient(`127.0.0.1:${coordinator.grpcPort}`));
  try {
    await coordinator.app.get(AdminAuthService).createUser('bench', 'admin', PASSWORD, 'admin');
    const token = await signIn(coordinator.httpUrl, 'admin', PASSWORD);
    for (const [i, c] of clients.entries()) {
      await c.enroll(`Bench ${i}`);
      await c.heartbeat();
    }
    await restClient(() => coordinator.httpUrl, () => token)('POST', '/api/roster/classes', { classes: [{ name: 'liver' }, { name: 'stomach' }] });
    const times: number[] = [];
    let modelBytes = 0;
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      await Promise.all(clients.map(async (c, i) => {
        let task = await c.getTask();
        while (task.kind !== TaskKind.TASK_KIND_TRAIN_SEGMENTER || task.roundIndex !== r) {
          await new Promise((res) => setTimeout(res, 20));
          task = await c.getTask();
        }
        const blob = await c.download(task.globalModel!.versionId);
        modelBytes = blob.length;
        const { tensors, metadata } = decodeSafetensors(blob);
        for (const t of tensors.values()) t.data.forEach((v, k) => (t.data[k] = v + 0.001 * (i + 1)));
        await c.upload({ idempotencyKey: `bench-${r}-${i}-${c.siteId}`, roundId: task.roundId, baseVersionId: task.globalModel!.versionId, kind: 'segmenter', samples: { realImages: 10, replayImages: 0, labelledPixels: 0 }, trainMetrics: {} }, encodeSafetensors(tensors, metadata), { chunkBytes: 1024 * 1024 });
      }));
      // The round is over when the next one is open (or the evaluation round).
      for (;;) {
        const t = await clients[0].getTask();
        if ((t.kind === TaskKind.TASK_KIND_TRAIN_SEGMENTER && t.roundIndex === r + 1) || t.kind === TaskKind.TASK_KIND_EVALUATE) break;
        await new Promise((res) => setTimeout(res, 10));
      }
      times.push(performance.now() - t0);
    }
    const sorted = [...times].sort((a, b) => a - b);
    return { sites, rounds, modelBytes, roundMs: times.map((t) => Math.round(t)), medianRoundMs: Math.round(sorted[Math.floor(sorted.length / 2)]), database: 'pglite' };
  } finally {
    clients.forEach((c) => c.close());
    await coordinator.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (require.main === module) void benchRoundOverhead().then((r) => process.stdout.write(JSON.stringify(r, null, 2) + '\n'));
