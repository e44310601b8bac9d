import json, statistics as st, sys
runs = {}
for f in sys.argv[1:]:
    d = json.load(open(f))
    for k, m in d['methods'].items():
        runs[k] = {r['seed']: r for r in m['perSeed']}
def pd(a, b, key):
    xs = [runs[a][s][key] - runs[b][s][key] for s in sorted(runs[a]) if s in runs[b]]
    return f"{st.mean(xs):+.1f} ± {st.stdev(xs):.1f} ({', '.join(f'{x:+.1f}' for x in xs)})"
pairs = [('ours','mib'),('ours','joint'),('ours','finetune')] + [('ours', k) for k in runs if k.startswith('ours-')] + [(k,'mib') for k in runs if k.startswith('ours-')] + [(k,'joint') for k in runs if k.startswith('ours-')]
for a, b in pairs:
    if a in runs and b in runs:
        print(f"{a} - {b}: old {pd(a,b,'old')} | new {pd(a,b,'new')} | all {pd(a,b,'all')}")
