// Is KDEformer on webgpu the same estimator as on the host, on this machine's GPU? (issue #20)
// Lavapipe says yes (test/kdeformerWebGpuParity.test.ts); this checks the GPU that made the
// drop-in table, where the ViT row read 90.00 ± 0.06 % against 90.19 ± 0.06 % on wasm.
//   1. operator: the ViT pixel layer's shape ([IMAGES, 1, 785, 32], b 32, m 64, r 7) on inputs
//      shaped like that layer's, the same seeds on the host (wasm) and the device (webgpu):
//      per-seed output difference, and the relative error against exact attention on both.
//   2. in place: the exact-trained ViT with KDEformer in layer 0 on the committed 1,000-image
//      test subset, batch 200 as examples/dropin-gpu.json, one forward per backend and seed:
//      how many predictions differ and both accuracies, exact attention first as the baseline
//      (lavapipe: 0 differ for KDEformer, 1,000 images, seeds 1–2).
// Prints one JSON line per measurement. Run from the repo root after the build (≈ 1–2 min on an H100):
//   node cli/scripts/kdeformer-device-parity.cjs [--images 200] [--seeds 10] [--vit-seeds 3]
// In cli/scripts (not the plugin) because it loads the checkpoint and the images through models and cli.
const tf = require('@tensorflow/tfjs-core');
const core = require('../../core/dist');
const { referenceAttention, toFloat64 } = require('../../core/dist/conformance');
const kde = require('../../plugins/kdeformer/dist');

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
};
const IMAGES = arg('images', 200);
const SEEDS = arg('seeds', 10);
const VIT_SEEDS = arg('vit-seeds', 3);
const TOKENS = 785;
const DIM = 32;
const kernels = core.createKernelContext();

/** The parity test's pixel-layer-like q, k, v (position + intensity × content, half background). */
function pixelLayerInputs(seed) {
  const rng = core.createSeededRandom(seed);
  const position = rng.fillNormal(new Float32Array(TOKENS * DIM * 3), 0, 1);
  const out = [0, 1, 2].map(() => new Float32Array(IMAGES * TOKENS * DIM));
  for (let b = 0; b < IMAGES; b++) {
    const content = rng.fillNormal(new Float32Array(DIM * 3), 0, 1);
    for (let i = 0; i < TOKENS; i++) {
      const intensity = rng.uniform() < 0.5 ? 0 : 2 * rng.uniform();
      for (let t = 0; t < 3; t++) {
        const std = t === 2 ? 0.25 : 0.45;
        for (let c = 0; c < DIM; c++) out[t][(b * TOKENS + i) * DIM + c] = (std * (position[(t * TOKENS + i) * DIM + c] + intensity * content[t * DIM + c])) / Math.SQRT2;
      }
    }
  }
  return out;
}

function imageErrors(x, ref) {
  const per = TOKENS * DIM;
  return Array.from({ length: IMAGES }, (_, b) => {
    let num = 0;
    let den = 0;
    for (let i = b * per; i < (b + 1) * per; i++) {
      num += (x[i] - ref[i]) ** 2;
      den += ref[i] ** 2;
    }
    return Math.sqrt(num / den);
  });
}

const meanStd = (a) => {
  const mean = a.reduce((s, x) => s + x, 0) / a.length;
  return { mean, std: Math.sqrt(a.reduce((s, x) => s + (x - mean) ** 2, 0) / (a.length - 1)) };
};

async function operatorParity() {
  const inputs = pixelLayerInputs(20);
  const shape = [IMAGES, 1, TOKENS, DIM];
  await core.useBackend('wasm');
  const [q, k, v] = inputs.map((x) => tf.tensor4d(x, shape));
  const exact = referenceAttention(toFloat64(q), toFloat64(k), toFloat64(v)).data;
  const outputs = { host: [], device: [] };
  for (const path of ['host', 'device']) {
    await core.useBackend(path === 'host' ? 'wasm' : 'webgpu');
    const [qq, kk, vv] = inputs.map((x) => tf.tensor4d(x, shape));
    for (let seed = 100; seed < 100 + SEEDS; seed++) {
      const options = { blockSize: 32, samples: 64, projections: 7, seed };
      const out = path === 'host' ? kde.kdeformerAttention(kernels, qq, kk, vv, options) : kde.deviceKdeformerAttention(qq, kk, vv, options);
      outputs[path].push(await out.data());
      out.dispose();
    }
    if (path === 'device') await core.throwIfWebGpuFailed('the device KDEformer');
    tf.dispose([qq, kk, vv]);
  }
  tf.dispose([q, k, v]);
  const host = outputs.host.flatMap((o) => imageErrors(o, exact));
  const device = outputs.device.flatMap((o) => imageErrors(o, exact));
  const moved = outputs.host.flatMap((h, s) => imageErrors(outputs.device[s], h)).filter((e) => e > 1e-4).length;
  const [h, d] = [meanStd(host), meanStd(device)];
  const pairedDiff = meanStd(device.map((e, i) => e - host[i]));
  console.log(JSON.stringify({ measurement: 'operator', images: IMAGES, seeds: SEEDS, hostRelErr: h, deviceRelErr: d, pairedDiff, imageSeedsDiffering: `${moved}/${host.length}` }));
}

async function vitParity() {
  const { createOperatorRegistry } = require('../../registry/dist');
  const { loadCheckpoint } = require('../../models/dist');
  const { exactPlugin } = require('../../plugins/exact/dist');
  const { loadCommittedTestSubset } = require('../dist/data/committedData');
  const set = loadCommittedTestSubset();
  const batch = 200;
  const predictions = async (backend, seed, operator = 'kdeformer') => {
    await core.useBackend(backend);
    const registry = createOperatorRegistry();
    registry.register(exactPlugin);
    registry.register(kde.kdeformerPlugin);
    const attention = { default: { name: 'exact' }, overrides: [{ layers: { first: 1 }, name: operator }] };
    const model = loadCheckpoint('examples/checkpoints/vit-fmnist-exact', registry, { attention });
    const out = new Int32Array(set.count);
    for (let from = 0; from < set.count; from += batch) {
      const n = Math.min(batch, set.count - from);
      const px = new Float32Array(n * 784);
      for (let i = 0; i < n * 784; i++) px[i] = (set.images[from * 784 + i] / 255 - 0.286) / 0.353;
      const labels = tf.tidy(() => {
        const logits = model.forward(tf.tensor4d(px, [n, 1, 28, 28]), { training: false, seed });
        return tf.argMax(logits.logits ?? logits, 1);
      });
      out.set(await labels.data(), from);
      labels.dispose();
    }
    if (backend === 'webgpu') await core.throwIfWebGpuFailed('the ViT forward');
    model.dispose?.();
    return out;
  };
  // exact first: how many predictions the backends' float differences alone change (the baseline)
  for (const [operator, seed] of [['exact', 1], ...Array.from({ length: VIT_SEEDS }, (_, i) => ['kdeformer', i + 1])]) {
    const host = await predictions('wasm', seed, operator);
    const device = await predictions('webgpu', seed, operator);
    let differ = 0;
    let hostCorrect = 0;
    let deviceCorrect = 0;
    for (let i = 0; i < set.count; i++) {
      differ += host[i] !== device[i] ? 1 : 0;
      hostCorrect += host[i] === set.labels[i] ? 1 : 0;
      deviceCorrect += device[i] === set.labels[i] ? 1 : 0;
    }
    console.log(JSON.stringify({ measurement: 'vit', operator, seed, images: set.count, batch, predictionsDiffering: differ, wasmCorrect: hostCorrect, webgpuCorrect: deviceCorrect }));
  }
}

(async () => {
  await operatorParity();
  await vitParity();
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
