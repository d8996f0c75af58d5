import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // tfjs-core's Node entry registers no gradients
import type { Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import { createSeededRandom, type AttentionPlugin, createKernelContext } from '@swapformer/core';
import { softmaxAttention } from '@swapformer/kernels';
import { describeOperatorConformance, expectTensorsClose, maxAbsDiff, randomAttentionInputs } from '@swapformer/core/conformance';
import {
  DEVICE_RIDGE_FLOOR,
  deviceLeverageScores,
  leverageScores,
  levAttention,
  levAttentionOnDevice,
  levattentionPlugin,
  newtonSchulzInverse,
  newtonSchulzIterations,
  type LevAttentionOptions,
  type LevattentionOptions,
} from '../src';

/** The kernel settings and resources these tests run the kernels with (defaults: core-count threads). */
const kernels = createKernelContext();

/** The plugin with its forward forced onto the device path (what webgpu runs), non-causal only. */
const devicePlugin: AttentionPlugin<LevattentionOptions> = {
  ...levattentionPlugin,
  capabilities: { ...levattentionPlugin.capabilities, causal: 'none' },
  create(options) {
    const rule = { selection: options.selection, topK: options.k, epsilon: options.epsilon, keepFirst: options.keepFirst, ridge: options.ridge };
    return {
      name: 'levattention',
      forward: (q, k, v, ctx) => levAttentionOnDevice(kernels, q, k, v, { ...rule, scale: ctx.scale, mask: ctx.mask }),
      parameters: () => [],
      dispose: () => undefined,
    };
  },
};

describeOperatorConformance(devicePlugin, {
  cases: [
    { label: 'device path, k ≥ nk is exact, 2×2×24×8', shape: { batch: 2, heads: 2, nq: 24, nk: 24, dk: 8 }, options: { k: 64 }, maxRelativeError: 1e-5 },
    { label: 'device path, top-16 with CLS 2×2×40×8 (dv 4)', shape: { batch: 2, heads: 2, nq: 40, nk: 40, dk: 8, dv: 4 }, options: { k: 16, keepFirst: true }, qkScale: 1.5, maxRelativeError: 0.7 },
    { label: 'device path, threshold, cross 1×2×12×50', shape: { batch: 1, heads: 2, nq: 12, nk: 50, dk: 8 }, options: { selection: 'threshold', epsilon: 0.15 }, qkScale: 1.5, maxRelativeError: 0.6 },
  ],
});

const rule: LevAttentionOptions = { selection: 'top-k', topK: 6, epsilon: 0.1, keepFirst: false, ridge: 1e-6 };

/**
 * `[b, h, n, d]` inputs whose keys have heavy-tailed norms (row scales e^{N(0,1)}), so leverage
 * scores are well separated and float32 device scores rank exactly as the float64 host scores.
 */
function spreadInputs(b: number, h: number, n: number, d: number, seed: number): { q: Tensor4D; k: Tensor4D; v: Tensor4D } {
  const rng = createSeededRandom(seed);
  const normal = (size: number) => rng.fillNormal(new Float32Array(size), 0, 1);
  const keys = normal(b * h * n * d);
  for (let row = 0; row < b * h * n; row++) {
    const s = Math.exp(rng.normal());
    for (let c = 0; c < d; c++) keys[row * d + c] *= s;
  }
  return { q: tf.tensor4d(normal(b * h * n * d), [b, h, n, d]), k: tf.tensor4d(keys, [b, h, n, d]), v: tf.tensor4d(normal(b * h * n * d), [b, h, n, d]) };
}

/** Smallest gap between the topK-th and the next host score over all slices (visible keys only). */
function boundaryGap(k: Tensor4D, topK: number, mask?: tf.Tensor2D): number {
  const [b, h, n] = k.shape;
  const tau = leverageScores(k, rule.ridge, mask);
  const data = tau.dataSync();
  const visible = mask ? mask.dataSync() : null;
  tau.dispose();
  let gap = Infinity;
  for (let s = 0; s < b * h; s++) {
    const row = Array.from(data.subarray(s * n, (s + 1) * n)).filter((_, j) => !visible || visible[Math.floor(s / h) * n + j] === 1).sort((x, y) => y - x);
    if (row.length > topK) gap = Math.min(gap, row[topK - 1] - row[topK]);
  }
  return gap;
}

describe('newtonSchulzInverse', () => {
  it('should invert SPD matrices to float32 accuracy, eps·cond(A), up to the floor\'s condition dk / DEVICE_RIDGE_FLOOR', () => {
    const dim = 16;
    const rng = createSeededRandom(60);
    // A = Q diag(μ) Qᵀ with μ log-spaced from 1 down to 1/cond, Q orthonormal (Gram–Schmidt of a normal matrix).
    const conds = [10, 1e3, dim / DEVICE_RIDGE_FLOOR];
    const q = Float64Array.from(rng.fillNormal(new Float32Array(dim * dim), 0, 1));
    for (let i = 0; i < dim; i++) {
      for (let j = 0; j < i; j++) {
        let dot = 0;
        for (let t = 0; t < dim; t++) dot += q[i * dim + t] * q[j * dim + t];
        for (let t = 0; t < dim; t++) q[i * dim + t] -= dot * q[j * dim + t];
      }
      const norm = Math.hypot(...q.subarray(i * dim, (i + 1) * dim));
      for (let t = 0; t < dim; t++) q[i * dim + t] /= norm;
    }
    const matrices = conds.map((cond) => {
      const m = new Float32Array(dim * dim);
      for (let r = 0; r < dim; r++) {
        const mu = cond ** (-r / (dim - 1));
        for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) m[i * dim + j] += mu * q[r * dim + i] * q[r * dim + j];
      }
      return m;
    });
    const a = tf.tensor3d(Float32Array.from(matrices.flatMap((m) => Array.from(m))), [conds.length, dim, dim]);
    const x = newtonSchulzInverse(a as Tensor3D, newtonSchulzIterations(dim, DEVICE_RIDGE_FLOOR));
    const xd = x.dataSync();
    matrices.forEach((m, s) => {
      // ‖A X − I‖_max in float64, from the float32 A the device saw.
      let residual = 0;
      for (let i = 0; i < dim; i++) {
        for (let j = 0; j < dim; j++) {
          let acc = 0;
          for (let t = 0; t < dim; t++) acc += m[i * dim + t] * xd[s * dim * dim + t * dim + j];
          residual = Math.max(residual, Math.abs(acc - (i === j ? 1 : 0)));
        }
      }
      expect(residual, `cond ${conds[s]}`).to.be.below(Math.max(1e-5, 2 ** -23 * conds[s]));
    });
    tf.dispose([a, x]);
  });

  it('should take about log2(cond) steps', () => {
    expect(newtonSchulzIterations(64, 1e-5)).to.equal(27);
    expect(newtonSchulzIterations(64, 1e-3)).to.equal(21);
  });
});

describe('deviceLeverageScores', () => {
  it('should match the float64 host scores when the ridge is at or above the floor, and closely below it', () => {
    const { k } = randomAttentionInputs({ batch: 2, heads: 2, nq: 1, nk: 40, dk: 8 }, 61);
    for (const [ridge, atol] of [[1e-4, 1e-6], [1e-6, 3e-5]]) {
      const host = leverageScores(k, ridge);
      const device = deviceLeverageScores(tf.reshape(k, [4, 40, 8]) as Tensor3D, null, ridge);
      expect(maxAbsDiff(device, host), `ridge ${ridge}`).to.be.below(atol);
      tf.dispose([host, device]);
    }
    k.dispose();
  });
});

describe('levAttentionOnDevice', () => {
  const cases: Array<{ label: string; rule: LevAttentionOptions; masked: boolean }> = [
    { label: 'top-k', rule, masked: false },
    { label: 'top-k with keepFirst', rule: { ...rule, keepFirst: true }, masked: false },
    { label: 'top-k with a padding mask (one row with fewer visible keys than k)', rule: { ...rule, keepFirst: true }, masked: true },
    { label: 'threshold', rule: { ...rule, selection: 'threshold', epsilon: 0.2 }, masked: false },
    { label: 'threshold with keepFirst and a mask', rule: { ...rule, selection: 'threshold', epsilon: 0.2, keepFirst: true }, masked: true },
    { label: 'threshold no key reaches (best-key fallback)', rule: { ...rule, selection: 'threshold', epsilon: 0.99 }, masked: false },
  ];
  for (const c of cases) {
    it(`should equal the host path when the selections coincide: ${c.label}`, () => {
      const { q, k, v } = spreadInputs(2, 2, 24, 8, 62);
      const mask = c.masked ? tf.tensor2d(Array.from({ length: 48 }, (_, i) => (i < 24 ? Number(i % 24 < 4) : Number(i % 3 !== 1))), [2, 24]) : undefined;
      if (c.rule.selection === 'top-k') expect(boundaryGap(k, c.rule.topK, mask)).to.be.above(1e-3);
      const host = levAttention(kernels, q, k, v, { ...c.rule, mask });
      const device = levAttentionOnDevice(kernels, q, k, v, { ...c.rule, mask });
      expectTensorsClose(device, host, { atol: 1e-5 });
      tf.dispose([q, k, v, host, device, ...(mask ? [mask] : [])]);
    });
  }

  it('should equal exact softmax attention when k ≥ nk, with and without a mask', () => {
    const { q, k, v } = randomAttentionInputs({ batch: 2, heads: 2, nq: 10, nk: 16, dk: 8 }, 63, 1.5);
    const mask = tf.tensor2d(Array.from({ length: 32 }, (_, i) => Number(i % 5 !== 2)), [2, 16]);
    for (const m of [undefined, mask]) {
      const exact = softmaxAttention(kernels, q, k, v, { mask: m });
      const out = levAttentionOnDevice(kernels, q, k, v, { ...rule, topK: 99, mask: m });
      expectTensorsClose(out, exact, { atol: 1e-5 });
      tf.dispose([exact, out]);
    }
    tf.dispose([q, k, v, mask]);
  });

  it('should output zeros for a batch row with no visible key, like the host path', () => {
    const { q, k, v } = spreadInputs(2, 1, 8, 4, 64);
    const mask = tf.tensor2d([[0, 0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1]]);
    for (const selection of ['top-k', 'threshold'] as const) {
      const host = levAttention(kernels, q, k, v, { ...rule, selection, mask });
      const device = levAttentionOnDevice(kernels, q, k, v, { ...rule, selection, mask });
      expectTensorsClose(device, host, { atol: 1e-5 });
      expect(Array.from(device.dataSync().subarray(0, 32)).every((x) => x === 0)).to.equal(true);
      tf.dispose([host, device]);
    }
    tf.dispose([q, k, v, mask]);
  });

  describe('having a gradient tape recording', () => {
    for (const selection of ['top-k', 'threshold'] as const) {
      it(`should give finite gradients equal to the host path's (${selection}, keepFirst, mask)`, () => {
        const { q, k, v } = spreadInputs(2, 2, 16, 4, 65);
        const mask = tf.tensor2d(Array.from({ length: 32 }, (_, i) => Number(i % 16 < 13)), [2, 16]);
        const weights = tf.randomNormal([2, 2, 16, 4], 0, 1, 'float32', 8);
        const options: LevAttentionOptions = { ...rule, selection, topK: 5, epsilon: 0.3, keepFirst: true, mask };
        expect(boundaryGap(k, 5, mask)).to.be.above(1e-3);
        const lossOf = (attend: typeof levAttention) => (...[a, b, c]: tf.Tensor[]) => tf.sum(tf.mul(attend(kernels, a as Tensor4D, b as Tensor4D, c as Tensor4D, options), weights));
        const host = tf.grads(lossOf(levAttention))([q, k, v]);
        const device = tf.grads(lossOf(levAttentionOnDevice))([q, k, v]);
        device.forEach((g, i) => {
          expect(Array.from(g.dataSync()).every(Number.isFinite)).to.equal(true);
          expectTensorsClose(g, host[i], { atol: 1e-5 });
        });
        tf.dispose([q, k, v, mask, weights, ...host, ...device]);
      });
    }

    it('should train through tf.variableGrads', () => {
      const { q, k, v } = spreadInputs(1, 2, 12, 4, 66);
      const wk = tf.variable(tf.eye(4), true, 'levDeviceWk');
      const { value, grads } = tf.variableGrads(() => {
        const keys = tf.reshape(tf.matMul(tf.reshape(k, [24, 4]), wk), [1, 2, 12, 4]) as Tensor4D;
        return tf.sum(levAttentionOnDevice(kernels, q, keys, v, { ...rule, topK: 4 }));
      }, [wk]);
      expect(Number.isFinite(value.dataSync()[0])).to.equal(true);
      expect(Array.from(grads[wk.name].dataSync()).some((x) => x !== 0)).to.equal(true);
      tf.dispose([q, k, v, wk, value, grads[wk.name]]);
    });
  });

  it('should leak no tensors, forward or backward', () => {
    const { q, k, v } = spreadInputs(2, 2, 12, 4, 67);
    const mask = tf.tensor2d(Array.from({ length: 24 }, (_, i) => Number(i % 12 < 10)), [2, 12]);
    const before = tf.memory().numTensors;
    for (const selection of ['top-k', 'threshold'] as const) {
      const options: LevAttentionOptions = { ...rule, selection, topK: 4, keepFirst: true, mask };
      tf.dispose(levAttentionOnDevice(kernels, q, k, v, options));
      tf.dispose(tf.grads((...[a, b, c]: tf.Tensor[]) => tf.sum(levAttentionOnDevice(kernels, a as Tensor4D, b as Tensor4D, c as Tensor4D, options)))([q, k, v]));
    }
    expect(tf.memory().numTensors).to.equal(before);
    tf.dispose([q, k, v, mask]);
  });
});
