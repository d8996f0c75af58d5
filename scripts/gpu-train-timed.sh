#!/usr/bin/env bash
# On the GPU machine, from the repo root, after `source .gpu-bundle/enter.sh` and with the
# exported data in .data/: sizes every named training run to a wall-clock budget, then starts them.
#   scripts/gpu-train-timed.sh <minutes> <config names...>
# 1. probe: all runs together for a few dozen steps (the contention of the real runs), seconds per
#    step from the last logged window;
# 2. real runs: total steps = 0.9 · budget / (seconds per step), so the cosine schedule ends inside
#    the budget; each in its own process session (they outlive this command while the machine is
#    held), --max-minutes as a safety stop, logs in runs/logs/. Watch with scripts/gpu-train-status.sh.
set -uo pipefail
minutes=${1:?minutes}; shift
mkdir -p runs/logs
pids=()
for name in "$@"; do
  node registry/dist/cli.js train --config "examples/train-$name.json" --data-dir .data --steps "${PROBE_STEPS:-60}" \
    --output "runs/probe/$name" > "runs/logs/probe-$name.log" 2>&1 < /dev/null &
  pids+=($!)
done
wait "${pids[@]}"
for name in "$@"; do
  steps=$(node -e '
    const fs = require("fs"); const [file, minutes] = process.argv.slice(1);
    const rows = fs.readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((r) => r.type === "train");
    const [a, b] = rows.slice(-2);
    const perStep = (b.elapsed_s - a.elapsed_s) / (b.step - a.step);
    console.error(JSON.stringify({ file, secondsPerStep: perStep, loss: b.loss }));
    console.log(Math.max(100, Math.floor((0.9 * minutes * 60) / perStep)));
  ' "runs/probe/$name/metrics.jsonl" "$minutes") || { echo "[$name] probe failed:"; tail -c 600 "runs/logs/probe-$name.log"; continue; }
  setsid nohup node registry/dist/cli.js train --config "examples/train-$name.json" --data-dir .data --steps "$steps" \
    --max-minutes "$((minutes + 2))" > "runs/logs/$name.log" 2>&1 < /dev/null &
  echo "started $name: $steps steps (pid $!)"
done
