const path=process.env.MLDIST||'/work/main/ml/dist/';
const { trainDiffusion } = require(path+'diffusion/train');
const { replayGeneratorConfig } = require(path+'diffusion/recipe');
const prof = process.env.PROF==='1';
// The recipe's full size and two threads unless told (the thirty-third session: GEN=64,80 THREADS=1 OUT=/tmp/s33/gprof).
const gen=(process.env.GEN||'128,160').split(',').map(Number), threads=Number(process.env.THREADS||2), out=process.env.OUT||'/tmp/s32/gprof';
(async()=>{
  const c=replayGeneratorConfig(gen);
  const px=3*c.imageSize*(c.imageWidth||c.imageSize);
  const images=Array.from({length:32},()=>Float32Array.from({length:px},()=>Math.random()*2-1));
  const runtime={threads, sessionOptions: prof?{enableProfiling:true, profileFilePrefix:out}:{}};
  let s=performance.now();
  await trainDiffusion({config:c, images, steps:2, batchSize:16, runtime});
  const t2=performance.now()-s; s=performance.now();
  await trainDiffusion({config:c, images, steps:12, batchSize:16, runtime});
  const t12=performance.now()-s;
  console.log(JSON.stringify({size:[c.imageSize,c.imageWidth], msPerStep:((t12-t2)/10).toFixed(1)}));
})();
