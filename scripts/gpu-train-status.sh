#!/usr/bin/env bash
# Prints the last metrics line of every training run and whether its process still runs.
for log in runs/logs/*.log; do
  name=$(basename "$log" .log)
  running=$(pgrep -f "train-$name.json" >/dev/null && echo running || echo stopped)
  out=$(node -e "const c=require('./examples/train-$name.json'); console.log(c.output)")
  last=$(tail -n 1 "$out/metrics.jsonl" 2>/dev/null | cut -c1-220)
  echo "[$name] $running | $last"
  tail -c 300 "$log" | tr '\r' '\n' | tail -n 2 | sed "s/^/    /"
done
