#!/usr/bin/env bash
# On the GPU machine, from the repo root, after `source .gpu-bundle/enter.sh` and with the
# exported data in .data/: sizes every named training run to a wall-clock budget, then starts them.
#   [TRAIN_ARGS='--init <checkpoint>'] scripts/gpu-train-timed.sh <minutes> <config names...>
# (TRAIN_ARGS: extra `swapformer train` options for every run, e.g. the checkpoint to start from.)
# 1. probe: all runs together for PROBE_SECONDS (default 90) of wall time, then all stopped at
#    once, so every logged window was measured under the contention of the real runs (a probe of
#    a fixed step count lets fast runs finish first and the slow ones look faster than they are);
#    seconds per step from the logged rows after the first (the first includes compilation);
# 2. real runs: total steps = 0.9 · budget / (seconds per step), so the cosine schedule ends inside
#    the budget; each in its own process session (they outlive this command while the machine is
#    held), --max-minutes as a safety stop, logs in runs/logs/. Watch with scripts/gpu-train-status.sh.
set -uo pipefail
minutes=${1:?minutes}; shift
mkdir -p runs/logs
pids=()
for name in "$@"; do
  rm -rf "runs/probe/$name"
  node cli/dist/cli.js train --config "examples/train-$name.json" --data-dir .data --steps 100000 ${TRAIN_ARGS:-} \
    --output "runs/probe/$name" > "runs/logs/probe-$name.log" 2>&1 < /dev/null &
  pids+=($!)
done
sleep "${PROBE_SECONDS:-90}"
kill "${pids[@]}" 2>/dev/null
wait "${pids[@]}" 2>/dev/null
for name in "$@"; do
  steps=$(node -e '
    const fs = require("fs"); const [file, minutes] = process.argv.slice(1);
    const rows = fs.readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((r) => r.type === "train");
    if (rows.length < 3) throw new Error(`only ${rows.length} logged steps in the probe: raise PROBE_SECONDS or lower logEvery`);
    const [a, b] = [rows[1], rows[rows.length - 1]];
    const perStep = (b.elapsed_s - a.elapsed_s) / (b.step - a.step);
    console.error(JSON.stringify({ file, secondsPerStep: perStep, loss: b.loss }));
    console.log(Math.max(100, Math.floor((0.9 * minutes * 60) / perStep)));
  ' "runs/probe/$name/metrics.jsonl" "$minutes") || { echo "[$name] probe failed:"; tail -c 600 "runs/logs/probe-$name.log"; continue; }
  setsid nohup node cli/dist/cli.js train --config "examples/train-$name.json" --data-dir .data --steps "$steps" ${TRAIN_ARGS:-} \
    --max-minutes "$((minutes + 2))" > "runs/logs/$name.log" 2>&1 < /dev/null &
  echo "started $name: $steps steps (pid $!)"
done
