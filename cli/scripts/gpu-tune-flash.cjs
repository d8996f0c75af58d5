// Tunes the flash-attention WGSL program (kernels/src/webgpu/flashAttentionWgsl.ts) on the GPU:
// for every candidate tile that fits the device, n in NS (default 4096,16384,65536), heads 4,
// head dim 64, batch 1, causal false/true, it checks the program against the row-block op path
// (max |diff| / max |row-block|) and times both (median of ≥ 5 after a warm-up, each fenced by
// `await` on a one-value reduction of the output; gpuMs: the dispatches' timestamp-query time), plus PyTorch fp32 SDPA at the same shapes when
// python3 with CUDA torch is there. One JSON line per (tile, n, causal), then a summary line naming
// the fastest tile (put it first in FLASH_TILE_CONFIGS), the ratios to torch, and per cell the best
// key-split count for the best tile (FLASH_MIN_WORKGROUPS sets the default's threshold).
// Run from the repo root on the GPU machine (bundle unpacked, see cli/scripts/gpu-bench.sh):
//   source .gpu-bundle/enter.sh && node cli/scripts/gpu-tune-flash.cjs
// DAWN_FLAGS (e.g. enable-dawn-features=enable_integer_range_analysis_in_robustness) creates Dawn
// with those flags, to measure what a device toggle is worth; NO_TORCH=1 skips the PyTorch timings;
// SPLITS=1,2,4 times those key splits of the best tile at every n (by default 1,2,4,8 below the largest n).
// A time budget (BUDGET_S, default 120) keeps it under 3 minutes with torch and start-up: past it, remaining cells are
// reported as skipped; at the largest n only tiles within 2× of the best at the previous n run.
const { spawnSync } = require('node:child_process');
const { installDawnFlags } = require('./dawnFlags.cjs');
const tf = require('@tensorflow/tfjs-core');
const core = require('../../core/dist');
const kernels = require('../../kernels/dist');
const { randomAttentionInputs } = require('../../core/dist/conformance');

const NS = (process.env.NS ?? '4096,16384,65536').split(',').map(Number);
const HEADS = 4;
const DIM = 64;
const BUDGET_MS = 1000 * Number(process.env.BUDGET_S ?? 120);
const MIN_REPEATS = 5;
// key-split counts tried with the best tile; SPLITS (e.g. 1,2,4) tries them at every n, the largest included
const SPLIT_COUNTS = (process.env.SPLITS ?? '1,2,4,8').split(',').map(Number);
const SPLITS_EVERYWHERE = process.env.SPLITS !== undefined;
const started = performance.now();
const opsOnly = core.createKernelContext({ webGpuFusedAttention: false });

/** PyTorch fp32 SDPA medians (ms) keyed `${n}/${causal}`, or a note saying why there are none. */
function torchTimings() {
  const script = `
import json, sys, time
try:
    import torch
    import torch.nn.functional as F
except Exception as e:
    print(json.dumps({"skipped": "torch not importable: " + str(e)})); sys.exit(0)
if not torch.cuda.is_available():
    print(json.dumps({"skipped": "torch has no CUDA device"})); sys.exit(0)
out = {}
for n in ${JSON.stringify(NS)}:
    q, k, v = (torch.randn(1, ${HEADS}, n, ${DIM}, device="cuda") for _ in range(3))
    for causal in (False, True):
        F.scaled_dot_product_attention(q, k, v, is_causal=causal); torch.cuda.synchronize()
        ts = []
        for _ in range(${MIN_REPEATS}):
            t0 = time.perf_counter(); F.scaled_dot_product_attention(q, k, v, is_causal=causal); torch.cuda.synchronize()
            ts.append(1000 * (time.perf_counter() - t0))
        out[f"{n}/{'true' if causal else 'false'}"] = sorted(ts)[len(ts) // 2]
    del q, k, v; torch.cuda.empty_cache()
print(json.dumps({"torchSdpaMs": out, "torch": torch.__version__}))
`;
  const run = spawnSync('python3', ['-c', script], { encoding: 'utf8', timeout: 60000 });
  if (run.error) return { skipped: `python3 did not run: ${run.error.message}` };
  const line = run.stdout.trim().split('\n').pop();
  try {
    return JSON.parse(line);
  } catch {
    return { skipped: `torch timing failed (status ${run.status}): ${run.stderr.trim().split('\n').pop()}` };
  }
}

/** Median ms of `fn` after one warm-up call, at least MIN_REPEATS runs, more while under `cellMs`. */
async function timeMs(fn, cellMs) {
  const once = async () => {
    const t0 = performance.now();
    const out = fn();
    const fence = tf.sum(tf.slice(out, [0, 0, 0, 0], [1, 1, 1, -1]));
    await fence.data();
    tf.dispose([out, fence]);
    return performance.now() - t0;
  };
  const warmUpMs = await once();
  const ts = [];
  const t0 = performance.now();
  while (ts.length < MIN_REPEATS || (performance.now() - t0 < cellMs && ts.length < 30)) ts.push(await once());
  ts.sort((a, b) => a - b);
  // the GPU's own time for the same call (timestamp queries around every dispatch; null without the feature)
  const timing = await tf.time(() => tf.dispose(fn()));
  const gpuMs = typeof timing.kernelMs === 'number' && timing.kernelMs > 0 ? timing.kernelMs : null;
  return { medianMs: ts[Math.floor(ts.length / 2)], gpuMs, repeats: ts.length, warmUpMs };
}

async function relativeError(out, reference) {
  const diff = tf.tidy(() => tf.stack([tf.max(tf.abs(tf.sub(out, reference))), tf.max(tf.abs(reference))]));
  const [worst, scale] = await diff.data();
  diff.dispose();
  return Number.isFinite(worst) ? worst / scale : NaN;
}

(async () => {
  const torch = process.env.NO_TORCH === '1' ? { skipped: 'NO_TORCH=1' } : torchTimings();
  const dawnFlags = installDawnFlags();
  if (dawnFlags) console.log(JSON.stringify({ dawnFlags }));
  console.log(JSON.stringify(torch));
  const torchMs = torch.torchSdpaMs ?? {};
  await core.useBackend('webgpu');
  const device = core.activeWebGpuDevice();
  const limits = { workgroupBytes: device.limits.maxComputeWorkgroupStorageSize, invocations: device.limits.maxComputeInvocationsPerWorkgroup, bindingBytes: device.limits.maxStorageBufferBindingSize };
  const traits = { subgroupMinSize: device.features?.has('subgroups') ? (device.adapterInfo?.subgroupMinSize ?? 0) : 0 };
  console.log(JSON.stringify({ limits, traits, features: [...(device.features ?? [])] }));
  // TILES=a,b limits the candidates (a quicker run)
  const only = process.env.TILES ? process.env.TILES.split(',') : null;
  let tiles = kernels.FLASH_TILE_CONFIGS.filter((tile) => {
    if (only && !only.includes(tile.name)) return false;
    const layout = kernels.flashLayout(tile, DIM, DIM, traits);
    return layout.workgroupBytes <= limits.workgroupBytes && layout.invocations <= limits.invocations;
  });
  const rows = [];
  const splitRows = [];
  for (const [ni, n] of NS.entries()) {
    if (ni === NS.length - 1 && ni > 0) {
      // the largest n costs the most: only tiles within 2× of the best at the previous n
      const previous = rows.filter((r) => r.n === NS[ni - 1] && r.correct);
      const best = Math.min(...previous.map((r) => r.medianMs));
      if (previous.length > 0) tiles = tiles.filter((t) => previous.some((r) => r.tile === t.name && r.medianMs <= 2 * best));
    }
    const { q, k, v } = randomAttentionInputs({ batch: 1, heads: HEADS, nq: n, nk: n, dk: DIM }, 7, 1);
    for (const causal of [false, true]) {
      const key = `${n}/${causal}`;
      const rowBlock = () => kernels.softmaxAttention(opsOnly, q, k, v, { causal, fused: false });
      const reference = rowBlock();
      const cellMs = Math.max(0, (BUDGET_MS - (performance.now() - started)) / (2 * (NS.length - ni) * (tiles.length + 5)));
      const rowBlockTiming = await timeMs(rowBlock, Math.min(cellMs, 3000));
      console.log(JSON.stringify({ tile: 'row-block ops', n, causal, ...rowBlockTiming, torchSdpaMs: torchMs[key] ?? null }));
      for (const tile of tiles) {
        const row = { tile: tile.name, n, causal };
        if (performance.now() - started > BUDGET_MS) {
          rows.push({ ...row, skipped: 'time budget spent' });
          console.log(JSON.stringify(rows[rows.length - 1]));
          continue;
        }
        try {
          const out = kernels.fusedWebGpuAttention(q, k, v, { causal, tile });
          const error = await relativeError(out, reference);
          out.dispose();
          const timing = await timeMs(() => kernels.fusedWebGpuAttention(q, k, v, { causal, tile }), Math.min(cellMs, 3000));
          rows.push({ ...row, relativeError: error, correct: error < 1e-4, ...timing, rowBlockMs: rowBlockTiming.medianMs, torchSdpaMs: torchMs[key] ?? null });
        } catch (error) {
          rows.push({ ...row, error: String(error && error.message).slice(0, 300) });
        }
        console.log(JSON.stringify(rows[rows.length - 1]));
      }
      // the best tile of this cell again with the keys split over 1, 2, 4, 8 workgroups (the rows
      // above use the default: splits only below FLASH_MIN_WORKGROUPS workgroups); not at the
      // largest n, whose query blocks alone fill the GPU
      const timed = rows.filter((r) => r.n === n && r.causal === causal && r.correct);
      const bestTile = timed.sort((a, b) => a.medianMs - b.medianMs)[0];
      // the best tile with its row reductions through workgroup memory: what subgroups are worth
      const bestConfig = bestTile && kernels.FLASH_TILE_CONFIGS.find((t) => t.name === bestTile.tile);
      // (only where the tile also fits without subgroups: the row-maxima buffer takes more workgroup memory)
      if (bestConfig && kernels.flashLayout(bestConfig, DIM, DIM, traits).subgroupRows && kernels.flashLayout(bestConfig, DIM, DIM).workgroupBytes <= limits.workgroupBytes && performance.now() - started < BUDGET_MS) {
        const tile = kernels.FLASH_TILE_CONFIGS.find((t) => t.name === bestTile.tile);
        const row = { tile: bestTile.tile, subgroups: false, n, causal };
        try {
          const out = kernels.fusedWebGpuAttention(q, k, v, { causal, tile, subgroups: false });
          const error = await relativeError(out, reference);
          out.dispose();
          const timing = await timeMs(() => kernels.fusedWebGpuAttention(q, k, v, { causal, tile, subgroups: false }), Math.min(cellMs, 1500));
          splitRows.push({ ...row, relativeError: error, correct: error < 1e-4, ...timing });
        } catch (error) {
          splitRows.push({ ...row, error: String(error && error.message).slice(0, 300) });
        }
        console.log(JSON.stringify(splitRows[splitRows.length - 1]));
      }
      for (const keySplits of bestTile && (SPLITS_EVERYWHERE || ni < NS.length - 1) ? SPLIT_COUNTS : []) {
        const row = { tile: bestTile.tile, keySplits, n, causal };
        if (performance.now() - started > BUDGET_MS) {
          console.log(JSON.stringify({ ...row, skipped: 'time budget spent' }));
          continue;
        }
        const tile = kernels.FLASH_TILE_CONFIGS.find((t) => t.name === bestTile.tile);
        const out = kernels.fusedWebGpuAttention(q, k, v, { causal, tile, keySplits });
        const error = await relativeError(out, reference);
        out.dispose();
        const timing = await timeMs(() => kernels.fusedWebGpuAttention(q, k, v, { causal, tile, keySplits }), Math.min(cellMs, 1500));
        splitRows.push({ ...row, relativeError: error, correct: error < 1e-4, ...timing });
        console.log(JSON.stringify(splitRows[splitRows.length - 1]));
      }
      reference.dispose();
    }
    tf.dispose([q, k, v]);
  }
  // fastest: the correct tile with the lowest mean of (its time / the best time) over the cells it ran
  const cells = [...new Set(rows.map((r) => `${r.n}/${r.causal}`))];
  const bestPerCell = Object.fromEntries(cells.map((c) => [c, Math.min(...rows.filter((r) => `${r.n}/${r.causal}` === c && r.correct).map((r) => r.medianMs))]));
  const scores = kernels.FLASH_TILE_CONFIGS.map((t) => {
    const mine = rows.filter((r) => r.tile === t.name);
    const timed = mine.filter((r) => r.correct);
    const wrong = mine.some((r) => r.correct === false || r.error);
    return { tile: t.name, wrong, cells: timed.length, score: timed.reduce((s, r) => s + r.medianMs / bestPerCell[`${r.n}/${r.causal}`], 0) / Math.max(1, timed.length) };
  }).filter((s) => s.cells > 0 && !s.wrong);
  const maxCells = Math.max(0, ...scores.map((s) => s.cells));
  const fastest = scores.filter((s) => s.cells === maxCells).sort((a, b) => a.score - b.score)[0]?.tile ?? null;
  const perCell = cells.map((c) => {
    const r = rows.find((x) => x.tile === fastest && `${x.n}/${x.causal}` === c);
    return r && r.medianMs ? { cell: c, flashMs: r.medianMs, flashGpuMs: r.gpuMs, rowBlockMs: r.rowBlockMs, torchSdpaMs: r.torchSdpaMs, vsTorch: r.torchSdpaMs ? r.medianMs / r.torchSdpaMs : null, vsRowBlock: r.medianMs / r.rowBlockMs } : { cell: c, note: 'fastest tile not timed here' };
  });
  const wrongTiles = [...rows, ...splitRows].filter((r) => r.correct === false || r.error).map((r) => `${r.tile}${r.keySplits ? ` splits ${r.keySplits}` : ''} ${r.n}/${r.causal}`);
  const bestSplits = cells.map((c) => {
    const mine = splitRows.filter((r) => `${r.n}/${r.causal}` === c && r.correct).sort((a, b) => a.medianMs - b.medianMs);
    return mine.length ? { cell: c, tile: mine[0].tile, keySplits: mine[0].keySplits, medianMs: mine[0].medianMs, unsplitMs: mine.find((r) => r.keySplits === 1)?.medianMs ?? null } : { cell: c, note: 'no split timings' };
  });
  console.log(JSON.stringify({ summary: true, fastest, scores, perCell, bestSplits, wrong: wrongTiles, torch: torch.skipped ?? torch.torch, seconds: (performance.now() - started) / 1000 }));
  process.exit(wrongTiles.length === 0 ? 0 : 1);
})().catch((error) => {
  console.error(error);
  process.exit(2);
});
