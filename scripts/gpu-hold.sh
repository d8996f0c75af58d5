#!/usr/bin/env bash
# One GPU hold's whole plan, run in the background so that it outlives the device command that
# starts it (the machine is held only while commands keep coming: poll without gaps).
# On the GPU machine, from the repo root, after `source .gpu-bundle/enter.sh`, with .data/ there:
#   bash scripts/gpu-hold.sh start     # returns at once; steps below run in order
#   bash scripts/gpu-hold.sh status    # what runs, the last lines of the log
#   bash scripts/gpu-hold.sh collect <dir>   # tars what a finished step left, for $OUT
# Steps (each logged to runs/hold/hold.log; a failed step is logged and the next one still runs):
#   bench: cli/scripts/gpu-bench.sh (OUT=runs/hold/bench)
#   full: swapformer run examples/dropin-gpu.json --full --data-dir .data → docs/results/dropin-full.*
#   train: scripts/gpu-train-timed.sh $TRAIN_MINUTES $TRAIN_CONFIGS with $TRAIN_ARGS (runs share the GPU)
#   polish: $POLISH_CONFIG from the best-validation run of $POLISH_FROM, --steps $POLISH_STEPS
#   keep: if the polished (or else the best trained) weights beat $KEEP_ABOVE on validation,
#      they replace examples/checkpoints/vit-fmnist-exact in this copy (runs/hold/kept says which)
# Default plan (session 6): the benchmark with the WGSL paths; the exact ViT continued with random
# erasing next to the TOST ViT continued; the exact run polished without augmentation and kept if
# it beats the committed weights' validation (0.8954); then the --full report on what is kept.
# Session 5's plan was TRAIN_CONFIGS=vit-exact-cycle STEPS='train polish keep full bench'.
# Not on the development machine: gpu-bench.sh sources .gpu-bundle/enter.sh, which unpacks the
# bundle's dist/ folders and node_modules over the tree (rebuild with `npm run clean && npm run build`).
set -uo pipefail
cd "$(dirname "$0")/.."
# The bundle's Node (each device command starts a fresh shell; `collect` needs node too).
[[ -d /opt/node/bin ]] && PATH=/opt/node/bin:$PATH
HOLD=runs/hold
TRAIN_MINUTES=${TRAIN_MINUTES:-14}
TRAIN_CONFIGS=${TRAIN_CONFIGS:-vit-exact-erase vit-tost-continue}
TRAIN_ARGS=${TRAIN_ARGS:-}
POLISH_FROM=${POLISH_FROM:-vit-exact-erase}
POLISH_CONFIG=${POLISH_CONFIG:-vit-exact-polish-2}
POLISH_STEPS=${POLISH_STEPS:-450}
KEEP_ABOVE=${KEEP_ABOVE:-0.8954}
STEPS=${STEPS:-bench train polish keep full}

log() { echo "[$(date +%H:%M:%S)] $*" >> "$HOLD/hold.log"; }

# "<best validation accuracy> <run folder>" over the metrics of the named configs' outputs.
best_run() {
  node -e '
    const fs = require("fs");
    let best = [-1, ""];
    for (const name of process.argv.slice(1)) {
      const out = require(`./examples/train-${name}.json`).output;
      const file = `${out}/metrics.jsonl`;
      if (!fs.existsSync(file)) continue;
      for (const line of fs.readFileSync(file, "utf8").trim().split("\n")) {
        const r = JSON.parse(line);
        if (r.type === "eval" && r.value > best[0] && fs.existsSync(`${out}/best`)) best = [r.value, out];
      }
    }
    console.log(best.join(" "));
  ' "$@"
}

wait_for_training() {
  sleep 5
  while pgrep -f "cli.js train" > /dev/null; do sleep 10; done
}

run_steps() {
  for step in $STEPS; do
    log "step $step"
    case $step in
      train)
        # shellcheck disable=SC2086
        TRAIN_ARGS="$TRAIN_ARGS" bash scripts/gpu-train-timed.sh "$TRAIN_MINUTES" $TRAIN_CONFIGS >> "$HOLD/hold.log" 2>&1
        wait_for_training ;;
      polish)
        # shellcheck disable=SC2086
        read -r value from <<< "$(best_run $POLISH_FROM)"
        if [[ -z ${from:-} ]]; then log "no trained run to polish"; continue; fi
        log "polishing $from/best (validation $value)"
        node cli/dist/cli.js train --config "examples/train-$POLISH_CONFIG.json" --data-dir .data --init "$from/best" \
          --steps "$POLISH_STEPS" > "$HOLD/polish.log" 2>&1 < /dev/null || log "polish failed: $(tail -c 300 "$HOLD/polish.log")" ;;
      keep)
        # shellcheck disable=SC2086
        read -r value from <<< "$(best_run $POLISH_FROM $POLISH_CONFIG)"
        if [[ -n ${from:-} ]] && node -e 'process.exit(Number(process.argv[1]) > Number(process.argv[2]) ? 0 : 1)' "$value" "$KEEP_ABOVE"; then
          cp "$from/best/model.safetensors" examples/checkpoints/vit-fmnist-exact/model.safetensors
          echo "$from $value" > "$HOLD/kept"
          log "kept $from/best (validation $value > $KEEP_ABOVE)"
        else
          log "kept the committed weights (best run: ${from:-none} ${value:-})"
        fi ;;
      full)
        node cli/dist/cli.js run examples/dropin-gpu.json --full --data-dir .data > "$HOLD/full.log" 2>&1 < /dev/null \
          || log "full run failed: $(tail -c 300 "$HOLD/full.log")" ;;
      bench)
        OUT=$PWD/$HOLD/bench bash cli/scripts/gpu-bench.sh > "$HOLD/bench.log" 2>&1 < /dev/null || log "bench failed (see bench.log)" ;;
      *) log "unknown step $step" ;;
    esac
  done
  log "done"
}

case ${1:-} in
  start)
    mkdir -p "$HOLD" runs/logs
    log "start: TRAIN_MINUTES=$TRAIN_MINUTES TRAIN_CONFIGS='$TRAIN_CONFIGS' TRAIN_ARGS='$TRAIN_ARGS' STEPS='$STEPS'"
    export -f log best_run wait_for_training run_steps
    export HOLD TRAIN_MINUTES TRAIN_CONFIGS TRAIN_ARGS POLISH_FROM POLISH_CONFIG POLISH_STEPS KEEP_ABOVE STEPS
    setsid nohup bash -c run_steps > /dev/null 2>&1 < /dev/null &
    echo "started (log: $HOLD/hold.log)" ;;
  status)
    tail -n 12 "$HOLD/hold.log" 2>/dev/null
    bash scripts/gpu-train-status.sh 2>/dev/null | tail -n 12 ;;
  collect)
    dest=${2:?collect <dir>}
    mkdir -p "$dest"
    files=("$HOLD" runs/logs docs/results/dropin-full.md docs/results/dropin-full.svg)
    for name in $TRAIN_CONFIGS $POLISH_CONFIG; do
      out=$(node -e "console.log(require('./examples/train-$name.json').output)")
      files+=("$out/metrics.jsonl" "$out/best")
    done
    existing=()
    for f in "${files[@]}"; do [[ -e $f ]] && existing+=("$f"); done
    if [[ ${#existing[@]} -eq 0 ]]; then echo "nothing to collect yet"; exit 1; fi
    tar czf "$dest/hold.tgz" "${existing[@]}" && ls -la "$dest" ;;
  *)
    echo "usage: scripts/gpu-hold.sh start | status | collect <dir>" >&2
    exit 2 ;;
esac
