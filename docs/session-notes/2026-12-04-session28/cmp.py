# Paired per-seed comparison of bench:ciss runs: python3 cmp.py FILE:method [FILE:method ...]; first is the reference.
import json, sys, statistics as st
runs = []
for a in sys.argv[1:]:
    f, m = a.rsplit(':', 1)
    d = json.load(open(f))['methods'][m]
    runs.append((m, {r['seed']: r for r in d['perSeed']} if 'seed' in d['perSeed'][0] else {s: r for s, r in zip(json.load(open(f))['seeds'], d['perSeed'])}))
ref_name, ref = runs[0]
for name, r in runs:
    seeds = sorted(set(r) & set(ref))
    line = f"{name:24s} seeds {seeds}: "
    for k in ('old', 'new', 'all'):
        vals = [r[s][k] for s in seeds]
        line += f"{k} {st.mean(vals):5.1f} "
    line += f"ureter {st.mean([r[s]['perClass'].get('ureter', 0) for s in seeds]):4.1f} stomach {st.mean([r[s]['perClass'].get('stomach', 0) for s in seeds]):4.1f}"
    if name != ref_name or r is not ref:
        for k in ('old', 'new', 'all'):
            dif = [r[s][k] - ref[s][k] for s in seeds]
            line += f" | d{k} {st.mean(dif):+.1f}±{(st.stdev(dif) if len(dif) > 1 else 0):.1f}"
    print(line)
