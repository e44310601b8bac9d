/**
 * The hot loop of streamed FedAvg, mean ← mean + f·(x − mean), as a WebAssembly SIMD (f32x4)
 * kernel. V8 does not vectorise JavaScript loops, and the scalar loop runs at a fraction of memory
 * bandwidth; the kernel is memory-bound. WebAssembly reaches only its own linear memory, so the
 * running mean lives there (its tensors are Float32Array views of that memory) and each update
 * tensor is copied, 64 KiB at a time, into a scratch area of it before the kernel runs (the copy
 * is part of every measured figure). Where WebAssembly SIMD is missing, or a model does not fit in a 32-bit memory,
 * `allocateMean` returns plain arrays and the JavaScript loop (math.ts) does the work.
 *
 * The kernel computes in Float32 (the JavaScript loop in Float64 per step): the running mean's
 * rounding error grows like √K ulp over K updates, 1e-6 relative for hundreds of sites.
 */

// The module, hand-assembled (WebAssembly binary format 1.0 + the SIMD proposal). In text form:
//   (module
//     (import "env" "memory" (memory 1))
//     (func (export "step") (param $m i32) (param $x i32) (param $n8 i32) (param $f f32)
//       (local $end i32) (local $vf v128)
//       (local.set $vf (f32x4.splat (local.get $f)))
//       (local.set $end (i32.add (local.get $m) (i32.shl (local.get $n8) (i32.const 5))))
//       (block $done (loop $next                     ;; 8 values (two vectors) per iteration
//         (br_if $done (i32.ge_u (local.get $m) (local.get $end)))
//         (v128.store offset=0 (local.get $m)
//           (f32x4.add (v128.load offset=0 (local.get $m))
//             (f32x4.mul (local.get $vf) (f32x4.sub (v128.load offset=0 (local.get $x)) (v128.load offset=0 (local.get $m))))))
//         (v128.store offset=16 (local.get $m) ... the same with offset=16 ...)
//         (local.set $m (i32.add (local.get $m) (i32.const 32)))
//         (local.set $x (i32.add (local.get $x) (i32.const 32)))
//         (br $next)))))
// Two vectors per iteration run about twice as fast as one (measured); four gain nothing more.
const vector = (offset: number): number[] => [
  0x20, 0x00, //                                     store address $m
  0x20, 0x00, 0xfd, 0x00, 0x00, offset, //           v128.load offset $m
  0x20, 0x05, //                                     $vf
  0x20, 0x01, 0xfd, 0x00, 0x00, offset, //           v128.load offset $x
  0x20, 0x00, 0xfd, 0x00, 0x00, offset, //           v128.load offset $m
  0xfd, 0xe5, 0x01, 0xfd, 0xe6, 0x01, 0xfd, 0xe4, 0x01, // f32x4.sub, f32x4.mul, f32x4.add
  0xfd, 0x0b, 0x00, offset, //                       v128.store offset
];
const BODY = [
  0x02, 0x01, 0x7f, 0x01, 0x7b, //                   locals: 1 i32 ($end), 1 v128 ($vf)
  0x20, 0x03, 0xfd, 0x13, 0x21, 0x05, //             $vf = f32x4.splat($f)
  0x20, 0x00, 0x20, 0x02, 0x41, 0x05, 0x74, 0x6a, 0x21, 0x04, // $end = $m + ($n8 << 5)
  0x02, 0x40, 0x03, 0x40, //                         block, loop
  0x20, 0x00, 0x20, 0x04, 0x4f, 0x0d, 0x01, //       br_if 1 ($m >= $end)
  ...vector(0x00),
  ...vector(0x10),
  0x20, 0x00, 0x41, 0x20, 0x6a, 0x21, 0x00, //       $m += 32
  0x20, 0x01, 0x41, 0x20, 0x6a, 0x21, 0x01, //       $x += 32
  0x0c, 0x00, //                                     br 0
  0x0b, 0x0b, 0x0b, //                               end loop, end block, end func
];
const leb = (n: number): number[] => (n < 128 ? [n] : [(n & 0x7f) | 0x80, n >> 7]);
const CODE = [0x01, ...leb(BODY.length), ...BODY];
const MODULE_BYTES = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x08, 0x01, 0x60, 0x04, 0x7f, 0x7f, 0x7f, 0x7d, 0x00, // type: (i32 i32 i32 f32) → ()
  0x02, 0x0f, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x01, // import env.memory
  0x03, 0x02, 0x01, 0x00, // function 0 has type 0
  0x07, 0x08, 0x01, 0x04, 0x73, 0x74, 0x65, 0x70, 0x00, 0x00, // export "step"
  0x0a, ...leb(CODE.length), ...CODE, // code
]);

/** The slice of the WebAssembly JS API used here (the project's lib settings carry no DOM types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Memory: new (descriptor: { initial: number }) => { readonly buffer: ArrayBuffer };
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { readonly exports: Record<string, unknown> };
}
type WasmModule = { readonly __wasmModule?: never };
const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

let compiled: WasmModule | null | undefined;

function simdModule(): WasmModule | null {
  if (compiled === undefined) {
    try {
      if (!wasm) throw new Error('no WebAssembly');
      compiled = new wasm.Module(MODULE_BYTES);
    } catch {
      compiled = null; // no WebAssembly SIMD here: the JavaScript loop serves
    }
  }
  return compiled;
}

/** Largest linear memory used (bytes); beyond it the mean falls back to plain arrays. */
const MAX_WASM_BYTES = 2 ** 31;
const PAGE = 65536;
/** Values copied into the scratch area per kernel call (1 MiB, cache-resident; measured best among 16 KiB to 4 MiB). */
const CHUNK = 262144;

/** Storage for a running mean: one zeroed Float32Array per tensor, and the fast step when available. */
export interface MeanStorage {
  readonly arrays: Float32Array[];
  /** mean[k] ← mean[k] + f·(x − mean[k]) with the SIMD kernel, or null where there is none. */
  readonly step: ((k: number, x: Float32Array, f: number) => void) | null;
}

export function allocateMean(lengths: readonly number[], useSimd = true): MeanStorage {
  const mod = useSimd ? simdModule() : null;
  const align16 = (n: number) => Math.ceil(n / 16) * 16;
  const offsets: number[] = [];
  let end = 0;
  let maxLength = 0;
  for (const n of lengths) {
    offsets.push(end);
    end += align16(n * 4);
    maxLength = Math.max(maxLength, n);
  }
  const scratchOffset = end;
  const scratchLength = Math.min(maxLength, CHUNK);
  const total = scratchOffset + align16(scratchLength * 4);
  if (!mod || !wasm || total > MAX_WASM_BYTES) {
    return { arrays: lengths.map((n) => new Float32Array(n)), step: null };
  }
  let memory: { readonly buffer: ArrayBuffer };
  try {
    memory = new wasm.Memory({ initial: Math.max(1, Math.ceil(total / PAGE)) });
  } catch {
    return { arrays: lengths.map((n) => new Float32Array(n)), step: null }; // no room for a linear memory this size
  }
  const kernel = new wasm.Instance(mod, { env: { memory } }).exports.step as (m: number, x: number, n8: number, f: number) => void;
  // The memory never grows, so these views stay attached for the life of the mean.
  const arrays = lengths.map((n, k) => new Float32Array(memory.buffer, offsets[k], n));
  const scratch = new Float32Array(memory.buffer, scratchOffset, scratchLength);
  const step = (k: number, x: Float32Array, f: number): void => {
    const mean = arrays[k];
    const n = mean.length;
    const whole = n & ~7;
    for (let start = 0; start < whole; start += CHUNK) {
      const len = Math.min(CHUNK, whole - start);
      scratch.set(x.subarray(start, start + len));
      kernel(offsets[k] + start * 4, scratchOffset, len >>> 3, f);
    }
    for (let i = whole; i < n; i++) mean[i] += f * (x[i] - mean[i]);
  };
  return { arrays, step };
}
