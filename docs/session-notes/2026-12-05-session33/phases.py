import os
SITE=os.environ.get("SITE","site-0")
import sys,json,glob,datetime
def t(s): return datetime.datetime.fromisoformat(s.replace('Z','+00:00')).timestamp()
for run in sys.argv[1:]:
  ev=[]
  for l in open(run+'/'+SITE+'/agent.log'):
    try: ev.append(json.loads(l))
    except: pass
  ev=[e for e in ev if 'time' in e]
  start=t(ev[0]['time']); end=t(ev[-1]['time'])
  # phases: from task to first progress, progress windows, eval
  acc={}
  cur=None; curt=None
  for e in ev:
    tt=t(e['time']); name=e.get('event')
    if name=='task': ph='setup:'+e['kind'].replace('TASK_KIND_','')
    elif name in ('train progress','generator progress'): ph='train'
    elif name in ('replay progress',): ph='replay-gen'
    elif name=='replay-check progress': ph='replay-check'
    elif name=='replay check': ph='after-check'
    elif name in ('upload progress','update accepted','download progress','evaluation reported'): ph='io:'+name
    else: ph='other:'+str(name)
    if cur: acc[cur]=acc.get(cur,0)+tt-curt
    cur,curt=ph,tt
  print(run, 'total %.1f'%(end-start), {k:round(v,1) for k,v in sorted(acc.items(),key=lambda x:-x[1])})
