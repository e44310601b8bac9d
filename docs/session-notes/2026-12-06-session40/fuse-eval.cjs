// Scratch (not committed): endpoint weight fusion measured post hoc on a kept bench:ciss folder.
// usage: node fuse-eval.cjs RUNDIR(seed-N/runs/METHOD) STEP0DIR(seed-N/runs/step0 or teacher file) alphas...
const { readFileSync, existsSync } = require('node:fs');
const { join, resolve } = require('node:path');
const R = (p) => require(join('/work/main', p));
const ml = require('/work/main/node_modules/@fedciss/ml');
const { loadAgentConfig } = R('site-agent/dist/config/agent-config.js');
const { MlSiteWork } = R('site-agent/dist/work/ml-site-work.js');
const { createLog } = R('site-agent/dist/agent/log.js');
const { TaskKind } = require('/work/main/node_modules/@fedciss/proto');

async function main() {
  const [runDir, mode, ...alphas] = process.argv.slice(2);
  const sites = ['site-0', 'site-1'].map((s) => resolve(runDir, s));
  const tot = new Map();
  const results = {};
  for (const a of alphas.map(Number)) {
    const counts = [];
    for (const site of sites) {
      process.chdir(site);
      const config = loadAgentConfig({ file: join(site, 'site.json') });
      const last = JSON.parse(readFileSync(join(site, 'work', 'last-task.json'), 'utf8'));
      const studentFile = join(site, 'work', 'models', `${last.globalModel.sha256}.safetensors`);
      const teacherFile = process.env.TEACHER || resolve(runDir, '..', 'step0', 'step0-segmenter.safetensors');
      if (!existsSync(teacherFile)) throw new Error('no teacher ' + teacherFile + ' ' + JSON.stringify(Object.keys(last)));
      const s = ml.decodeSafetensors(readFileSync(studentFile));
      const t = ml.decodeSafetensors(readFileSync(teacherFile));
      const k = ml.classCountOf(s.tensors);
      const k0 = ml.classCountOf(t.tensors);
      const tg = ml.growHead(t.tensors, k0, k);
      const fused = new Map();
      for (const [name, st] of s.tensors) {
        const tt = tg.get(name);
        const d = new Float32Array(st.data.length);
        const isHead = name === 'head.weight' || name === 'head.bias';
        const per = st.data.length / k;
        for (let i = 0; i < d.length; i++) {
          let w = a;
          if (isHead && mode === 'keep-new' && Math.floor(i / per) >= k0) w = 0;
          if (isHead && mode === 'body-only') w = 0;
          d[i] = w * tt.data[i] + (1 - w) * st.data[i];
        }
        fused.set(name, { shape: st.shape, data: d });
      }
      const bytes = ml.encodeSafetensors(fused, s.metadata);
      const work = new MlSiteWork(config, createLog('text', config.siteName));
      const task = { ...last, kind: TaskKind.TASK_KIND_EVALUATE, roundId: 'local' };
      const report = await work.evaluate(task, async () => bytes, () => undefined);
      counts.push(report.classes);
      results.k0 = k0; results.k = k;
    }
    const per = counts[0].map((c, i) => ml.iouOfCounts({ tp: c.truePositive + counts[1][i].truePositive, fp: c.falsePositive + counts[1][i].falsePositive, fn: c.falseNegative + counts[1][i].falseNegative }));
    const mean = (xs) => { const v = xs.filter((x) => x !== null); return (100 * v.reduce((p, q) => p + q, 0)) / v.length; };
    const k0 = results.k0;
    results[a] = { old: mean(per.slice(0, k0)), new: mean(per.slice(k0)), all: mean(per), perClass: per.map((x) => (x === null ? null : +(100 * x).toFixed(1))) };
    console.log(JSON.stringify({ runDir, mode, alpha: a, old: results[a].old.toFixed(2), new: results[a].new.toFixed(2), all: results[a].all.toFixed(2), perClass: results[a].perClass }));
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
