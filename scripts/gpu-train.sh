#!/usr/bin/env bash
# On the GPU machine, from the repo root, after `source .gpu-bundle/enter.sh` and with the
# exported data in .data/: starts every training run of examples/train-*.json in its own
# process session (they outlive this command while the machine is held), logs in runs/logs/.
#   scripts/gpu-train.sh <max-minutes> [--resume] [config names...]
set -euo pipefail
minutes=${1:?max minutes}; shift
resume=(); [[ ${1:-} == --resume ]] && { resume=(--resume); shift; }
names=("$@"); [[ ${#names[@]} -gt 0 ]] || names=(vit-exact vit-tost vit-levattention gpt-exact gpt-tost)
mkdir -p runs/logs
for name in "${names[@]}"; do
  setsid nohup node cli/dist/cli.js train --config "examples/train-$name.json" --data-dir .data --max-minutes "$minutes" "${resume[@]}" \
    > "runs/logs/$name.log" 2>&1 < /dev/null &
  echo "started $name (pid $!)"
done
