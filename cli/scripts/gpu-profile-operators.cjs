// Where does a call's time go on tfjs-webgpu? For each operator (OPS, default exact, thinformer,
// kdeformer) and n (NS, default 4096,16384), heads 4, head dim 64: the median wall time of 3
// fenced calls, then one call under tf.time with a timestamp query around every dispatch, grouped
// by program (its shaderKey up to the first '_'): dispatches, GPU ms, and the largest single
// dispatch. Wall ≫ GPU sum means host-bound (dispatch count); GPU sum ≈ wall means the programs
// themselves are slow, and the table says which. One JSON line per (operator, n, causal).
// Run from the repo root on the GPU machine (after `source .gpu-bundle/enter.sh`):
//   node cli/scripts/gpu-profile-operators.cjs            (≈ 1 minute on an H100)
//   OPS=thinformer,kdeformer NS=4096 CAUSAL=1 node cli/scripts/gpu-profile-operators.cjs
//   DAWN_FLAGS=disable-dawn-features=timestamp_quantization …   (timestamps at full resolution)
const tf = require('@tensorflow/tfjs-core');
const core = require('../../core/dist');
const kernels = require('../../kernels/dist');
const thin = require('../../plugins/thinformer/dist');
const kde = require('../../plugins/kdeformer/dist');
const { randomAttentionInputs } = require('../../core/dist/conformance');
const { installDawnFlags } = require('./dawnFlags.cjs');

const context = core.createKernelContext();
const OPERATORS = {
  exact: (q, k, v, causal) => kernels.softmaxAttention(context, q, k, v, { causal }),
  thinformer: (q, k, v, causal) =>
    causal
      ? thin.deviceCausalThinformerAttention(context, q, k, v, { g: 2, delta: 0.5, seed: 0, exactBlock: 1024 })
      : thin.deviceThinformerAttention(context, q, k, v, { g: 2, delta: 0.5, seed: 0 }),
  kdeformer: (q, k, v, causal) =>
    causal
      ? kde.causalKdeformerAttention(context, q, k, v, { blockSize: 32, samples: 64, projections: 7, seed: 0, exactBlock: 1024 })
      : kde.deviceKdeformerAttention(q, k, v, { blockSize: 32, samples: 64, projections: 7, seed: 0 }),
};

async function fencedMs(fn) {
  const t0 = performance.now();
  const out = fn();
  const s = tf.sum(tf.slice(out, [0, 0, 0, 0], [1, 1, 1, -1]));
  await s.data();
  tf.dispose([out, s]);
  return performance.now() - t0;
}

(async () => {
  const dawnFlags = installDawnFlags();
  if (dawnFlags) console.log(JSON.stringify({ dawnFlags }));
  await core.useBackend('webgpu');
  const backend = tf.backend();
  const keys = [];
  const run = backend.runWebGPUProgram.bind(backend);
  // tf.time reports (constructor name, ms) per dispatch; our programs are plain objects, so keep each dispatch's shaderKey in order
  backend.runWebGPUProgram = (program, ...rest) => {
    keys.push(String(program.shaderKey ?? program.constructor.name).split('_')[0]);
    return run(program, ...rest);
  };
  const ops = (process.env.OPS ?? 'exact,thinformer,kdeformer').split(',');
  const sizes = (process.env.NS ?? '4096,16384').split(',').map(Number);
  const masks = process.env.CAUSAL === '1' ? [false, true] : process.env.CAUSAL === 'only' ? [true] : [false];
  for (const n of sizes) {
    const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 4, nq: n, nk: n, dk: 64 }, 1);
    for (const causal of masks) {
      for (const name of ops) {
        const fn = () => OPERATORS[name](q, k, v, causal);
        await fencedMs(fn);
        const walls = [await fencedMs(fn), await fencedMs(fn), await fencedMs(fn)].sort((a, b) => a - b);
        keys.length = 0;
        const t0 = performance.now();
        const timing = await tf.time(() => tf.dispose(fn()));
        const hostMs = performance.now() - t0;
        const perDispatch = (timing.getExtraProfileInfo?.() ?? '').split(', ').filter(Boolean).map((entry) => Number(entry.split(': ').pop()));
        const programs = {};
        perDispatch.forEach((ms, i) => {
          const key = keys[i] ?? '?';
          const row = (programs[key] ??= { dispatches: 0, gpuMs: 0, largestMs: 0 });
          row.dispatches += 1;
          row.gpuMs += ms;
          row.largestMs = Math.max(row.largestMs, ms);
        });
        for (const row of Object.values(programs)) {
          row.gpuMs = +row.gpuMs.toFixed(3);
          row.largestMs = +row.largestMs.toFixed(3);
        }
        const sorted = Object.fromEntries(Object.entries(programs).sort((a, b) => b[1].gpuMs - a[1].gpuMs));
        console.log(JSON.stringify({ operator: name, n, causal, wallMs: +walls[1].toFixed(2), gpuMs: +(timing.kernelMs ?? 0).toFixed(2), timedCallMs: +hostMs.toFixed(1), dispatches: keys.length, programs: sorted }));
        await core.throwIfWebGpuFailed(`${name} n ${n}`);
      }
    }
    tf.dispose([q, k, v]);
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
