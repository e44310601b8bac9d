const fs=require('fs/promises'),path=require('path');
async function walk(d,out){for(const e of await fs.readdir(d,{withFileTypes:true})){const p=path.join(d,e.name); if(e.isDirectory()) await walk(p,out); else out.push(p);} return out;}
(async()=>{for(let i=0;i<3;i++){let t=Date.now(); const files=await walk('/tmp/s33/t1/seed-1/data/site-0/data',[]); const t1=Date.now()-t; t=Date.now();
 await Promise.all(files.map(f=>fs.stat(f))); const t2=Date.now()-t; t=Date.now();
 for (let k=0;k<files.length;k+=64) await Promise.all(files.slice(k,k+64).map(async f=>{const h=await fs.open(f);const b=Buffer.alloc(33);await h.read(b,0,33,0);await h.close();}));
 console.log('readdir',t1,'stat',t2,'headers',Date.now()-t,files.length);}})();
