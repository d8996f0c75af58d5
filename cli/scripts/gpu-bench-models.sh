#!/usr/bin/env bash
# The model benches on tfjs-webgpu next to PyTorch fp32 eager and SDPA on the same weights
# (issue 19): GPT-2 small forward (1,024 tokens), ViT-base 224 at batch 8, and the Llama-shaped
# decoder with every operator swapped into every layer at n = 512 … 16,384, for
# docs/benchmarks/models-webgpu.md and models-crossover-webgpu.svg. For the GPU machine, which has
# no Node and no registry; about 3 minutes there (FORWARD_TIMEOUT 100 s and CROSSOVER_TIMEOUT 150 s cap
# its two calls).
#
# Here, from the repo root, after `npm ci && npm run build`: make .gpu-bundle/ as for
# cli/scripts/gpu-bench-operators.sh (onnxruntime-node is not loaded on webgpu, so it can be
# left out of the bundle). There, in one command from the repo root (carry .gpu-bundle):
#   bash cli/scripts/gpu-bench-models.sh
# It writes under $OUT (default ./gpu-out): docs/models-webgpu.{md,json},
# docs/models-crossover-webgpu.svg, models-bench.log, nvidia-smi.txt, versions.txt, date.txt.
set -uo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=gpu-preamble.sh
source cli/scripts/gpu-preamble.sh
# two calls, so a crossover cut short by its timeout keeps the forward rows already written
COMMON=(--backend webgpu --device "$DEVICE" --repeats "${REPEATS:-3}" --write-docs "$OUT/docs")
timeout "${FORWARD_TIMEOUT:-100}" node cli/dist/cli.js bench-models "${COMMON[@]}" --only forward,vit > "$OUT/models-bench.log" 2>&1
forward_status=$?
timeout "${CROSSOVER_TIMEOUT:-150}" node cli/dist/cli.js bench-models "${COMMON[@]}" --only crossover --keep-missing \
  --crossover-n "${NS:-512,1024,2048,4096,8192,16384}" --cell-budget 15 >> "$OUT/models-bench.log" 2>&1
crossover_status=$?
status=$(( forward_status != 0 ? forward_status : crossover_status ))
grep -v '^Warning' "$OUT/models-bench.log" | tail -60
exit "$status"
