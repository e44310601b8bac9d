import json,sys,collections
d=json.load(open(sys.argv[1]))
by=collections.Counter(); n=collections.Counter(); names=collections.Counter()
runs=0
for e in d:
    if e.get('cat')=='Node' and e['name'].endswith('_kernel_time'):
        op=e['args'].get('op_name'); by[op]+=e['dur']; n[op]+=1; names[e['name']]+=e['dur']
    if e.get('cat')=='Session' and e['name']=='model_run': runs+=1
tot=sum(by.values())
print('runs',runs,'total kernel ms per run',tot/1000/max(runs,1))
for op,v in by.most_common(25): print(f"{op:28s} {v/1000/max(runs,1):8.1f} ms  {100*v/tot:5.1f}%  n/run={n[op]/max(runs,1):.0f}")
print('--- top nodes')
for k,v in names.most_common(int(sys.argv[2]) if len(sys.argv)>2 else 15): print(f"{k:60s} {v/1000/max(runs,1):8.2f}")
