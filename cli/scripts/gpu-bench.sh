#!/usr/bin/env bash
# The GPU benchmark run (issue 7), for the GPU machine that has no Node and no registry.
#
# Here, from the repo root, with every plugin built:
#   npm ci && npm run build && scripts/gpu-bundle.sh      (or ../shared/tools/gpu-bundle.sh)
# There, from the repo root, in one command (the device tool; carry .gpu-bundle):
#   bash cli/scripts/gpu-bench.sh
# It writes under $OUT (default ./gpu-out):
#   docs/webgpu.md, docs/webgpu.svg, docs/webgpu.json   the tables and plot to commit as docs/benchmarks/
#   webgpu.json      the same report, rewritten after every n (kept if the run is cut short)
#   bench.log        the whole console output; nvidia-smi.txt, versions.txt
#   fused-check.log  the fused WebGPU program vs the tfjs-op path (max |diff| per case, then timings)
# Rows: our operators on tfjs-webgpu (Dawn through the webgpu package), the plain tfjs composition,
# and PyTorch fp32 naive / fp32 SDPA / bf16 flash on the same GPU, timed in the same run through a
# python3 child. The exact row's error against torch SDPA is its correctness check on the GPU.
set -uo pipefail
cd "$(dirname "$0")/../.."
NS=${NS:-1024,2048,4096,8192,16384,32768,65536}
HEADS=${HEADS:-4}

# shellcheck source=gpu-preamble.sh
source cli/scripts/gpu-preamble.sh
{ node --version; python3 -c 'import torch, numpy; print("torch", torch.__version__, "cuda", torch.version.cuda, "numpy", numpy.__version__)'; } >> "$OUT/versions.txt" 2>&1

# the flash exact-attention program (the default) runs in the benchmark only if it matches the op
# path here and is faster than it at every timed n; otherwise the row-block path runs (tuned by
# cli/scripts/gpu-tune-flash.cjs)
if timeout 90 node cli/scripts/check-webgpu-fused.cjs > "$OUT/fused-check.log" 2>&1 && node -e '
  const rows = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter((l) => l.includes("fusedMs")).map((l) => JSON.parse(l));
  process.exit(rows.length > 0 && rows.every((r) => r.fusedMs < r.rowBlockOpsMs) ? 0 : 1);
' "$OUT/fused-check.log"; then :; else
  export SWAPFORMER_WEBGPU_FUSED=0
fi
cat "$OUT/fused-check.log"

# 420 s keeps the whole script inside one 10-minute device command (unpacking ~30 s, the check
# ≤ 90 s); webgpu.json holds every finished n, so a cut-short sweep still renders.
timeout 420 node cli/dist/cli.js bench --backend webgpu --device "$DEVICE" --n "$NS" --heads "$HEADS" \
  --peers tfjs-plain,torch-naive,torch-sdpa,torch-bf16-flash --tfjs-ops-rows --repeats 5 --cell-budget 6 --min-repeats 1 --profile-max-n "${PROFILE_MAX_N:-16384}" \
  --out "$OUT/webgpu.json" --write-docs "$OUT/docs" 2>&1 | tee "$OUT/bench.log"
status=${PIPESTATUS[0]}
if [[ $status -ne 0 && -f $OUT/webgpu.json ]]; then
  echo "bench stopped (status $status): rendering the partial report" | tee -a "$OUT/bench.log"
  node cli/dist/cli.js bench --render "$OUT/webgpu.json" --write-docs "$OUT/docs" >> "$OUT/bench.log" 2>&1
fi

# correctness of the GPU path: exact vs PyTorch SDPA at every n where both ran
[[ -f $OUT/webgpu.json ]] || { echo "no report was written" | tee -a "$OUT/bench.log"; exit 1; }
node -e '
const r = require(process.argv[1]);
const bad = r.cells.filter((c) => c.contender === "exact" && c.relativeError !== null && !(c.relativeError < 1e-4));
for (const c of r.cells.filter((c) => c.contender === "exact")) console.log(`exact n=${c.n}: ${c.medianMs === null ? c.note : c.medianMs.toFixed(2) + " ms"}, rel. error vs reference ${c.relativeError}`);
if (bad.length) { console.error("exact on webgpu disagrees with the reference:", bad.map((c) => c.n)); process.exit(1); }
' "$OUT/webgpu.json" 2>&1 | tee -a "$OUT/bench.log"
exit "$status"
