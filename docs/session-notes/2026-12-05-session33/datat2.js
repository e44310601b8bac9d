const {openDataset,FileFacts}=require('/work/main/site-agent/dist/data');const facts=process.env.F?new FileFacts():undefined;
const ml=require('/work/main/ml/dist/index');
(async()=>{
  const names=['abdominal_wall','colon','inferior_mesenteric_artery','intestinal_veins','liver','pancreas','small_intestine','spleen','stomach','ureter','vesicular_glands'];const roster=names.map((name,i)=>({id:i+1,name}));
  for (let i=0;i<3;i++){
    let t=Date.now();
    const {dataset}=await openDataset('/tmp/s33/t1/seed-1/data/site-0/data',{roster,size:{width:80,height:64},unknown:'ignore',cacheDir:'/tmp/s33/t1/seed-1/data/site-0/work/cache/80x64',memoryCache:false,facts});
    const t1=Date.now()-t; t=Date.now();
    const w=new Set(['02','07']); let n=0;
    for await (const s of dataset.filter(r=>w.has(r.surgery)).epoch()) n++;
    console.log('scan ms',t1,'load ms',Date.now()-t,'n',n, dataset.length);
  }
})();
