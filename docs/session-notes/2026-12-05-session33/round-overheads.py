# Evaluation rounds (task -> evaluation reported) and segmenter rounds' start (task -> first train
# progress, ours left out: its first round builds the replay set and runs the replay check), over
# every site log of two bench:ciss working folders: the thirty-second session's (before FileFacts)
# and this session's (after).
import json, datetime, glob
def t(s): return datetime.datetime.fromisoformat(s.replace('Z', '+00:00')).timestamp()
def spans(path, kind, end_event):
    out, start = [], None
    for line in open(path):
        e = json.loads(line)
        if e.get('event') == 'task': start = t(e['time']) if kind in e.get('kind', '') else None
        elif e.get('event') == end_event and start is not None: out.append(t(e['time']) - start); start = None
    return out
for root in ('/tmp/s32/quick/work', '/tmp/s33/q100'):
    logs = glob.glob(root + '/seed-*/runs/*/site-*/agent.log')
    ev = sorted(x for p in logs for x in spans(p, 'EVALUATE', 'evaluation reported'))
    tr = sorted(x for p in logs if '/ours/' not in p for x in spans(p, 'SEGMENTER', 'train progress'))
    print(f'{root}: evaluation rounds {len(ev)}, median {ev[len(ev)//2]:.2f} s; segmenter round to first step {len(tr)}, median {tr[len(tr)//2]:.2f} s')
