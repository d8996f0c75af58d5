// What does the benchmark's fence cost on webgpu? Times the probe `swapformer bench` used until
// session 13 (a sum over the whole output: tfjs-webgpu reduces to one value in one workgroup)
// against the one it uses now (one value of the output read back), on a [1, 4, 65,536, 64] tensor.
// H100 (session 13): 14.8 ms against 0.5. From the repo root on the GPU machine (after
// `source .gpu-bundle/enter.sh`), or here on lavapipe: node cli/scripts/gpu-fence-cost.cjs
const tf = require('@tensorflow/tfjs-core');
const core = require('../../core/dist');
const { forceResult } = require('../dist/bench/contenders/forceResult');
(async () => {
  await core.useBackend('webgpu');
  const x = tf.randomNormal([1, 4, 65536, 64]);
  await x.data();
  const sumFence = async (t) => {
    const sum = tf.sum(t);
    await sum.data();
    sum.dispose();
  };
  // the old fence, and the benchmark's own (forceResult)
  for (const [name, fence] of [['sum', sumFence], ['one value', forceResult]]) {
    const times = [];
    for (let r = 0; r < 6; r++) {
      const t0 = performance.now();
      await fence(x);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    console.log(JSON.stringify({ probe: name, shape: x.shape, medianMs: +times[3].toFixed(2), minMs: +times[0].toFixed(2) }));
  }
})();
