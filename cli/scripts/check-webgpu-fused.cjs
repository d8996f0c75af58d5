// Checks the fused WebGPU exact-attention program against the tfjs-op path on the same GPU, then
// times both. Exit code 0 only if every case agrees, so gpu-bench.sh turns the fused program on
// for the benchmark only when it is right. Prints one JSON line per case.
// Run from the repo root on the GPU machine: node cli/scripts/check-webgpu-fused.cjs
const tf = require('@tensorflow/tfjs-core');
const core = require('../../core/dist');
const kernels = require('../../kernels/dist');
// the op path, whatever the environment says: the settings are explicit, never read from it
const opsOnly = core.createKernelContext({ webGpuFusedAttention: false });
const { randomAttentionInputs, referenceAttention, toFloat64 } = require('../../core/dist/conformance');

async function maxDiff(a, b) {
  const [x, y] = await Promise.all([a.data(), b.data()]);
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i] - y[i]);
    if (!(d <= m)) m = d; // NaN propagates
  }
  return m;
}

async function timeMs(fn, reps = 3) {
  let out = fn();
  await out.data();
  out.dispose();
  const ts = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    out = fn();
    const s = tf.sum(out);
    await s.data();
    ts.push(performance.now() - t0);
    tf.dispose([out, s]);
  }
  return ts.sort((a, b) => a - b)[Math.floor(ts.length / 2)];
}

(async () => {
  await core.useBackend('webgpu');
  let ok = true;
  const cases = [
    { b: 1, h: 2, nq: 37, nk: 53, d: 64, causal: false, mask: false },
    { b: 2, h: 3, nq: 64, nk: 64, d: 64, causal: true, mask: true },
    { b: 1, h: 1, nq: 70, nk: 20, d: 32, causal: true, mask: false },
    { b: 1, h: 4, nq: 300, nk: 700, d: 64, causal: false, mask: true },
    { b: 1, h: 4, nq: 1024, nk: 1024, d: 64, causal: true, mask: false },
  ];
  for (const c of cases) {
    const { q, k, v } = randomAttentionInputs({ batch: c.b, heads: c.h, nq: c.nq, nk: c.nk, dk: c.d }, 3, 1.5);
    const mask = c.mask ? tf.tensor2d(Array.from({ length: c.b * c.nk }, (_, i) => (i % 5 === 2 ? 0 : 1)), [c.b, c.nk]) : undefined;
    const ops = kernels.denseSoftmaxAttention(opsOnly, q, k, v, { causal: c.causal, mask, fused: false });
    let fused;
    try {
      // both GPU paths are checked against a float64 reference computed on the host (two wrong
      // paths must not agree with each other and pass)
      await Promise.all([q, k, v, mask].filter(Boolean).map((t) => t.data()));
      const reference = referenceAttention(toFloat64(q), toFloat64(k), toFloat64(v), { causal: c.causal, mask: mask && toFloat64(mask) });
      const refTensor = tf.tensor(Float32Array.from(reference.data), reference.shape);
      fused = kernels.fusedWebGpuAttention(q, k, v, { causal: c.causal, mask });
      const opsDiff = await maxDiff(ops, refTensor);
      const diff = await maxDiff(fused, refTensor);
      refTensor.dispose();
      const pass = diff < 1e-4 && opsDiff < 1e-4;
      console.log(JSON.stringify({ case: c, opPathVsReference: opsDiff }));
      ok = ok && pass;
      console.log(JSON.stringify({ case: c, maxAbsDiff: diff, pass }));
    } catch (error) {
      ok = false;
      console.log(JSON.stringify({ case: c, error: String(error && error.message).slice(0, 300) }));
    }
    tf.dispose([q, k, v, ops, fused, mask].filter(Boolean));
  }
  if (ok) {
    for (const n of [4096, 16384]) {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 4, nq: n, nk: n, dk: 64 }, 1, 0.5);
      const fusedMs = await timeMs(() => kernels.fusedWebGpuAttention(q, k, v));
      const opsMs = await timeMs(() => kernels.softmaxAttention(opsOnly, q, k, v, { fused: false }));
      console.log(JSON.stringify({ n, heads: 4, fusedMs, rowBlockOpsMs: opsMs }));
      tf.dispose([q, k, v]);
    }
  }
  console.log(JSON.stringify({ fusedWebGpuAttention: ok ? 'correct' : 'WRONG: the benchmark runs exact on the tfjs-op path' }));
  process.exit(ok ? 0 : 1);
})().catch((error) => {
  console.error(error);
  process.exit(2);
});
