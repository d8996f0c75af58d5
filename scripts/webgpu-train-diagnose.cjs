// Diagnoses training on webgpu against the cpu backend on the same seeded model and batch:
// logits, loss and gradients of the ViT and GPT training configs, plus per-layer attention
// outputs (through the afterAttention hook) to find where NaN/Inf or a mismatch first appears.
// Usage (GPU machine, after source .gpu-bundle/enter.sh): node scripts/webgpu-train-diagnose.cjs [batch]
const tf = require('@tensorflow/tfjs-core');
const core = require('../core/dist');
const reg = require('../models/dist');
const { createRegistryModelFactory } = require('../cli/dist/train/registryModelFactory');
const { crossEntropy } = require('../cli/dist/train/losses');
const { ensureGradients } = require('../models/dist/models/ensureGradients');
const batch = Number(process.argv[2] ?? 8);

function inputsFor(kind, cfg) {
  const rng = core.createSeededRandom(7);
  if (kind === 'vit') {
    const x = rng.fillNormal(new Float32Array(batch * 28 * 28));
    const y = Int32Array.from({ length: batch }, (_, i) => i % 10);
    return { x: () => tf.tensor4d(x, [batch, 1, 28, 28]), y: () => tf.tensor1d(y, 'int32') };
  }
  const t = cfg.data.contextLength;
  const ids = Int32Array.from({ length: batch * (t + 1) }, () => 1 + rng.int(80));
  const inp = new Int32Array(batch * t), tgt = new Int32Array(batch * t);
  for (let b = 0; b < batch; b++) { inp.set(ids.subarray(b * (t + 1), b * (t + 1) + t), b * t); tgt.set(ids.subarray(b * (t + 1) + 1, (b + 1) * (t + 1)), b * t); }
  return { x: () => tf.tensor2d(inp, [batch, t], 'int32'), y: () => tf.tensor2d(tgt, [batch, t], 'int32') };
}

async function stats(t) {
  const d = await t.data();
  let bad = 0, maxAbs = 0;
  for (const v of d) { if (!Number.isFinite(v)) bad++; else maxAbs = Math.max(maxAbs, Math.abs(v)); }
  return { bad, maxAbs, values: d };
}

async function runOn(backend, name) {
  await core.useBackend(backend);
  await ensureGradients();
  const cfg = require(`../examples/train-${name}.json`);
  const registry = reg.createOperatorRegistry();
  reg.registerInstalledPlugins(registry);
  const layers = [];
  registry.hooks.afterAttention.tap('diagnose', (out, info) => { layers.push({ layer: info.layerIndex, out: tf.keep(tf.clone(out)) }); return out; });
  const model = createRegistryModelFactory(registry, cfg.model).create(cfg.attention, 1234);
  const io = inputsFor(cfg.model.model, cfg);
  const x = io.x(), y = io.y();
  const params = model.parameters().filter((p) => p.trainable);
  const { value, grads } = tf.variableGrads(() => crossEntropy(model.forward(x, { training: true, seed: 5 }), y), params.map((p) => p.variable));
  const loss = (await value.data())[0];
  const gradStats = [];
  for (const p of params) { const g = grads[p.variable.name]; if (!g) continue; const s = await stats(g); gradStats.push({ name: p.name, bad: s.bad, maxAbs: s.maxAbs, values: s.values }); }
  const layerStats = [];
  for (const l of layers) { const s = await stats(l.out); layerStats.push({ layer: l.layer, bad: s.bad, maxAbs: s.maxAbs, values: s.values }); l.out.dispose(); }
  tf.dispose([x, y, value, ...Object.values(grads)]);
  model.dispose();
  return { loss, gradStats, layerStats };
}

(async () => {
  for (const name of ['gpt-exact', 'vit-exact', 'gpt-tost', 'vit-tost']) {
    try {
      const cpu = await runOn('cpu', name);
      const gpu = await runOn(process.env.DIAG_BACKEND || 'webgpu', name);
      const diff = (a, b) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i])); return m; };
      console.log(JSON.stringify({ name, batch, lossCpu: cpu.loss, lossGpu: gpu.loss }));
      gpu.layerStats.forEach((l, i) => console.log(JSON.stringify({ name, attentionCall: i, layer: l.layer, gpuNonFinite: l.bad, maxAbsDiff: diff(l.values, cpu.layerStats[i].values) })));
      const worst = gpu.gradStats.map((g, i) => ({ name: g.name, gpuNonFinite: g.bad, maxAbsDiff: diff(g.values, cpu.gradStats[i].values), cpuMaxAbs: cpu.gradStats[i].maxAbs })).sort((a, b) => (b.gpuNonFinite - a.gpuNonFinite) || (b.maxAbsDiff - a.maxAbsDiff)).slice(0, 8);
      for (const w of worst) console.log(JSON.stringify({ name, grad: w }));
    } catch (error) {
      console.log(JSON.stringify({ name, error: String(error && error.stack || error).slice(0, 800) }));
    }
  }
})();
