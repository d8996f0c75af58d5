// Is a webgpu operator bound by the host or by the GPU when its calls are queued back to back (as
// `swapformer bench` times calls under 20 ms)? For each operator (OPS, default thinformer,
// kdeformer, tost, exact) at n (N, default 16384), heads 4, head dim 64: the host time to issue
// CALLS (default 100) calls without waiting, then the time until the last one finished, per call.
// issue ≈ total: the host decides; issue ≪ total: the GPU does. Run it under
// `node --cpu-prof --cpu-prof-dir=DIR` to see where the host time goes.
// From the repo root on the GPU machine (after `source .gpu-bundle/enter.sh`):
//   node --cpu-prof --cpu-prof-dir=$OUT/prof cli/scripts/gpu-host-profile.cjs
const core = require('../../core/dist');
const { webgpuOperatorCalls } = require('./webgpuOperatorCalls.cjs');

(async () => {
  await core.useBackend('webgpu');
  const n = Number(process.env.N ?? 16384);
  const calls = Number(process.env.CALLS ?? 100);
  const { calls: operators, dispose } = webgpuOperatorCalls(n);
  for (const name of (process.env.OPS ?? 'thinformer,kdeformer,tost,exact').split(',')) {
    const fn = operators[name];
    for (let warm = 0; warm < 3; warm++) {
      const out = fn();
      await out.data();
      out.dispose();
    }
    const t0 = performance.now();
    let last = null;
    for (let i = 0; i < calls; i++) {
      if (last) last.dispose();
      last = fn();
    }
    const issued = performance.now();
    await last.data();
    const done = performance.now();
    last.dispose();
    await core.throwIfWebGpuFailed(name);
    console.log(JSON.stringify({ operator: name, n, calls, issueMsPerCall: +((issued - t0) / calls).toFixed(3), totalMsPerCall: +((done - t0) / calls).toFixed(3) }));
  }
  dispose();
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
