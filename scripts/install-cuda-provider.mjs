// Adds ONNX Runtime's CUDA execution provider to this checkout, for a site with an NVIDIA GPU.
// The provider libraries are too large for the npm registry: onnxruntime-node's own install script
// fetches them from NuGet (Microsoft.ML.OnnxRuntime.Gpu.Linux, the version matching onnxruntime-node).
// `npm install` skips that download on purpose (see .npmrc and allowScripts in package.json); this
// script runs it once, on request, on a machine that can reach NuGet. Usage: npm run gpu:install
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(join(process.cwd(), 'ml', 'package.json'));
const ortDir = dirname(require.resolve('onnxruntime-node/package.json'));
const r = spawnSync(process.execPath, [join(ortDir, 'script', 'install.js')], {
  cwd: ortDir,
  stdio: 'inherit',
  env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'cuda12' },
});
if (r.status !== 0) {
  console.error(
    `Could not fetch the CUDA provider (exit ${r.status}). Without internet, copy libonnxruntime_providers_cuda.so and ` +
      `libonnxruntime_providers_shared.so from the NuGet package Microsoft.ML.OnnxRuntime.Gpu.Linux of the same version ` +
      `(runtimes/linux-x64/native/) into ${join(ortDir, 'bin', 'napi-v6', 'linux', 'x64')}.`,
  );
  process.exit(1);
}
console.log(`CUDA provider installed in ${join(ortDir, 'bin', 'napi-v6', 'linux', 'x64')}. Set "executionProvider": "cuda" in the site's settings.`);
