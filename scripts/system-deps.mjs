// The system programs `npm test` needs, checked in its first seconds. On Debian as root the missing
// ones are installed with apt-get (the only source besides the npm registry that these machines
// reach); anywhere else the script stops at once with the exact command to run, instead of letting
// the suite fail minutes later with a stack trace.
// Usage: node scripts/system-deps.mjs (npm test, test:e2e and test:browser run it first).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const onPath = (cmd) => (process.env.PATH ?? '').split(delimiter).some((d) => d && existsSync(join(d, cmd)));
const postgresBinDirs = () => [
  process.env.PG_BIN_DIR,
  ...(existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').map((v) => join('/usr/lib/postgresql', v, 'bin')) : []),
  '/usr/local/bin',
  '/usr/bin',
];

/** One entry per need: what a test uses, how to tell it is there, the Debian packages that bring it. */
const SYSTEM_DEPS = [
  {
    need: 'PostgreSQL server binaries (initdb, pg_ctl): the e2e tests start a throw-away server',
    present: () => postgresBinDirs().some((d) => d && existsSync(join(d, 'initdb')) && existsSync(join(d, 'pg_ctl'))),
    debian: ['postgresql'],
  },
  {
    need: "Chromium: the console's browser tests drive it with playwright-core",
    present: () => existsSync(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'),
    debian: ['chromium'],
  },
  {
    need: "Debian's python3 with onnx and OpenCV: ml's export tests run onnx.checker and OpenCV DNN on the exported model",
    present: () => spawnSync('/usr/bin/python3', ['-c', 'import onnx, cv2'], { stdio: 'ignore' }).status === 0,
    debian: ['python3-onnx', 'python3-opencv'],
  },
  {
    need: 'a container engine: the deployment test builds the images and runs them with testcontainers (podman with runc, or a Docker daemon)',
    present: () => (onPath('podman') && onPath('runc')) || spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 20_000 }).status === 0,
    debian: ['podman', 'runc'],
  },
  {
    need: 'mmdebstrap: builds the Debian base of the images where no registry provides node and postgres images',
    present: () => onPath('mmdebstrap'),
    debian: ['mmdebstrap'],
  },
];

function main() {
  const missing = SYSTEM_DEPS.filter((d) => !d.present());
  if (!missing.length) return 0;
  const packages = [...new Set(missing.flatMap((d) => d.debian))];
  const command = `apt-get install -y ${packages.join(' ')}`;
  console.error(`Missing for the tests:\n${missing.map((d) => `  - ${d.need}`).join('\n')}`);
  const canInstall = process.getuid?.() === 0 && onPath('apt-get');
  if (!canInstall) {
    const prefix = process.getuid?.() === 0 ? '' : 'sudo ';
    console.error(`Install them, then run the tests again:\n  ${prefix}apt-get update && ${prefix}${command}`);
    return 1;
  }
  console.error(`Installing with apt-get: ${packages.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', ...packages]]) {
    const r = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (r.status !== 0) {
      console.error(`apt-get ${args[0]} failed (exit ${r.status}); run it by hand: apt-get update && ${command}`);
      return 1;
    }
  }
  const still = SYSTEM_DEPS.filter((d) => !d.present());
  if (still.length) {
    console.error(`Still missing after apt-get:\n${still.map((d) => `  - ${d.need}`).join('\n')}`);
    return 1;
  }
  return 0;
}

process.exitCode = main();
