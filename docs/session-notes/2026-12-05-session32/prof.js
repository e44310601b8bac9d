const path=process.env.MLDIST||'/work/main/ml/dist/';
const { Trainer } = require(path+'train/trainer');
const { softmaxCrossEntropy } = require(path+'nn/losses');
const { referenceUNet } = require(path+'bench/unet');
const fs=require('fs');
const SIZE=Number(process.env.SIZE||64), BATCH=8, CLASSES=12;
const prof = process.env.PROF==='1';
(async()=>{
  const t=new Trainer({model:(g,b)=>({losses:{ce:softmaxCrossEntropy(referenceUNet(g,b.image,CLASSES,[16,32,64,128]),b.labels)}}),optimizer:{kind:'adam'},
    runtime:{threads:2, sessionOptions: prof?{enableProfiling:true, profileFilePrefix:'/tmp/s32/ortprof'}:{}}});
  const image=Float32Array.from({length:BATCH*3*SIZE*SIZE},()=>Math.random());
  const labels=BigInt64Array.from({length:BATCH*SIZE*SIZE},()=>BigInt(Math.floor(Math.random()*CLASSES)));
  const batch={image:{shape:[BATCH,3,SIZE,SIZE],data:image},labels:{shape:[BATCH,SIZE,SIZE],data:labels}};
  await t.step(batch,1e-3);
  const ts=[];
  for(let i=0;i<12;i++){const s=performance.now();await t.step(batch,1e-3);ts.push(performance.now()-s);}
  ts.sort((a,b)=>a-b);console.log('median ms',ts[6].toFixed(1),'min',ts[0].toFixed(1));
  await t.release();
})();
