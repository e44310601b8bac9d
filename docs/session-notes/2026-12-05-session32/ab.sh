#!/bin/bash
# A/B: old ml dist (strided-slice weight gradient) against new (flat shifts), alternating.
cd /work/main/ml
for r in 1 2 3; do
  for v in old new; do
    d=dist; [ $v = old ] && d=.ab-old
    echo "== round $r $v"
    MLDIST=/work/main/ml/$d/ node /tmp/s32/prof.js
    MLDIST=/work/main/ml/$d/ node /tmp/s32/gprof.js
    node $d/incremental/bench-step.js 64 8 10 | grep -E "train step ms"
  done
done
