#!/usr/bin/env bash
# `npm run bench:gpu -- EP [OUT]`: the learning engine on a GPU execution provider EP (webgpu or
# cuda), each part beside the same run on the cpu: the site's incremental training step
# (ml/dist/incremental/bench-step.js; also with training on the cpu and inference, the teacher's
# pass included, on EP: a site's trainingExecutionProvider), the engine's training step against PyTorch's twin
# (ml/dist/bench/engine.js, which also reports how far the provider's losses stray from the cpu's)
# and the diffusion generator's training and sampling (ml/dist/diffusion/bench.js). One JSON file and
# one log per part in OUT (default bench-gpu/). PyTorch's twin runs on cuda when PYTHON (default
# python3) has a torch that sees a GPU. nvidia-smi, where there is one, samples the GPU's use each
# second into OUT/nvidia-smi.csv. Each part has its own time limit (LIMIT seconds, default 150), so a
# part that hangs leaves the others' figures; the script exits 1 if any part failed or timed out. A
# provider that cannot start falls back to cpu and says why under the part's "notes".
set -u
EP=${1:?usage: bench-gpu.sh webgpu|cuda [OUT]}
OUT=${2:-bench-gpu}
PYTHON=$(command -v "${PYTHON:-python3}" || echo /usr/bin/python3)
LIMIT=${LIMIT:-150}
cd "$(dirname "$0")/.."
mkdir -p "$OUT"

failed=0
part() {
  local name=$1 start=$SECONDS status
  shift
  timeout "$LIMIT" "$@" >"$OUT/$name.json" 2>"$OUT/$name.log"
  status=$?
  echo "$name: exit $status after $((SECONDS - start)) s"
  [ "$status" -eq 0 ] || failed=1
}

smi=
if command -v nvidia-smi >/dev/null; then
  nvidia-smi -L
  nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader -l 1 >"$OUT/nvidia-smi.csv" &
  smi=$!
fi
torchDevice=$("$PYTHON" -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")' 2>/dev/null || echo cpu)
echo "execution provider $EP; PyTorch's twin: $PYTHON on $torchDevice"

part "step-$EP" node ml/dist/incremental/bench-step.js --ep "$EP"
part "step-$EP-training-cpu" node ml/dist/incremental/bench-step.js --ep "$EP" --training-ep cpu
part step-cpu node ml/dist/incremental/bench-step.js --ep cpu
part "engine-$EP" node ml/dist/bench/engine.js --ep "$EP" --sizes 64,128 --steps 50 --python "$PYTHON" --torch-device "$torchDevice"
part engine-cpu node ml/dist/bench/engine.js --ep cpu --sizes 64,128 --steps 50 --python "$PYTHON" --torch-device cpu
part "diffusion-$EP" node ml/dist/diffusion/bench.js --ep "$EP"
part diffusion-cpu node ml/dist/diffusion/bench.js --ep cpu

[ -n "$smi" ] && kill "$smi"
exit "$failed"
