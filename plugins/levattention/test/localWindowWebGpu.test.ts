/**
 * LevAttention's local window on the webgpu backend (lavapipe in CI) against the host paths on
 * cpu: the causal WGSL form and the non-causal device op path, outputs and gradients.
 * Skips without a webgpu adapter unless SWAPFORMER_REQUIRE_WEBGPU=1.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // tfjs-core's Node entry registers no gradients
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import { createKernelContext, createSeededRandom, useBackend } from '@swapformer/core';
import { webGpuSuiteCheck } from '@swapformer/core/conformance';
import { levAttention, type LevAttentionOptions } from '../src';
import { attention, maxDiff, runOn, spreadInputs } from './webGpuHarness';

const kernels = createKernelContext();
/** Without the WGSL programs of the non-causal top-k form, so unmasked calls too take the device op path. */
const opKernels = createKernelContext({ webGpuPrograms: false });
const suiteBackend = (process.env.SWAPFORMER_BACKEND ?? 'wasm') as 'wasm';

const attend = (options: LevAttentionOptions, masked: boolean, context = kernels) => attention(context, options, masked);

describe('LevAttention with a local window on webgpu', function () {
  before(webGpuSuiteCheck({ restore: suiteBackend, required: process.env.SWAPFORMER_REQUIRE_WEBGPU === '1' }));
  after(async () => useBackend(suiteBackend));

  // ridge at the device floor (1e-5), so the non-causal float32 scores rank as the float64 host's
  const rule: LevAttentionOptions = { selection: 'top-k', topK: 5, epsilon: 0.3, keepFirst: false, ridge: 1e-5 };
  const rules: Array<[string, LevAttentionOptions]> = [
    ['top-k', rule],
    ['top-k with keepFirst', { ...rule, keepFirst: true }],
    ['threshold', { ...rule, selection: 'threshold' }],
  ];
  const forms: Array<[string, boolean, typeof kernels]> = [
    ['causal WGSL form', true, kernels],
    ['non-causal WGSL programs when top-k and unmasked, else device op path', false, kernels],
    ['non-causal device op path', false, opKernels],
  ];
  for (const [form, causal, context] of forms) {
    for (const [label, options] of rules) {
      for (const masked of [false, true]) {
        if (context === opKernels && masked) continue; // masked calls take the op path with either context
        it(`should give the host path's outputs (${form}, ${label}${masked ? ', padding mask' : ''})`, async () => {
          for (const [b, h, nq, nk, d, w] of [
            [2, 2, 20, 24, 8, 1],
            [2, 2, 20, 24, 8, 7],
            [1, 2, 96, 160, 32, 16],
            [1, 2, 40, 40, 16, 200],
          ]) {
            const inputs = spreadInputs(b, h, nq, nk, d, 100 + d + w);
            const windowed = attend({ ...options, causal, localWindow: w }, masked, context);
            const [host] = await runOn('cpu', inputs, windowed);
            const [device] = await runOn('webgpu', inputs, windowed);
            expect(maxDiff(device, host), `[${b}, ${h}, ${nq}, ${nk}, ${d}], w ${w}`).to.be.below(1e-5);
          }
        });
      }
    }
  }

  for (const causal of [true, false]) {
    it(`should give exactly the windowless output with localWindow 0 (${causal ? 'causal' : 'non-causal'}, with and without a mask)`, async () => {
      const inputs = spreadInputs(2, 2, 24, 24, 8, 110);
      for (const masked of [false, true]) {
        const [plain] = await runOn('webgpu', inputs, attend({ ...rule, causal }, masked));
        const [zero] = await runOn('webgpu', inputs, attend({ ...rule, causal, localWindow: 0 }, masked));
        expect(maxDiff(zero, plain)).to.equal(0);
      }
    });

    it(`should give the host path's gradients to q, k and v (${causal ? 'causal' : 'non-causal'}, top-k with keepFirst, window 4, padding mask)`, async () => {
      const inputs = spreadInputs(2, 2, 16, 24, 8, 111);
      const weights = createSeededRandom(112).fillNormal(new Float32Array(2 * 2 * 16 * 8));
      const options = { ...rule, keepFirst: true, causal, localWindow: 4 };
      const grads = ([q, k, v, mask]: tf.Tensor[]) =>
        tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(attend(options, true)([a, b, c, mask]), tf.tensor(weights, [2, 2, 16, 8]))))([q, k, v]);
      const host = await runOn('cpu', inputs, grads);
      const device = await runOn('webgpu', inputs, grads);
      device.forEach((g, i) => {
        expect(g.every(Number.isFinite)).to.equal(true);
        expect(g.some((x) => x !== 0)).to.equal(true);
        expect(maxDiff(g, host[i]), ['dq', 'dk', 'dv'][i]).to.be.below(1e-5);
      });
    });
  }

  it('should leave causal outputs before a position unchanged when later tokens change (window 6)', async () => {
    const [nq, d, cut] = [32, 8, 20];
    const inputs = spreadInputs(1, 2, nq, nq, d, 113);
    const changed = {
      shapes: inputs.shapes,
      values: inputs.values.map((x, t) => (t < 3 ? x.map((y, i) => (Math.floor(i / d) % nq >= cut ? y * -3 + 1 : y)) : x)),
    };
    const options = { ...rule, causal: true, localWindow: 6 };
    const [a] = await runOn('webgpu', inputs, attend(options, false));
    const [b] = await runOn('webgpu', changed, attend(options, false));
    const earlier = (o: Float32Array) => o.filter((_, i) => Math.floor(i / d) % nq < cut);
    expect(maxDiff(earlier(a), earlier(b))).to.equal(0);
    expect(maxDiff(a, b)).to.be.above(1e-3);
  });
});
