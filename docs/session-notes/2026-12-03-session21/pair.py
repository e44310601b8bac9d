import json, statistics as st, sys
# usage: pair.py A.json methodA B.json methodB  -> paired A - B by seed
def runs(f,m): return {r['seed']:r for r in json.load(open(f))['methods'][m]['perSeed']}
a=runs(sys.argv[1],sys.argv[2]); b=runs(sys.argv[3],sys.argv[4])
seeds=sorted(set(a)&set(b))
def ms(xs): return f"{st.mean(xs):.1f} ± {st.stdev(xs):.1f}" if len(xs)>1 else f"{xs[0]:.1f}"
print(sys.argv[2], {k: ms([a[s][k] for s in seeds]) for k in ('old','new','all')})
print(sys.argv[4], {k: ms([b[s][k] for s in seeds]) for k in ('old','new','all')})
for k in ('old','new','all'):
    xs=[a[s][k]-b[s][k] for s in seeds]
    print(f"  {sys.argv[2]} - {sys.argv[4]} {k}: {st.mean(xs):+.1f} ± {st.stdev(xs):.1f} ({', '.join(f'{x:+.1f}' for x in xs)})")
