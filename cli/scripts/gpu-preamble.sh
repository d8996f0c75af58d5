# Sourced by the GPU scripts of this folder, from the repo root: makes $OUT (default ./gpu-out) and
# $OUT/docs, enters the bundle once (.gpu-bundle/enter.sh: Node, modules, Vulkan loaders; its
# output goes to versions.txt), and records the card (nvidia-smi.txt, $DEVICE) and the start time.
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT/docs"
if [[ -f .gpu-bundle/enter.sh ]]; then
  # shellcheck disable=SC1091
  source .gpu-bundle/enter.sh > "$OUT/versions.txt" 2>&1 || { cat "$OUT/versions.txt"; exit 1; }
fi
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || true
DEVICE=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
DEVICE=${DEVICE:-unknown GPU}
date -u > "$OUT/date.txt"
