// Smoke test of the webgpu path on a GPU machine: backend start, correctness vs cpu on a small
// case, and timings of matMul and exact attention (dense and chunked). Prints JSON lines.
const tf = require('@tensorflow/tfjs-core');
const { useBackend } = require('../core/dist');
const { softmaxAttention, chunkedSoftmaxAttention } = require('../kernels/dist');

async function time(fn, reps = 5) {
  let out = fn(); await out.data(); out.dispose();
  const ts = [];
  for (let i = 0; i < reps; i++) { const t0 = performance.now(); out = fn(); await out.data(); ts.push(performance.now() - t0); out.dispose(); }
  ts.sort((a, b) => a - b); return ts[Math.floor(ts.length / 2)];
}

(async () => {
  const small = [1, 2, 64, 16].reduce((a, b) => a * b);
  const data = Float32Array.from({ length: small }, (_, i) => Math.sin(i * 0.37));
  await useBackend('cpu');
  let q = tf.tensor4d(data, [1, 2, 64, 16]);
  const ref = softmaxAttention(q, q, q, { causal: true }).dataSync(); q.dispose();
  const report = await useBackend('webgpu');
  console.log(JSON.stringify({ backend: report.active }));
  q = tf.tensor4d(data, [1, 2, 64, 16]);
  const got = await softmaxAttention(q, q, q, { causal: true }).data();
  let maxDiff = 0; for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - ref[i]));
  console.log(JSON.stringify({ check: 'webgpu vs cpu causal attention', maxDiff }));
  const a = tf.randomNormal([4096, 4096]), b = tf.randomNormal([4096, 4096]);
  const mm = await time(() => tf.matMul(a, b));
  console.log(JSON.stringify({ op: 'matMul 4096^3', ms: mm, tflops: 2 * 4096 ** 3 / mm / 1e9 }));
  for (const [n, heads] of [[1024, 12], [4096, 12], [8192, 12], [16384, 4]]) {
    const x = tf.randomNormal([1, heads, n, 64]);
    for (const [name, fn] of [['dense', softmaxAttention], ['chunked', chunkedSoftmaxAttention]]) {
      if (name === 'dense' && n * n * heads * 4 > 1.5 * 2 ** 30) { console.log(JSON.stringify({ n, heads, path: name, skipped: 'score tensor > 1.5 GiB' })); continue; }
      try { const ms = await time(() => fn(x, x, x, { chunkThreshold: 0 }), 3); console.log(JSON.stringify({ n, heads, path: name, ms })); }
      catch (e) { console.log(JSON.stringify({ n, heads, path: name, error: String(e.message).slice(0, 200) })); }
    }
    x.dispose();
  }
})().catch((e) => { console.error(e); process.exit(1); });
