import json,sys,glob,re
from datetime import datetime
def t(s): return datetime.fromisoformat(s.replace('Z','+00:00')).timestamp()
for d in sys.argv[1:]:
    opened={}
    for l in open(d+'/coordinator/coordinator.log'):
        if not l.startswith('{'): continue
        e=json.loads(l); m=re.match(r'opened \w+ round (\S+)', e.get('msg',''))
        if m: opened[m.group(1)]=t(e['time'])
    out=[]
    for f in sorted(glob.glob(d+'/site-*/agent.log')):
        lag=[]
        for l in open(f):
            if not l.startswith('{'): continue
            e=json.loads(l)
            if e['event']=='task' and e.get('round') in opened: lag.append(t(e['time'])-opened[e['round']])
        out.append((round(sum(lag),2), len(lag), round(max(lag),2)))
    print(d.split('/tmp/')[1], out)
