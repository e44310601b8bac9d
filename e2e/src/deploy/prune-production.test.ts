// scripts/images/prune-production.mjs on a hand-made installed tree: what it keeps is exactly what
// require() would load from the named workspace, and nothing the image does not need.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../harness/child';

const PRUNE = join(REPO_ROOT, 'scripts', 'images', 'prune-production.mjs');

function pkg(dir: string, manifest: Record<string, unknown>, files: string[] = ['index.js']): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), 'x');
  }
}

test('keeps the runtime closure of a workspace (nested versions, required peers) and drops the rest', () => {
  const root = mkdtempSync(join(tmpdir(), 'fedciss-prune-'));
  try {
    pkg(root, { name: 'root', workspaces: ['app', 'lib', 'other'] }, []);
    pkg(join(root, 'app'), { name: 'app', dependencies: { lib: '1', client: '1', dep: '2' } }, []);
    pkg(join(root, 'lib'), { name: 'lib', dependencies: { shared: '1', 'onnxruntime-node': '1' } }, []);
    pkg(join(root, 'other'), { name: 'other', dependencies: { onlyother: '1' } }, []);
    const nm = join(root, 'node_modules');
    mkdirSync(nm);
    for (const ws of ['app', 'lib', 'other']) symlinkSync(join('..', ws), join(nm, ws));
    // `client` has a required peer (kept) and an optional peer npm installed anyway (dropped), like @prisma/client
    pkg(join(nm, 'client'), { name: 'client', peerDependencies: { runtime: '1', cli: '1' }, peerDependenciesMeta: { cli: { optional: true } } }, ['index.js', 'index.js.map', 'index.d.ts']);
    pkg(join(nm, 'runtime'), { name: 'runtime', optionalDependencies: { '@scope/native': '1', absent: '1' } });
    pkg(join(nm, '@scope', 'native'), { name: '@scope/native' });
    pkg(join(nm, 'cli'), { name: 'cli', dependencies: { huge: '1' } });
    pkg(join(nm, 'huge'), { name: 'huge' });
    // two versions of `dep`: app's own (nested) is kept, the hoisted one only `other` needs is not
    pkg(join(nm, 'dep'), { name: 'dep', version: '1.0.0' });
    pkg(join(root, 'app', 'node_modules', 'dep'), { name: 'dep', version: '2.0.0', dependencies: { shared: '1' } });
    pkg(join(nm, 'shared'), { name: 'shared' });
    pkg(join(nm, 'onlyother'), { name: 'onlyother', dependencies: { dep: '1' } });
    pkg(join(nm, 'onnxruntime-node'), { name: 'onnxruntime-node' }, [
      `bin/napi-v6/${process.platform}/${process.arch}/binding.node`,
      'bin/napi-v6/win32/x64/onnxruntime.dll',
      `bin/napi-v6/${process.platform}/not-${process.arch}/binding.node`,
    ]);
    mkdirSync(join(nm, '.bin'));

    const r = spawnSync(process.execPath, [PRUNE, 'app'], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const kept = (p: string) => existsSync(join(root, p));
    for (const p of ['node_modules/client/index.js', 'node_modules/runtime', 'node_modules/@scope/native', 'app/node_modules/dep', 'node_modules/shared', 'node_modules/lib', 'lib/package.json']) {
      assert.ok(kept(p), `${p} is needed at run time`);
    }
    for (const p of ['node_modules/cli', 'node_modules/huge', 'node_modules/dep', 'node_modules/onlyother', 'node_modules/other', 'other', 'node_modules/.bin', 'node_modules/client/index.js.map', 'node_modules/client/index.d.ts']) {
      assert.ok(!kept(p), `${p} is not needed at run time`);
    }
    assert.ok(kept(`node_modules/onnxruntime-node/bin/napi-v6/${process.platform}/${process.arch}/binding.node`));
    assert.ok(!kept('node_modules/onnxruntime-node/bin/napi-v6/win32'), "other platforms' binaries are dropped");
    assert.ok(!kept(`node_modules/onnxruntime-node/bin/napi-v6/${process.platform}/not-${process.arch}`), "other architectures' binaries are dropped");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a required dependency npm did not install is an error naming both packages', () => {
  const root = mkdtempSync(join(tmpdir(), 'fedciss-prune-'));
  try {
    pkg(root, { name: 'root', workspaces: ['app'] }, []);
    pkg(join(root, 'app'), { name: 'app', dependencies: { missing: '1' } }, []);
    const r = spawnSync(process.execPath, [PRUNE, 'app'], { cwd: root, encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /app needs missing, which npm did not install/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
