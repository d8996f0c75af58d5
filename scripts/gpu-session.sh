#!/usr/bin/env bash
# The GPU work of a session, one device command per phase (a command may run 10 minutes; the
# lease is 30 minutes a session, so each phase is sized to finish in ≈ 9).
#
# Here, from the repo root, after `npm ci && npm run build`:
#   bash scripts/gpu-bundle.sh                       # .gpu-bundle/: Node, modules, loaders
#   bash scripts/gpu-session.sh pack-data          # .data-gpu/data.tar.xz: SOTU + the Fashion-MNIST
#                                                    # test set, raw and xz'd (6.3 MB; gzip'd 8.0);
#                                                    # `pack-data sotu`: SOTU only (0.6 MB)
# There (device tool, carry .gpu-bundle and .data-gpu), from the repo root:
#   PHASE=quality bash scripts/gpu-session.sh   char-GPT adaptation runs (`swapformer adapt`, several
#                                               at once) beside the GPU drop-in report (--full)
#   PHASE=bench   bash scripts/gpu-session.sh   flash-attention tuning, operator and model benchmarks
#   PHASE=all     bash scripts/gpu-session.sh   the adaptation runs of quality beside bench (one command)
# Everything lands under $OUT as a few files (the device returns at most a handful): logs and
# tarballs of what to commit.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-out}
if [[ ${1:-} == pack-data ]]; then
  # the export (exportTrainingData) less the training images, recompressed smaller for the trip
  tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
  node cli/dist/data/exportTrainingData.js "$tmp/export" > /dev/null && rm "$tmp"/export/fashion-mnist/train-*
  # `pack-data sotu`: the char-GPT runs need only SOTU (the tree that travels is capped at 64 MiB)
  (cd "$tmp/export" && gunzip -r . && tar -cf - ${2:-fashion-mnist sotu} | xz -9e -T2 > "$tmp/data.tar.xz")
  mkdir -p .data-gpu && mv "$tmp/data.tar.xz" .data-gpu/ && ls -la .data-gpu
  exit 0
fi
PHASE=${PHASE:?PHASE=quality or PHASE=bench}
mkdir -p "$OUT/work"
if [[ -f .gpu-bundle/enter.sh && -z ${NO_BUNDLE:-} ]]; then
  # shellcheck disable=SC1091
  source .gpu-bundle/enter.sh > "$OUT/work/versions.txt" 2>&1 || { cat "$OUT/work/versions.txt"; exit 1; }
fi
nvidia-smi > "$OUT/work/nvidia-smi.txt" 2>&1 || true
python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)' >> "$OUT/work/versions.txt" 2>&1 || true
DEVICE=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
export DEVICE=${DEVICE:-unknown GPU}
date -u > "$OUT/work/start.txt"
if [[ -f .data-gpu/data.tar.xz && ! -d .data ]]; then
  mkdir -p .data && tar -xJf .data-gpu/data.tar.xz -C .data && gzip -1 -r .data
fi
cli() { node cli/dist/cli.js "$@"; }

# the adaptation runs (and the TOST tokenShift probe) in the background; `wait` collects them
start_adaptation() {
  local minutes=${ADAPT_MINUTES:-7.5} data=${DATA_DIR:-.data}
  local gpt=(--checkpoint examples/checkpoints/gpt-sotu-exact --config examples/train-gpt-exact.json --backend webgpu --data-dir "$data" --batch-size 32 --max-minutes "$minutes")
  mkdir -p runs/gpu
  # ≤ 10 % of the exact GPT's training (6,023 steps × 32 × 512): 500 steps × 32 × 512 each
  cli adapt "${gpt[@]}" --output runs/gpu/gpt-performer --attention '{"name":"performer","options":{"featureMap":"learned"}}' \
    --transfer-steps 200 --transfer-lr 0.01 --finetune-steps 300 --finetune-lr 0.002 --lora-rank 16 > "$OUT/work/adapt-gpt-performer.log" 2>&1 &
  cli adapt "${gpt[@]}" --output runs/gpu/gpt-performer-full --attention '{"name":"performer","options":{"featureMap":"learned"}}' \
    --transfer-steps 200 --transfer-lr 0.01 --finetune-steps 300 --finetune-lr 0.0005 --lora-rank 0 > "$OUT/work/adapt-gpt-performer-full.log" 2>&1 &
  cli adapt "${gpt[@]}" --output runs/gpu/gpt-lev --attention '{"name":"levattention","options":{"k":32}}' \
    --transfer-steps 150 --transfer-lr 0.001 --transfer-qk --finetune-steps 350 --finetune-lr 0.002 --lora-rank 16 > "$OUT/work/adapt-gpt-lev.log" 2>&1 &
  if [[ -f ${TOST_CONFIG:-examples/train-gpt-tost-shift.json} ]]; then
    cli train --config "${TOST_CONFIG:-examples/train-gpt-tost-shift.json}" --data-dir "$data" --steps "${TOST_STEPS:-400}" --max-minutes "${minutes%.*}" --output runs/gpu/gpt-tost-shift > "$OUT/work/train-gpt-tost-shift.log" 2>&1 &
  fi
}

quality() {
  start_adaptation
  timeout "${DROPIN_SECONDS:-480}" node cli/dist/cli.js run examples/dropin-gpu.json --full --data-dir "${DATA_DIR:-.data}" --keep-going > "$OUT/work/dropin.log" 2>&1
  echo "drop-in report: status $?" >> "$OUT/work/dropin.log"
  wait
  cp docs/results/dropin-full.* "$OUT/work/" 2>/dev/null
  # the adapted checkpoints (small) and every stage's metrics; resumable last/ only where a stage paused
  tar -czf "$OUT/quality.tgz" -C "$OUT/work" . -C "$PWD" runs/gpu
}

# one command for both when the lease has room for only one: the adaptation runs share the GPU
# with the benchmarks (the flash tuner's timestamp-query GPU times are the figures that hold)
all() {
  start_adaptation
  bench_steps
  wait
  tar -czf "$OUT/all.tgz" -C "$OUT/work" . -C "$PWD" runs/gpu
}

bench_steps() {
  # 1. the flash-attention program's tiles and key splits against the row-block path and torch SDPA
  BUDGET_S=${FLASH_BUDGET_S:-100} timeout 170 node cli/scripts/gpu-tune-flash.cjs > "$OUT/work/flash-tune.jsonl" 2> "$OUT/work/flash-tune.err"
  echo "flash tuning: status $?" >> "$OUT/work/flash-tune.err"
  # the operator benchmark runs exact on the flash program where it beat the row-block path at every n
  if node -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter((l) => l.includes("\"summary\""));
    const s = lines.length ? JSON.parse(lines[lines.length - 1]) : null;
    const cells = s ? s.perCell.filter((c) => c.vsRowBlock != null) : [];
    process.exit(cells.length > 0 && cells.every((c) => c.vsRowBlock < 1) ? 0 : 1);
  ' "$OUT/work/flash-tune.jsonl"; then echo "flash faster at every n" >> "$OUT/work/flash-tune.err"; else export SWAPFORMER_WEBGPU_FUSED=0; echo "flash off for the operator benchmark" >> "$OUT/work/flash-tune.err"; fi
  # 2. every operator at n = 4,096 / 16,384 / 65,536 (h 4, d 64) with torch SDPA
  OUT="$OUT/work/operators" BENCH_TIMEOUT=${OPERATORS_SECONDS:-150} bash cli/scripts/gpu-bench-operators.sh > "$OUT/work/operators.log" 2>&1
  unset SWAPFORMER_WEBGPU_FUSED
  # 3. causal LevAttention on the device against exact causal
  NS=512,2048,8192 timeout 60 node cli/scripts/time-causal-levattention.cjs > "$OUT/work/causal-lev.jsonl" 2>&1
  # 4. whole models on webgpu next to PyTorch (same weights)
  if [[ -f cli/scripts/gpu-bench-models.sh ]]; then
    OUT="$OUT/work/models" bash cli/scripts/gpu-bench-models.sh > "$OUT/work/models.log" 2>&1
  fi
}

# the TOST tokenShift GPT on its full schedule (resumable across commands: TOST_RESUME=1 and carry
# runs/gpu/gpt-tost-shift back) beside the webgpu model tables and crossover
tost_models() {
  local data=${DATA_DIR:-.data}
  mkdir -p runs/gpu
  cli train --config examples/train-gpt-tost-shift.json --data-dir "$data" --steps "${TOST_STEPS:-2500}" --max-minutes "${TOST_MINUTES:-8}" \
    --output runs/gpu/gpt-tost-shift ${TOST_RESUME:+--resume} > "$OUT/work/train-gpt-tost-shift.log" 2>&1 &
  OUT="$OUT/work/models" CROSSOVER_TIMEOUT=${CROSSOVER_TIMEOUT:-360} bash cli/scripts/gpu-bench-models.sh > "$OUT/work/models.log" 2>&1
  wait
  tar -czf "$OUT/tost-models.tgz" -C "$OUT/work" . -C "$PWD" --exclude optimizer runs/gpu
  [[ -d runs/gpu/gpt-tost-shift/last ]] && tar -czf "$OUT/tost-last.tgz" runs/gpu/gpt-tost-shift/last
}

bench() {
  bench_steps
  tar -czf "$OUT/bench.tgz" -C "$OUT/work" .
}

"$PHASE"
date -u >> "$OUT/work/start.txt"
rm -rf "$OUT/work"
ls -la "$OUT"
