/**
 * Causal LevAttention on the webgpu backend (lavapipe in CI) against the host path on cpu: the
 * same kept keys (outputs to float32 rounding), the conformance kit's causal cases checked by
 * hand (the kit reads results with dataSync, which webgpu cannot do in Node), and gradients.
 * Skips without a webgpu adapter unless SWAPFORMER_REQUIRE_WEBGPU=1.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // tfjs-core's Node entry registers no gradients
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import { createKernelContext, createSeededRandom, useBackend } from '@swapformer/core';
import { randomAttentionInputs, referenceAttention, toFloat64, webGpuSuiteCheck } from '@swapformer/core/conformance';
import { float32Uniform, int32Uniform, runWebGpuProgram } from '@swapformer/kernels';
import { levAttention, onlineEnergiesWgsl, onlineLeverageScores, type LevAttentionOptions } from '../src';
import { attention, hostInputs, maxDiff, runOn, spreadInputs, type Inputs } from './webGpuHarness';

const kernels = createKernelContext();
const suiteBackend = (process.env.SWAPFORMER_BACKEND ?? 'wasm') as 'wasm';

const attend = (options: LevAttentionOptions, masked: boolean) => attention(kernels, { ...options, causal: true }, masked);

describe('causal LevAttention on webgpu (online scores and intervals as programs)', function () {
  before(webGpuSuiteCheck({ restore: suiteBackend, required: process.env.SWAPFORMER_REQUIRE_WEBGPU === '1' }));
  after(async () => useBackend(suiteBackend));

  const rule: LevAttentionOptions = { selection: 'top-k', topK: 5, epsilon: 0.3, keepFirst: false, ridge: 1e-6 };
  const rules: Array<[string, LevAttentionOptions]> = [
    ['top-k', rule],
    ['top-k with keepFirst', { ...rule, keepFirst: true }],
    ['threshold', { ...rule, selection: 'threshold' }],
    ['threshold with keepFirst', { ...rule, selection: 'threshold', keepFirst: true }],
    ['threshold no key reaches (best-key fallback)', { ...rule, selection: 'threshold', epsilon: 0.97 }],
  ];
  // [b, h, nq, nk, d]: nk > d, so prefixes pass from rank-deficient (scores ≈ 1) to full rank
  const shapes = [
    [2, 2, 20, 24, 8],
    [1, 2, 96, 160, 32],
    [1, 1, 80, 80, 64],
  ];
  for (const [label, options] of rules) {
    for (const masked of [false, true]) {
      it(`should keep the host path's keys and give its outputs: ${label}${masked ? ', padding mask' : ''}`, async () => {
        for (const [b, h, nq, nk, d] of shapes) {
          const inputs = spreadInputs(b, h, nq, nk, d, 70 + d);
          const [host] = await runOn('cpu', inputs, attend(options, masked));
          const [device] = await runOn('webgpu', inputs, attend(options, masked));
          // a different kept key moves outputs by O(1); float32 rounding of the same keys (logits up to ~50 here) by ~1e-6
          expect(maxDiff(device, host), `[${b}, ${h}, ${nq}, ${nk}, ${d}]`).to.be.below(1e-5);
        }
      });
    }
  }

  it('should compute online energies within 1e-4 relative of the float64 host scores on normal keys, the rank-deficient prefix included', async () => {
    // The host's update form (x ← (r/u)·x − (x_t/u)·u') cancels terms of size 1/√ridge: in float32 that was 4–7 % off for keys 1 … dk − 1.
    const [slices, n, d] = [32, 64, 8];
    const keys = createSeededRandom(82).fillNormal(new Float32Array(slices * n * d));
    const [energies] = await runOn(
      'webgpu',
      {
        shapes: [
          [slices * n, d],
          [1, n],
        ],
        values: [keys, new Float32Array(n).fill(1)],
      },
      ([k, mask]) =>
        runWebGpuProgram(
          {
            variableNames: ['K', 'Mask'],
            outputShape: [slices, n],
            shaderKey: `testLevOnlineEnergies_${d}`,
            dispatch: [slices, 1, 1],
            workgroupSize: [d, 1, 1],
            uniforms: 'slices : i32, n : i32, heads : i32, ridge : f32,',
            getUserCode: () => onlineEnergiesWgsl(d),
          },
          [k, mask],
          [int32Uniform(slices), int32Uniform(n), int32Uniform(slices), float32Uniform(1e-6)],
        ),
    );
    let worst = 0;
    for (let s = 0; s < slices; s++) {
      onlineLeverageScores(keys, s * n * d, n, d, 1e-6).forEach((tau, j) => (worst = Math.max(worst, Math.abs(energies[s * n + j] / (tau / (1 - tau)) - 1))));
    }
    expect(worst).to.be.below(1e-4);
  });

  it("should keep the host path's keys on plain normal keys too (320 slices, top-4 of 64, dk 8)", async () => {
    const rng = createSeededRandom(83);
    const size = 10 * 32 * 64 * 8;
    const inputs = {
      shapes: [
        [10, 32, 64, 8],
        [10, 32, 64, 8],
        [10, 32, 64, 8],
      ],
      values: [0, 1, 2].map(() => rng.fillNormal(new Float32Array(size))),
    };
    const [host] = await runOn('cpu', inputs, attend({ ...rule, topK: 4 }, false));
    const [device] = await runOn('webgpu', inputs, attend({ ...rule, topK: 4 }, false));
    expect(maxDiff(device, host)).to.be.below(1e-5);
  });

  // The conformance kit's causal cases of levattention.test.ts, with the kit's input seeds.
  const kitCases = [
    { label: 'k ≥ nk is exact 1×2×30×8', shape: { batch: 1, heads: 2, nq: 30, nk: 30, dk: 8 }, options: { ...rule, topK: 64 }, qkScale: 0.5, maxRelativeError: 1e-5 },
    { label: 'top-16 with CLS 2×2×40×8 (dv 4)', shape: { batch: 2, heads: 2, nq: 40, nk: 40, dk: 8, dv: 4 }, options: { ...rule, topK: 16, keepFirst: true }, qkScale: 1.5, maxRelativeError: 0.6 },
    {
      label: 'threshold, cross 1×2×12×50',
      shape: { batch: 1, heads: 2, nq: 12, nk: 50, dk: 8 },
      options: { ...rule, selection: 'threshold' as const, epsilon: 0.15 },
      qkScale: 1.5,
      maxRelativeError: 0.6,
    },
  ];
  for (const c of kitCases) {
    it(`should pass the conformance kit's causal checks on webgpu (${c.label})`, async () => {
      const { batch, nq, nk } = c.shape;
      const dv = c.shape.dv ?? c.shape.dk;
      const { q, k, v } = randomAttentionInputs(c.shape, 3, c.qkScale);
      const reference = Array.from(referenceAttention(toFloat64(q), toFloat64(k), toFloat64(v), { causal: true }).data);
      const inputs = await hostInputs([q, k, v]);
      const run = (x: Inputs) => runOn('webgpu', x, attend(c.options, false)).then(([out]) => out);
      const out = await run(inputs);
      expect(out.length).to.equal(batch * c.shape.heads * nq * dv);
      expect(maxDiff(await run(inputs), out), 'two runs differ').to.equal(0);
      const err = Math.sqrt(out.reduce((s, x, i) => s + (x - reference[i]) ** 2, 0) / reference.reduce((s, x) => s + x * x, 0));
      expect(err, 'relative error vs exact').to.be.at.most(c.maxRelativeError);
      // later tokens (queries, keys and values from position cut on) changed: earlier outputs are not
      const cut = Math.floor(nq / 2);
      const noisy = inputs.values.map((values, t) => {
        const [, , n, d] = inputs.shapes[t];
        const from = t === 0 ? cut : cut + nk - nq;
        return values.map((x, i) => (Math.floor(i / d) % n >= from ? x + 3 * Math.sin(i) : x));
      });
      const changed = await run({ shapes: inputs.shapes, values: noisy });
      const earlier = (o: Float32Array) => o.filter((_, i) => Math.floor(i / dv) % nq < cut);
      expect(maxDiff(earlier(changed), earlier(out)), 'outputs before the cut').to.be.at.most(1e-5);
      expect(maxDiff(changed, out), 'outputs after the cut').to.be.above(1e-3);
    });
  }

  it('should ignore keys hidden by the key-padding mask', async () => {
    const inputs = spreadInputs(2, 2, 24, 24, 8, 79);
    const hiddenMoved = {
      shapes: inputs.shapes,
      values: inputs.values.map((x, t) => (t === 1 || t === 2 ? x.map((y, i) => (inputs.values[3][Math.floor(i / (24 * 8 * 2)) * 24 + (Math.floor(i / 8) % 24)] ? y : y + 7)) : x)),
    };
    const [a] = await runOn('webgpu', inputs, attend({ ...rule, keepFirst: true }, true));
    const [b] = await runOn('webgpu', hiddenMoved, attend({ ...rule, keepFirst: true }, true));
    expect(maxDiff(a, b)).to.be.at.most(1e-5);
  });

  for (const [label, options] of [rules[1], rules[3]]) {
    it(`should give the host path's gradients to q, k and v (${label}, padding mask)`, async () => {
      const inputs = spreadInputs(2, 2, 16, 24, 8, 80);
      const weights = createSeededRandom(81).fillNormal(new Float32Array(2 * 2 * 16 * 8));
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
});
