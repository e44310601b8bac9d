const path=process.env.MLDIST||'/work/main/ml/dist/';
const ml=require(path+'index');
const {emitModel}=require(path+'onnx/emit');
const {createSession}=require(path+'runtime/session');
const {CompiledGraph}=require(path+'runtime/compiled');
const orig=CompiledGraph.compile;
CompiledGraph.compile=async function(outputs,options={}){
  let t=performance.now(); const model=emitModel({outputs,bake:options.bake}); const te=performance.now()-t;
  t=performance.now(); const g=await CompiledGraph.fromModel(model,options); const ts=performance.now()-t;
  console.log(JSON.stringify({emitMs:te.toFixed(0),sessionMs:ts.toFixed(0),bytes:model.bytes.length,inputs:model.inputs.size}));
  return g;
};
const c=ml.segmenterConfig({ width: 16, depth: 3, inputSize: [32, 40], embedDim: 16, groups: 4 });
const N=12,T=7,H=32,W=40;
const real=Array.from({length:16},()=>({image:new Float32Array(3*H*W).fill(0.5),label:new Uint8Array(H*W),height:H,width:W}));
(async()=>{
  const weights=ml.createSegmenterWeights(c,N,1), tw=ml.createSegmenterWeights(c,T,2);
  for (const m of ['finetune','mib']) { let t=Date.now();
    await ml.trainLocalSegmenter({config:c,weights,numClasses:N,teacher:m==='finetune'?undefined:{weights:tw,numClasses:T},newClassIds:[7,8,9,10,11],real,
      hyper:{epochs:1,batchSize:8,learningRate:3e-3,lossWeights:m==='mib'?{ce:0,unbiasedCe:1,kd:10}:{ce:1}},seed:1,runtime:{threads:1}});
    console.log(m,'total ms',Date.now()-t);
  }
})();
