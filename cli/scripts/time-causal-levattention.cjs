// Times causal LevAttention on tfjs-webgpu (online energies and kept intervals as WGSL programs,
// masked softmax as ops) against exact causal attention on the same device, heads 4, head dim 64,
// k 32. Issue 20 item 4:
// the char-GPT's LevAttention row on the GPU. One JSON line per n; NS=512,2048 picks the sizes.
// Run from the repo root on the GPU machine (after `source .gpu-bundle/enter.sh`):
//   node cli/scripts/time-causal-levattention.cjs      (≈ 1 minute on an H100 at the default sizes)
const tf = require('@tensorflow/tfjs-core');
const core = require('../../core/dist');
const kernels = require('../../kernels/dist');
const lev = require('../../plugins/levattention/dist');
const { randomAttentionInputs } = require('../../core/dist/conformance');

const context = core.createKernelContext();

/** Median ms of `fn` over `reps` calls after one warm-up, each forced by reading a scalar. */
async function timeMs(fn, reps) {
  const once = async () => {
    const t0 = performance.now();
    const out = fn();
    const s = tf.sum(out);
    await s.data();
    tf.dispose([out, s]);
    return performance.now() - t0;
  };
  await once();
  const ts = [];
  for (let i = 0; i < reps; i++) ts.push(await once());
  return ts.sort((a, b) => a - b)[Math.floor(ts.length / 2)];
}

(async () => {
  await core.useBackend('webgpu');
  const sizes = (process.env.NS ?? '512,2048,8192').split(',').map(Number);
  const options = { selection: 'top-k', topK: 32, epsilon: 0.1, keepFirst: false, ridge: 1e-6, causal: true };
  for (const n of sizes) {
    const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 4, nq: n, nk: n, dk: 64 }, 1);
    const reps = n > 4096 ? 3 : 5;
    const levMs = await timeMs(() => lev.levAttention(context, q, k, v, options), reps);
    const exactMs = await timeMs(() => kernels.softmaxAttention(context, q, k, v, { causal: true }), reps);
    await core.throwIfWebGpuFailed(`n ${n}`);
    console.log(JSON.stringify({ n, heads: 4, dim: 64, k: 32, causalLevAttentionMs: +levMs.toFixed(2), exactCausalMs: +exactMs.toFixed(2) }));
    tf.dispose([q, k, v]);
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
