import json,glob,collections,sys
for f in sorted(glob.glob('/tmp/s43/prof/*.cpuprofile')):
    d=json.load(open(f))
    nodes={n['id']:n for n in d['nodes']}
    dt=collections.Counter()
    for sid,delta in zip(d['samples'],d['timeDeltas']):
        n=nodes[sid]['callFrame']
        dt[(n['functionName'] or '(anon)')+' '+n['url'].split('/')[-1]+':'+str(n['lineNumber'])]+=delta
    tot=sum(dt.values())
    if tot<1e6: continue
    print(f, round(tot/1e6,2),'s')
    for k,v in dt.most_common(int(sys.argv[1]) if len(sys.argv)>1 else 20): print('   %6.1f%% %s'%(100*v/tot,k))
