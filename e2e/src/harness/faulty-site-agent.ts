/**
 * The site agent with faults injected, for the resilience tests: the production CLI, whose `run`
 * action gets wrappers around the agent's parts (the agent itself knows nothing of faults).
 *   FEDCISS_E2E_FAULTS=corrupt-chunk,nan-update node e2e/dist/harness/faulty-site-agent.js run ...
 * Each fault strikes once, then the site behaves:
 *   corrupt-chunk — the first chunk (offset 0) of the first upload has a byte flipped in transit
 *                   (after the site hashed it: the coordinator must refuse it);
 *   nan-update    — the first trained update carries a NaN.
 */
import * as grpc from '@grpc/grpc-js';
import { decodeSafetensors, encodeSafetensors } from '@fedciss/ml';
import type { UploadMessage } from '@fedciss/proto';
import { buildProgram, runRun, type SiteWork, type TrainedUpdate, type WithheldUpdate } from '@fedciss/site-agent';

export const FAULTS = ['corrupt-chunk', 'nan-update'] as const;
export type Fault = (typeof FAULTS)[number];
export const FAULTS_VARIABLE = 'FEDCISS_E2E_FAULTS';

/** A gRPC interceptor that flips the first byte of the first upload chunk at offset 0, once. */
export function corruptFirstUploadChunk(): grpc.Interceptor {
  let struck = false;
  return (options, nextCall) => {
    const upload = options.method_definition.path.endsWith('/UploadUpdate');
    return new grpc.InterceptingCall(nextCall(options), {
      sendMessage(message: UploadMessage, next) {
        if (!upload || struck || !message.chunk || message.chunk.offset !== 0) return next(message);
        struck = true;
        const data = Buffer.from(message.chunk.data);
        data[0] ^= 0xff;
        next({ ...message, chunk: { ...message.chunk, data } });
      },
    });
  };
}

/** The same weights with a NaN in the first tensor. */
export function poisoned(blob: Buffer): Buffer {
  const { tensors, metadata } = decodeSafetensors(blob);
  const first = tensors.values().next().value;
  if (!first) throw new Error('poisoned: the update has no tensor');
  first.data[0] = Number.NaN;
  return encodeSafetensors(tensors, metadata);
}

/** Work whose first trained update (segmenter or generator) carries a NaN. */
export function poisonFirstUpdate(work: SiteWork): SiteWork {
  let struck = false;
  const poison = (u: TrainedUpdate): TrainedUpdate => {
    if (struck) return u;
    struck = true;
    return { ...u, blob: poisoned(u.blob) };
  };
  return {
    trainSegmenter: async (...a) => poison(await work.trainSegmenter(...a)),
    trainGenerator: async (...a): Promise<TrainedUpdate | WithheldUpdate> => {
      const u = await work.trainGenerator(...a);
      return 'withheld' in u ? u : poison(u);
    },
    evaluate: (...a) => work.evaluate(...a),
  };
}

export function faultsFrom(text: string | undefined): Fault[] {
  const faults = (text ?? '').split(',').map((f) => f.trim()).filter(Boolean);
  for (const f of faults) if (!(FAULTS as readonly string[]).includes(f)) throw new Error(`${FAULTS_VARIABLE}: unknown fault '${f}' (known: ${FAULTS.join(', ')})`);
  return faults as Fault[];
}

if (require.main === module) {
  const faults = faultsFrom(process.env[FAULTS_VARIABLE]);
  buildProgram({
    run: (ctx) => runRun(ctx, {
      work: faults.includes('nan-update') ? poisonFirstUpdate : undefined,
      interceptors: faults.includes('corrupt-chunk') ? [corruptFirstUploadChunk()] : undefined,
    }),
  })
    .parseAsync(process.argv)
    .catch((e: unknown) => {
      console.error(e instanceof Error ? e.message : e);
      process.exitCode = 1;
    });
}
