#!/bin/bash
# interleaved: transfer section at several chunk sizes, 4 rounds
cd /tmp/s51/tree
for r in 1 2 3 4; do
  for c in 4128768 1048576 524288 2097152; do
    S51_CHUNK=$c node e2e/dist/bench/scale/main.js --sections transfer --json /tmp/s51/chunks/r$r-c$c.json > /dev/null 2>> /tmp/s51/chunks/err.log
    echo "$(date +%T) r$r c$c rc=$?"
  done
done
