// What does one webgpu call cost the host, with the GPU out of the picture? For each operator
// (OPS, default exact,thinformer,kdeformer) at n (N, default 16384), heads 4, head dim 64: the
// time to issue CALLS (default 1000) calls with the queue's submits dropped (nothing reaches the
// GPU, so no GPU work competes for the CPU, as lavapipe's would), the dispatches a call records, and
// the share of createBindGroup, makeUniforms and queue.writeBuffer. gpu-host-profile.cjs measures
// the same issue time with the GPU running; this one works on lavapipe too (CI's machine).
//   N=16384 node cli/scripts/host-issue-cost.cjs      (from the repo root; ≈ 1 minute on lavapipe)
const tf = require('@tensorflow/tfjs-core');
const core = require('../../core/dist');
const { webgpuOperatorCalls } = require('./webgpuOperatorCalls.cjs');

(async () => {
  await core.useBackend('webgpu');
  const n = Number(process.env.N ?? 16384);
  const calls = Number(process.env.CALLS ?? 1000);
  const { calls: operators, dispose } = webgpuOperatorCalls(n);
  const names = (process.env.OPS ?? 'exact,thinformer,kdeformer').split(',');
  // compile every program while the queue still runs
  for (const name of names) {
    const out = operators[name]();
    await out.data();
    out.dispose();
  }
  await core.throwIfWebGpuFailed('warm-up');
  const backend = tf.backend();
  const spent = {};
  const timed = (owner, method, label) => {
    const real = owner[method].bind(owner);
    owner[method] = (...args) => {
      const t0 = performance.now();
      const result = real(...args);
      const entry = (spent[label] ??= { ms: 0, count: 0 });
      entry.ms += performance.now() - t0;
      entry.count++;
      return result;
    };
  };
  timed(backend.device, 'createBindGroup', 'createBindGroup');
  timed(backend, 'makeUniforms', 'makeUniforms');
  timed(backend.queue, 'writeBuffer', 'writeBuffer');
  // measurement only: from here on no command buffer reaches the GPU, and nothing is read back
  backend.queue.submit = () => {};
  for (const name of names) {
    const fn = operators[name];
    for (let i = 0; i < 100; i++) fn().dispose();
    for (const key of Object.keys(spent)) delete spent[key];
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) fn().dispose();
    const ms = (performance.now() - t0) / calls;
    const per = (label) => +((spent[label]?.ms ?? 0) / calls).toFixed(3);
    console.log(JSON.stringify({ operator: name, n, calls, hostMsPerCall: +ms.toFixed(3), dispatchesPerCall: (spent.createBindGroup?.count ?? 0) / calls, createBindGroupMs: per('createBindGroup'), makeUniformsMs: per('makeUniforms'), writeBufferMs: per('writeBuffer') }));
  }
  dispose();
  process.exit(0);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
