import json,glob,statistics as st,collections
rows=collections.defaultdict(list)
for f in sorted(glob.glob('/tmp/s51/chunks/r*-c*.json')):
    c=int(f.split('-c')[1].split('.')[0]); d=json.load(open(f))
    for sec in ['transfer','transferTls']:
        t=d.get(sec,{})
        if 'grpcDownloadMBps' in t: rows[(sec,c)].append(t)
for (sec,c),ts in sorted(rows.items()):
    f=lambda k: (round(st.mean(t[k] for t in ts)), round(st.stdev(t[k] for t in ts)) if len(ts)>1 else 0)
    print(sec, c, len(ts), 'grpc down', f('grpcDownloadMBps'), 'up', f('grpcUploadMBps'), 'raw down', f('rawDownloadMBps'), 'raw up', f('rawUploadMBps'), 'rawHashed down', f('rawHashedDownloadMBps'))
