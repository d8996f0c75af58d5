// The webgpu operator calls the host-timing scripts (gpu-host-profile.cjs, host-issue-cost.cjs) time:
// through the operators, as `swapformer bench` calls them (Thinformer and KDEformer keep their
// seeded draws on the device between calls), at heads 4, head dim 64, n keys and queries.
const core = require('../../core/dist');
const kernels = require('../../kernels/dist');
const thin = require('../../plugins/thinformer/dist');
const kde = require('../../plugins/kdeformer/dist');
const tost = require('../../plugins/tost/dist');
const { randomAttentionInputs } = require('../../core/dist/conformance');

/** `calls`: { name: () => output tensor } for exact, thinformer, kdeformer and tost on seeded inputs of length n (webgpu must be active); `dispose` frees the inputs and operators. */
function webgpuOperatorCalls(n) {
  const context = core.createKernelContext();
  const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 4, nq: n, nk: n, dk: 64 }, 1);
  const operator = (plugin, options) => plugin.create(core.resolveOptions(plugin, options), { kernels: context, rng: { baseSeed: 0 } }, { layerIndex: 0, heads: 4, headDim: 64 });
  const [thinformer, kdeformer, tostOperator] = [operator(thin.thinformerPlugin, { g: 2, delta: 0.5, seed: 0 }), operator(kde.kdeformerPlugin, { b: 32, m: 64, r: 7, seed: 0 }), operator(tost.tostPlugin, {})];
  const ctx = { causal: false, scale: 0.125 };
  return {
    calls: {
      exact: () => kernels.softmaxAttention(context, q, k, v, {}),
      thinformer: () => thinformer.forward(q, k, v, ctx),
      kdeformer: () => kdeformer.forward(q, k, v, ctx),
      tost: () => tostOperator.forward(q, k, v, ctx),
    },
    dispose() {
      for (const op of [thinformer, kdeformer, tostOperator]) op.dispose?.();
      for (const t of [q, k, v]) t.dispose();
    },
  };
}

module.exports = { webgpuOperatorCalls };
