#!/usr/bin/env bash
# On the GPU machine: runs the named training configs for a few steps each, all at once (as the
# real runs share the GPU), and prints their throughput and seconds per step, so the real runs'
# step budgets can be sized to the time the machine is held.
#   scripts/gpu-calibrate.sh <steps> <config names...>
set -uo pipefail
steps=${1:?steps}; shift
mkdir -p runs/logs
pids=()
for name in "$@"; do
  node registry/dist/cli.js train --config "examples/train-$name.json" --data-dir .data --steps "$steps" \
    --output "runs/calibrate/$name" > "runs/logs/calibrate-$name.log" 2>&1 < /dev/null &
  pids+=($!)
done
wait "${pids[@]}"
for name in "$@"; do
  node -e '
    const fs = require("fs"); const [name, file] = process.argv.slice(1);
    const rows = fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((r) => r.type === "train") : [];
    const late = rows.slice(Math.floor(rows.length / 2));
    const dt = late.length > 1 ? (late.at(-1).elapsed_s - late[0].elapsed_s) / (late.at(-1).step - late[0].step) : NaN;
    console.log(JSON.stringify({ name, steps: rows.at(-1)?.step, loss: rows.at(-1)?.loss, s_per_step: dt, throughput: late.at(-1)?.throughput, unit: late.at(-1)?.unit }));
  ' "$name" "runs/calibrate/$name/metrics.jsonl"
  grep -i -m3 "error\|invalid\|nan" "runs/logs/calibrate-$name.log" | cut -c1-200
done
