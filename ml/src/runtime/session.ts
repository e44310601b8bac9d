import * as os from 'node:os';
import * as ort from 'onnxruntime-node';
import type { DType } from '../graph/tensor';

/**
 * onnxruntime-node's Linux library (1.30) carries Microsoft's 1DS telemetry client, collector
 * https://mobile.events.data.microsoft.com/OneCollector/1.0: every process that creates a session
 * starts it, and it writes /tmp/mat-debug-PID.log. A hospital's site sends nothing to a third party
 * and leaves no stray files, so it is off unless an operator sets the variable; ONNX Runtime reads
 * it when it creates its environment, at the first session (session.test.ts checks both ways).
 */
process.env.ORT_DISABLE_TELEMETRY ??= '1';

/** The execution providers a runtime can be asked for (a bench's `--ep` and the site agent's settings are checked against them). */
export const EXECUTION_PROVIDERS = ['cpu', 'cuda', 'webgpu'] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

export interface RuntimeOptions {
  /** Default 'cpu'. 'cuda' or 'webgpu' fall back to cpu with a message when unavailable. */
  readonly executionProvider?: ExecutionProvider;
  /**
   * The provider of training graphs (forward, backward and optimizer update); default
   * `executionProvider`, which then serves inference only (evaluation, teacher passes, replay
   * sampling). WebGPU on an H200 ran our inference about twice as fast as 16 CPU cores but our
   * training steps 1.4-2x slower (README, "Using a GPU"), so such a site sets 'webgpu' and 'cpu'.
   */
  readonly trainingExecutionProvider?: ExecutionProvider;
  /** Intra-op threads; default: the core count (ORT uses one thread otherwise). */
  readonly threads?: number;
  /** Extra onnxruntime session options (e.g. enableProfiling), applied last. */
  readonly sessionOptions?: ort.InferenceSession.SessionOptions;
  /** Where fallback messages go; default console.warn. */
  readonly log?: (message: string) => void;
}

export type TensorData = Float32Array | BigInt64Array | Int32Array | Uint8Array;

/** A tensor value crossing the JS/ORT boundary. */
export interface TensorValue {
  readonly shape: readonly number[];
  readonly data: TensorData;
}

export function dtypeOfData(data: TensorData): DType {
  return data instanceof Float32Array ? 'float32' : data instanceof BigInt64Array ? 'int64' : data instanceof Int32Array ? 'int32' : 'bool';
}

export function toOrt(v: TensorValue): ort.Tensor {
  const dims = [...v.shape];
  if (v.data instanceof Uint8Array) return new ort.Tensor('bool', v.data, dims);
  return new ort.Tensor(v.data, dims);
}

export function fromOrt(t: ort.Tensor): TensorValue {
  return { shape: t.dims.map(Number), data: t.data as TensorData };
}

export function coreCount(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/** The options a training graph's session is created with: the training provider in place of the inference one. */
export function trainingRuntime(options: RuntimeOptions = {}): RuntimeOptions {
  return options.trainingExecutionProvider === undefined ? options : { ...options, executionProvider: options.trainingExecutionProvider };
}

/** What a site must do for 'cuda' to start: said whenever it falls back, so the fix is in the log. */
export const CUDA_HINT =
  "The CUDA provider needs an NVIDIA driver, CUDA 12 and cuDNN 9 libraries on the library path, and ONNX Runtime's CUDA " +
  "provider libraries, which `npm install` does not fetch: run `npm run gpu:install` once (README, 'Using a GPU')";

/** Creates an InferenceSession with threads = core count and the configured execution provider;
 * a provider that cannot start falls back to cpu with a message saying why. */
export async function createSession(model: Uint8Array, options: RuntimeOptions = {}): Promise<ort.InferenceSession> {
  const ep = options.executionProvider ?? 'cpu';
  const base: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: options.threads ?? coreCount(),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    ...options.sessionOptions,
  };
  if (ep !== 'cpu') {
    try {
      return await ort.InferenceSession.create(model, { ...base, executionProviders: [ep] });
    } catch (e) {
      (options.log ?? console.warn)(
        `execution provider '${ep}' is not available on this machine (${(e as Error).message.split('\n')[0]}); falling back to cpu` +
          (ep === 'cuda' ? `. ${CUDA_HINT}` : ''),
      );
    }
  }
  return ort.InferenceSession.create(model, { ...base, executionProviders: ['cpu'] });
}
