// Where a training step's time goes on a backend: synthetic batch of a training config, then
// milliseconds per forward, per forward+backward and per full AdamW step (reads forced), kernels
// per step and the kernels by count and, where the adapter has timestamp queries, by GPU time.
// Usage: node scripts/webgpu-train-profile.cjs <backend> <batch> <config names...>
const tf = require('@tensorflow/tfjs-core');
const core = require('../core/dist');
const reg = require('../models/dist');
const { createRegistryModelFactory } = require('../cli/dist/train/registryModelFactory');
const { crossEntropy } = require('../cli/dist/train/losses');
const { createAdamW, DEFAULT_ADAMW } = require('../cli/dist/train/adamW');
const { ensureGradients } = require('../models/dist/models/ensureGradients');
const [backend = 'webgpu', batchArg = '8', ...names] = process.argv.slice(2);
const batch = Number(batchArg);

function inputsFor(cfg) {
  const rng = core.createSeededRandom(7);
  if (cfg.model.model === 'vit') {
    const x = rng.fillNormal(new Float32Array(batch * 28 * 28));
    return { x: tf.tensor4d(x, [batch, 1, 28, 28]), y: tf.tensor1d(Int32Array.from({ length: batch }, (_, i) => i % 10), 'int32') };
  }
  const t = cfg.data.contextLength;
  const ids = () => Int32Array.from({ length: batch * t }, () => 1 + rng.int(80));
  return { x: tf.tensor2d(ids(), [batch, t], 'int32'), y: tf.tensor2d(ids(), [batch, t], 'int32') };
}

async function msPer(fn, reps = 3) {
  await fn();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await fn();
  return (performance.now() - t0) / reps;
}

(async () => {
  await core.useBackend(backend);
  await ensureGradients();
  for (const name of names) {
    const cfg = require(`../examples/train-${name}.json`);
    const registry = reg.createOperatorRegistry();
    reg.registerInstalledPlugins(registry);
    const model = createRegistryModelFactory(registry, cfg.model.model === 'gpt' ? { vocabSize: 87, ...cfg.model } : cfg.model).create(cfg.attention, 1234);
    const { x, y } = inputsFor(cfg);
    const params = model.parameters().filter((p) => p.trainable);
    const opt = createAdamW({ ...DEFAULT_ADAMW, clipNorm: 1 });
    const loss = () => crossEntropy(model.forward(x, { training: true, seed: 5 }), y);
    const forward = async () => { const l = tf.tidy(loss); await l.data(); l.dispose(); };
    const grads = async () => { const r = tf.variableGrads(loss, params.map((p) => p.variable)); await r.value.data(); await Promise.all(Object.values(r.grads).map((g) => g.data())); tf.dispose([r.value, ...Object.values(r.grads)]); };
    const step = async () => { const r = tf.variableGrads(loss, params.map((p) => p.variable)); const n = opt.step(params, r.grads, 1e-4); await n.data(); tf.dispose([r.value, n, ...Object.values(r.grads)]); };
    const row = { name, backend, batch, forwardMs: await msPer(forward), forwardBackwardMs: await msPer(grads), stepMs: await msPer(step) };
    const info = await tf.profile(step);
    const byName = new Map();
    for (const k of info.kernels) {
      const e = byName.get(k.name) ?? { count: 0, gpuMs: 0 };
      e.count += 1; if (typeof k.kernelTimeMs === 'number') e.gpuMs += k.kernelTimeMs;
      byName.set(k.name, e);
    }
    row.kernelsPerStep = info.kernels.length;
    row.gpuMsTotal = [...byName.values()].reduce((a, e) => a + e.gpuMs, 0);
    console.log(JSON.stringify(row));
    const top = [...byName.entries()].sort((a, b) => b[1].gpuMs - a[1].gpuMs || b[1].count - a[1].count).slice(0, 12);
    console.log(JSON.stringify({ name, top: top.map(([k, e]) => `${k}×${e.count} ${e.gpuMs.toFixed(1)}ms`) }));
    const slow = info.kernels.filter((k) => typeof k.kernelTimeMs === 'number').sort((a, b) => b.kernelTimeMs - a.kernelTimeMs).slice(0, 6);
    for (const k of slow) console.log(JSON.stringify({ name, kernel: k.name, ms: +k.kernelTimeMs.toFixed(2), in: k.inputShapes, out: k.outputShapes }));
    tf.dispose([x, y]); model.dispose();
  }
})().catch((e) => { console.error(e); process.exit(1); });
