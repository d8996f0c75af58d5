// Where the Llama-shaped decoder's exact forward spends its time on tfjs-webgpu (issue 19/20: the
// crossover's exact row grows like n² far above the flash program's own cost). Times, per n: the
// flash program alone on the decoder's shapes (8 query heads, 2 and 8 k/v heads, head dim 64,
// causal), softmaxAttention with the model's options, and the whole 4-layer forward with exact and
// TOST, the flash program on and off. One JSON line per measurement.
// Run from the repo root on the GPU machine (after `source .gpu-bundle/enter.sh`):
//   NS=4096,16384 node cli/scripts/probe-llama-exact-webgpu.cjs      (≈ 1–2 minutes on an H100)
const tf = require('@tensorflow/tfjs-core');
const core = require('../../core/dist');
const kernels = require('../../kernels/dist');
const { createCliSession } = require('../dist/cli/createCliSession');
const { crossoverLlamaConfig } = require('../dist/bench/models/llamaCrossover');
const { buildLlama } = require('../../models/dist');

/** Median ms of `fn` over `reps` calls after one warm-up, each forced by reading the result. */
async function timeMs(fn, reps) {
  const once = async () => {
    const t0 = performance.now();
    const out = fn();
    await out.data();
    out.dispose();
    return performance.now() - t0;
  };
  await once();
  const ts = [];
  for (let i = 0; i < reps; i++) ts.push(await once());
  return ts.sort((a, b) => a - b)[Math.floor(ts.length / 2)];
}

const print = (row) => console.log(JSON.stringify(row));

(async () => {
  await core.useBackend('webgpu');
  const sizes = (process.env.NS ?? '4096,16384').split(',').map(Number);
  const reps = Number(process.env.REPS ?? 3);
  for (const n of sizes) {
    for (const kvHeads of [8, 2]) {
      const q = tf.randomNormal([1, 8, n, 64]);
      const k = tf.randomNormal([1, kvHeads, n, 64]);
      const v = tf.randomNormal([1, kvHeads, n, 64]);
      print({ n, part: 'flash program', kvHeads, causal: true, ms: await timeMs(() => kernels.fusedWebGpuAttention(q, k, v, { causal: true }), reps) });
      print({ n, part: 'flash program', kvHeads, causal: false, ms: await timeMs(() => kernels.fusedWebGpuAttention(q, k, v, {}), reps) });
      tf.dispose([q, k, v]);
    }
    for (const fused of [true, false]) {
      const registry = createCliSession({ seed: 0, kernels: { webGpuFusedAttention: fused } }).registry;
      for (const op of fused ? ['exact', 'tost'] : ['exact']) {
        if (!fused && n > 8192) continue; // the row-block causal path takes seconds a layer there
        const model = buildLlama(crossoverLlamaConfig(0), { name: op }, registry);
        const ids = tf.tensor2d(Int32Array.from({ length: n }, (_, i) => (i * 7919) % 8192), [1, n], 'int32');
        print({ n, part: 'Llama forward', operator: op, flash: fused, ms: await timeMs(() => model.forward(ids), Math.min(reps, 2)) });
        ids.dispose();
        model.dispose();
      }
    }
    await core.throwIfWebGpuFailed(`n ${n}`);
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
