const path=process.env.MLDIST||'/work/main/ml/dist/';
const ml=require(path+'index');
const c=ml.segmenterConfig({ width: 16, depth: 3, inputSize: [32, 40], embedDim: 16, groups: 4 });
const N=12, T=7, H=32, W=40;
const rnd=(()=>{let s=1;return()=>{s=(s*16807)%2147483647;return s/2147483647;};})();
const real=Array.from({length:80},()=>({image:Float32Array.from({length:3*H*W},()=>rnd()),label:Uint8Array.from({length:H*W},()=>rnd()<0.5?0:7+Math.floor(rnd()*5)),height:H,width:W,channels:3}));
const methods={finetune:{ce:1}, mib:{ce:0,unbiasedCe:1,kd:10}, ours:{ce:1,kd:10}};
(async()=>{
  const weights=ml.createSegmenterWeights(c,N,1), tw=ml.createSegmenterWeights(c,T,2);
  for (const m of (process.env.M||'finetune,mib,ours').split(',')) {
    const t0=Date.now();
    const r=await ml.trainLocalSegmenter({config:c,weights,numClasses:N,teacher:m==='finetune'?undefined:{weights:tw,numClasses:T},newClassIds:[7,8,9,10,11],real,
      replay: m==='ours'? real.slice(0,16):undefined,
      hyper:{epochs:Number(process.env.E||6),batchSize:8,learningRate:3e-3,lossWeights:methods[m],pseudoLabels:m==='ours',pseudoLabelThreshold:0.7,replayFraction:0.25},seed:1,runtime:{threads:1}});
    const s=(Date.now()-t0)/1000;
    console.log(JSON.stringify({m,steps:r.metrics.steps,seconds:s,msPerStep:r.metrics.msPerStep,overhead:(s-r.metrics.steps*r.metrics.msPerStep/1000).toFixed(2)}));
  }
})();
