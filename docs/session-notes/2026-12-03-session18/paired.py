"""Paired per-seed differences of variant runs (each file: one method) against the seventeenth
session's ours and MiB (gated.json; reruns from the same step-0 models repeat to 0.05).
python3 paired.py ../2026-12-02-session17/gated.json variant.json..."""
import json, statistics as st, sys
base = json.load(open(sys.argv[1]))['methods']
ref = {k: {r['seed']: r for r in base[k]['perSeed']} for k in ('ours', 'mib')}
def pd(runs, b, key):
    xs = [runs[s][key] - ref[b][s][key] for s in sorted(runs)]
    return f"{st.mean(xs):+.1f} ± {st.stdev(xs):.1f} ({', '.join(f'{x:+.1f}' for x in xs)})"
for f in sys.argv[2:]:
    for k, m in json.load(open(f))['methods'].items():
        runs = {r['seed']: r for r in m['perSeed']}
        for b in ('ours', 'mib'):
            print(f"{f.split('/')[-1]} {k} - {b}: old {pd(runs, b, 'old')} | new {pd(runs, b, 'new')} | all {pd(runs, b, 'all')}")
