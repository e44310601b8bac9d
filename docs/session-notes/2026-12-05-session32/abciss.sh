#!/bin/bash
# End-to-end A/B of bench:ciss runs (quick profile, seed 1): the engine before the flat-shift weight
# gradient (ml/.ab-old: ml/dist with ops/conv.js from 7f730dd) against after (ml/dist), alternating.
# Every run of a variant swaps ml/dist in place, so the site agents and the coordinator load that engine.
# Usage: abciss.sh OUT REUSE_DIR METHOD VARIANTS...   (REUSE_DIR without seed-1: step 0 is trained too)
set -u
out=$1; reuse=$2; method=$3; shift 3
cd /work/main
i=0
for v in "$@"; do
  i=$((i+1))
  if [ "$v" = old ]; then mv ml/dist ml/dist-new && cp -a ml/.ab-old ml/dist; fi
  node e2e/dist/bench/ciss/main.js --setting 6-5 --quick --methods "$method" --seeds 1 --reuse-step0 "$reuse" \
    --out "$out/work-$i-$v" --json "$out/$i-$v.json" > "$out/$i-$v.log" 2>&1
  echo "run $i $v rc $?: $(grep -E 'done in' "$out/$i-$v.log" | sed 's/^ *//' | tr '\n' ' ')"
  if [ "$v" = old ]; then rm -rf ml/dist && mv ml/dist-new ml/dist; fi
  rm -rf "$out/work-$i-$v"
done
