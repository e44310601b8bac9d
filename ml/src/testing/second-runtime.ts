/** Test helpers that run an exported model outside ONNX Runtime, through ml/tools/second-runtime.py
 * under Debian's python (/usr/bin/python3 with python3-onnx and python3-opencv; the pyenv python3
 * on PATH does not see Debian's packages). */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(__dirname, '..', '..', 'tools', 'second-runtime.py');

function run(args: string[]): string {
  const r = spawnSync(PYTHON, [SCRIPT, ...args], { encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw new Error(`${PYTHON} could not run (${r.error.message}): apt-get install python3 python3-onnx python3-opencv`);
  if (r.status !== 0) {
    const missing = /No module named '(cv2|onnx)'/.exec(r.stderr);
    if (missing) throw new Error(`Debian's ${missing[1] === 'cv2' ? 'python3-opencv' : 'python3-onnx'} is not installed: apt-get install ${missing[1] === 'cv2' ? 'python3-opencv' : 'python3-onnx'}`);
    throw new Error(`second-runtime.py ${args[0]} failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
  return r.stdout.trim();
}

function withTemp<T>(body: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'fedciss-second-runtime-'));
  try {
    return body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** onnx.checker.check_model(full_check=True); throws with the checker's message. */
export function onnxFullCheck(model: Uint8Array): void {
  withTemp((dir) => {
    writeFileSync(join(dir, 'model.onnx'), model);
    run(['check', join(dir, 'model.onnx')]);
  });
}

/** Runs the model's `image` input through OpenCV's DNN module; returns the named output. */
export function runInOpenCv(model: Uint8Array, image: Float32Array, shape: readonly [number, number, number, number], output = 'logits'): { shape: number[]; data: Float32Array } {
  return withTemp((dir) => {
    writeFileSync(join(dir, 'model.onnx'), model);
    writeFileSync(join(dir, 'in.bin'), new Uint8Array(image.buffer, image.byteOffset, image.byteLength));
    const printed = run(['opencv', join(dir, 'model.onnx'), join(dir, 'in.bin'), ...shape.map(String), join(dir, 'out.bin'), output]);
    const bytes = readFileSync(join(dir, 'out.bin'));
    const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    return { shape: JSON.parse(printed.split('\n').at(-1) ?? '[]') as number[], data };
  });
}
