const ml=require('/work/main/ml/dist/index');
const c=ml.segmenterConfig({ width: 16, depth: 3, inputSize: [32, 40], embedDim: 16, groups: 4 });
const N=12,H=64,W=80;
const test=Array.from({length:80},()=>({image:Float32Array.from({length:3*H*W},()=>Math.random()),label:new Uint8Array(H*W),height:H,width:W}));
(async()=>{
  const weights=ml.createSegmenterWeights(c,N,1);
  for (let i=0;i<3;i++){ const t=Date.now(); await ml.evaluateSegmenter({config:c,weights,numClasses:N,runtime:{threads:1}},test); console.log('eval ms',Date.now()-t); }
})();
