import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import { createMemoryLogger, createSwapformerContainer, deriveSeed, instantiateOperator, resolveOperatorServices, createKernelContext } from '@swapformer/core';
import { describeOperatorConformance, expectTensorsClose, maxAbsDiff, randomAttentionInputs, referenceAttention, relativeError, toFloat64 } from '@swapformer/core/conformance';
import { defaultFeatureCount, drawProjection, favorFeatures, performerAttention, performerPlugin } from '../src';

/** The kernel settings and resources these tests run the kernels with (defaults: core-count threads). */
const kernels = createKernelContext();

describeOperatorConformance(performerPlugin, {
  cases: [
    { label: 'non-causal 2×3×17×8 (m = 16)', shape: { batch: 2, heads: 3, nq: 17, nk: 17, dk: 8 }, maxRelativeError: 0.35 },
    { label: 'non-causal 1×2×33×16, m = 512', shape: { batch: 1, heads: 2, nq: 33, nk: 33, dk: 16 }, options: { features: 512 }, maxRelativeError: 0.1 },
    { label: 'causal 1×2×24×16 (dv 8), chunks of 5', shape: { batch: 1, heads: 2, nq: 24, nk: 24, dk: 16, dv: 8 }, options: { chunkSize: 5, features: 128 }, causal: true, maxRelativeError: 0.2 },
    { label: 'cross 1×1×5×33', shape: { batch: 1, heads: 1, nq: 5, nk: 33, dk: 4 }, options: { features: 64 }, maxRelativeError: 0.25 },
    { label: 'many slices (b·h = 21, two-level split) 3×7×9×4, causal', shape: { batch: 3, heads: 7, nq: 9, nk: 9, dk: 4 }, options: { features: 64, chunkSize: 4 }, causal: true, maxRelativeError: 0.3 },
    { label: 'causal kv-cache layout 2×2×6×20', shape: { batch: 2, heads: 2, nq: 6, nk: 20, dk: 8 }, options: { chunkSize: 4, features: 64 }, causal: true, maxRelativeError: 0.25 },
    { label: 'localWindow 4, causal 1×2×24×16, chunks of 5', shape: { batch: 1, heads: 2, nq: 24, nk: 24, dk: 16, dv: 8 }, options: { localWindow: 4, chunkSize: 5, features: 128 }, causal: true, maxRelativeError: 0.1 },
    { label: 'localWindow 3, non-causal 2×3×17×8', shape: { batch: 2, heads: 3, nq: 17, nk: 17, dk: 8 }, options: { localWindow: 3, chunkSize: 4 }, maxRelativeError: 0.3 },
    { label: 'localWindow 5, causal kv-cache layout 2×2×6×20', shape: { batch: 2, heads: 2, nq: 6, nk: 20, dk: 8 }, options: { localWindow: 5, chunkSize: 4, features: 64 }, causal: true, maxRelativeError: 0.2 },
    { label: 'localWindow ≥ n: exact, causal 1×2×16×8', shape: { batch: 1, heads: 2, nq: 16, nk: 16, dk: 8 }, options: { localWindow: 16 }, causal: true, maxRelativeError: 1e-5 },
    { label: 'learned map, localWindow 4, causal 2×2×13×8', shape: { batch: 2, heads: 2, nq: 13, nk: 13, dk: 8 }, options: { featureMap: 'learned', localWindow: 4, chunkSize: 4 }, causal: true },
  ],
  invalidOptions: [
    { options: { features: 0 }, messageIncludes: '/options/features' },
    { options: { redraw: 'sometimes' }, messageIncludes: '/options/redraw' },
    { options: { rowNorms: 'unit' }, messageIncludes: '/options/rowNorms' },
    { options: { epsilon: -1 }, messageIncludes: '/options/epsilon' },
    { options: { localWindow: -1 }, messageIncludes: '/options/localWindow' },
    { options: { localWindow: 2.5 }, messageIncludes: '/options/localWindow' },
  ],
});

const spec = { orthogonal: true, rowNorms: 'gaussian' as const };
const omegaFixture = (features: number, headDim: number, seed: number, extra: Partial<typeof spec> = {}): Tensor2D =>
  tf.tensor2d(drawProjection({ features, headDim, ...spec, ...extra }, seed), [features, headDim]);

/** `tril(φ(Q)φ(K)ᵀ)` normalised, built from the exported feature map: the O(n²) form the scan must equal. */
function maskedQuadraticFixture(q: Tensor4D, k: Tensor4D, v: Tensor4D, omega: Tensor2D, epsilon: number): Tensor4D {
  return tf.tidy(() => {
    const scale = 1 / Math.sqrt(q.shape[3]);
    const phiQ = favorFeatures(q, omega, { scale, epsilon, role: 'query' });
    const phiK = favorFeatures(k, omega, { scale, epsilon, role: 'key' });
    const [nq, nk] = [q.shape[2], k.shape[2]];
    const visible = tf.tensor2d(Array.from({ length: nq * nk }, (_, x) => (x % nk <= Math.floor(x / nk) + nk - nq ? 1 : 0)), [nq, nk]);
    const a = tf.mul(tf.matMul(phiQ, phiK, false, true), visible);
    return tf.div(tf.matMul(a, v), tf.sum(a, 3, true)) as Tensor4D;
  });
}

describe('drawProjection', () => {
  describe('having orthogonal features', () => {
    it('should make rows of one block exactly orthogonal and rows of different blocks not', () => {
      const d = 16;
      const omega = drawProjection({ features: 40, headDim: d, ...spec }, 3);
      const row = (r: number) => omega.subarray(r * d, (r + 1) * d);
      const cosine = (a: Float32Array, b: Float32Array) => {
        let ab = 0, aa = 0, bb = 0;
        for (let i = 0; i < d; i++) [ab, aa, bb] = [ab + a[i] * b[i], aa + a[i] ** 2, bb + b[i] ** 2];
        return ab / Math.sqrt(aa * bb);
      };
      let worstWithin = 0;
      let bestAcross = 0;
      for (let i = 0; i < 40; i++) {
        for (let j = i + 1; j < 40; j++) {
          const c = Math.abs(cosine(row(i), row(j)));
          if (Math.floor(i / d) === Math.floor(j / d)) worstWithin = Math.max(worstWithin, c);
          else bestAcross = Math.max(bestAcross, c);
        }
      }
      expect(worstWithin).to.be.below(1e-6);
      expect(bestAcross).to.be.above(0.1);
    });

    it('should scale rows to Gaussian lengths (mean ‖ω‖² ≈ d) or to exactly sqrt(d)', () => {
      const d = 8;
      const m = 4000;
      const norms2 = (rowNorms: 'gaussian' | 'fixed') => {
        const omega = drawProjection({ features: m, headDim: d, orthogonal: true, rowNorms }, 5);
        return Array.from({ length: m }, (_, r) => omega.subarray(r * d, (r + 1) * d).reduce((s, x) => s + x * x, 0));
      };
      const gaussian = norms2('gaussian');
      expect(gaussian.reduce((s, x) => s + x, 0) / m).to.be.closeTo(d, 0.3);
      expect(Math.max(...gaussian) - Math.min(...gaussian)).to.be.above(d);
      for (const n2 of norms2('fixed')) expect(n2).to.be.closeTo(d, 1e-4);
    });

    it('should reproduce ω from the seed and change it with the seed', () => {
      const a = drawProjection({ features: 20, headDim: 6, ...spec }, 9);
      expect(maxAbsDiff(a, drawProjection({ features: 20, headDim: 6, ...spec }, 9))).to.equal(0);
      expect(maxAbsDiff(a, drawProjection({ features: 20, headDim: 6, ...spec }, 10))).to.be.above(0.1);
    });
  });
});

describe('favorFeatures', () => {
  describe('having raw features', () => {
    it('should estimate exp(s·q·k) without bias (Monte-Carlo mean over 200 draws)', () => {
      const { q, k } = randomAttentionInputs({ batch: 1, heads: 1, nq: 3, nk: 3, dk: 4 }, 21, 0.7);
      const scale = 0.5;
      const exact = tf.tidy(() => tf.exp(tf.mul(tf.matMul(q, k, false, true), scale)).dataSync());
      const mean = new Float64Array(9);
      const draws = 200;
      for (let s = 0; s < draws; s++) {
        const omega = omegaFixture(16, 4, 1000 + s);
        const kernel = tf.tidy(() => tf.matMul(favorFeatures(q, omega, { scale, epsilon: 0, role: 'raw' }), favorFeatures(k, omega, { scale, epsilon: 0, role: 'raw' }), false, true).dataSync());
        kernel.forEach((x, i) => (mean[i] += x / draws));
        omega.dispose();
      }
      expectTensorsClose(mean, exact, { rtol: 0.05 });
      tf.dispose([q, k]);
    });
  });
});

describe('performerAttention', () => {
  const options = { epsilon: 1e-4, chunkSize: 7 };

  describe('having the batched layout (GPU backends)', () => {
    it('should equal the per-slice layout, causal or not, with and without padding', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 2, heads: 3, nq: 19, nk: 23, dk: 8, dv: 5 }, 11, 0.7);
      const omega = omegaFixture(24, 8, 4);
      const mask = tf.tensor2d(Array.from({ length: 2 * 23 }, (_, i) => (i % 6 === 4 ? 0 : 1)), [2, 23]);
      for (const causal of [false, true]) {
        for (const m of [undefined, mask]) {
          const slices = performerAttention(kernels, q, k, v, omega, { ...options, causal, mask: m, layout: 'slices' });
          const batched = performerAttention(kernels, q, k, v, omega, { ...options, causal, mask: m, layout: 'batched' });
          expect(maxAbsDiff(slices, batched), `causal ${causal}, mask ${m !== undefined}`).to.be.below(1e-5);
          tf.dispose([slices, batched]);
        }
      }
      tf.dispose([q, k, v, omega, mask]);
    });
  });

  describe('having the fused CPU kernel (non-causal, no tape)', () => {
    const shapes = [
      { name: 'odd sizes, m not a multiple of 8', shape: { batch: 2, heads: 3, nq: 19, nk: 23, dk: 6, dv: 5 }, m: 27 },
      { name: 'more features and keys than a kernel block', shape: { batch: 1, heads: 2, nq: 40, nk: 300, dk: 64, dv: 64 }, m: 266 },
    ];
    for (const { name, shape, m } of shapes) {
      it(`should equal the tfjs-op path to 1e-5 with and without masks and ε (${name})`, () => {
        const { q, k, v } = randomAttentionInputs(shape, 12, 0.7);
        const omega = omegaFixture(m, shape.dk, 5);
        // batch 1 (if any) hides every key: its rows must come out 0 on both paths
        const mask = tf.tensor2d(Array.from({ length: shape.batch * shape.nk }, (_, i) => (i >= shape.nk || i % 4 === 1 ? 0 : 1)), [shape.batch, shape.nk]);
        const before = tf.memory().numTensors;
        for (const epsilon of [1e-4, 0]) {
          for (const m2 of [undefined, mask]) {
            const fused = performerAttention(kernels, q, k, v, omega, { ...options, epsilon, mask: m2 });
            const ops = performerAttention(kernels, q, k, v, omega, { ...options, epsilon, mask: m2, fused: false });
            expect(tf.memory().numTensors).to.equal(before + 2);
            expectTensorsClose(fused, ops, { atol: 1e-5, rtol: 1e-4 });
            tf.dispose([fused, ops]);
          }
        }
        tf.dispose([q, k, v, omega, mask]);
      });
    }

    it('should not be taken while a gradient tape records (gradients reach q, k and v)', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 1, nq: 6, nk: 6, dk: 4 }, 13, 0.7);
      const omega = omegaFixture(8, 4, 6);
      const grads = tf.grads((...[a, b, c]: tf.Tensor[]) => tf.sum(performerAttention(kernels, a as Tensor4D, b as Tensor4D, c as Tensor4D, omega, options)))([q, k, v]);
      for (const g of grads) expect(tf.max(tf.abs(g)).dataSync()[0]).to.be.above(0);
      tf.dispose([q, k, v, omega, ...grads]);
    });
  });

  describe('having more random features', () => {
    it('should approach exact attention as m grows 16 → 256 → 1024 (mean over 4 seeds, monotone)', () => {
      // error ~ m^(-1/2) · e^(‖q'‖² + ‖k'‖²): moderate norms (‖q'‖² ≈ 0.36) keep the constant small
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 48, nk: 48, dk: 16 }, 31, 0.3);
      const exact = referenceAttention(toFloat64(q), toFloat64(k), toFloat64(v));
      const meanError = (m: number) => {
        let total = 0;
        for (let seed = 0; seed < 4; seed++) {
          const omega = omegaFixture(m, 16, seed);
          const out = performerAttention(kernels, q, k, v, omega, options);
          total += relativeError(out, exact) / 4;
          tf.dispose([omega, out]);
        }
        return total;
      };
      const errors = [16, 256, 1024].map(meanError);
      expect(errors[1]).to.be.below(errors[0]);
      expect(errors[2]).to.be.below(errors[1]);
      expect(errors[2]).to.be.below(0.03);
      tf.dispose([q, k, v]);
    });
  });

  describe('having a causal mask', () => {
    for (const [nq, nk] of [[37, 37], [9, 30]]) {
      it(`should equal the masked quadratic form tril(φ(Q)φ(K)ᵀ)V / rowsum to 1e-4 (nq ${nq}, nk ${nk}, chunks of 7)`, () => {
        const { q, k, v } = randomAttentionInputs({ batch: 2, heads: 2, nq, nk, dk: 8, dv: 5 }, 32, 0.8);
        const omega = omegaFixture(24, 8, 1);
        const scan = performerAttention(kernels, q, k, v, omega, { ...options, causal: true });
        const quadratic = maskedQuadraticFixture(q, k, v, omega, options.epsilon);
        expectTensorsClose(scan, quadratic, { atol: 1e-4 });
        tf.dispose([q, k, v, omega, scan, quadratic]);
      });
    }

    it('should never create an [n, m, dv] or [n, n] tensor (shape probe over every kernel, n = 2048)', async () => {
      const n = 2048;
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 1, nq: n, nk: n, dk: 16 }, 33, 0.5);
      const omega = omegaFixture(32, 16, 2);
      const profile = await tf.profile(() => performerAttention(kernels, q, k, v, omega, { epsilon: 1e-4, chunkSize: 128, causal: true }));
      const shapes = profile.kernels.flatMap((kernel) => kernel.outputShapes);
      expect(shapes.length).to.be.above(10);
      for (const shape of shapes) {
        const size = (shape ?? []).reduce((s, x) => s * x, 1);
        expect(size, `kernel output [${shape}]`).to.be.below(n * 32); // not even an [n, m] feature matrix
        expect((shape ?? []).filter((x) => x >= n).length, `kernel output [${shape}]`).to.be.at.most(1);
      }
      expect(profile.peakBytes).to.be.below(n * n * 4);
      tf.dispose([q, k, v, omega, profile.result as Tensor4D]);
    });
  });

  describe('having key-padding masks', () => {
    for (const causal of [false, true]) {
      it(`should equal attention over the kept keys only (causal ${causal})`, () => {
        const { q, k, v } = randomAttentionInputs({ batch: 2, heads: 2, nq: 12, nk: 12, dk: 8 }, 34, 0.8);
        const omega = omegaFixture(32, 8, 3);
        const keep = 8; // the last 4 keys of batch 1 are padding
        const mask = tf.tensor2d([Array(12).fill(1), [...Array(keep).fill(1), ...Array(12 - keep).fill(0)]]) as Tensor2D;
        const out = performerAttention(kernels, q, k, v, omega, { ...options, causal, mask });
        const [row1, kept] = tf.tidy(() => {
          const pick = (t: Tensor4D, n: number) => tf.slice(t, [1, 0, 0, 0], [1, -1, n, -1]) as Tensor4D;
          const ref = performerAttention(kernels, pick(q, causal ? keep : 12), pick(k, keep), pick(v, keep), omega, { ...options, causal });
          return [tf.slice(out, [1, 0, 0, 0], [1, -1, causal ? keep : 12, -1]), ref];
        });
        expectTensorsClose(row1, kept, { atol: 1e-5 });
        tf.dispose([q, k, v, omega, mask, out, row1, kept]);
      });
    }
  });

  describe('having logits of magnitude 50', () => {
    it('should stay finite and inside the convex hull of the values (causal and not)', () => {
      const d = 16;
      const n = 64;
      // q_i = ±k_i with s·q·k = ±50: the unstabilised exp would sit at e^±50 before normalising
      const { k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: n, nk: n, dk: d }, 35, 1);
      const [kn, q] = tf.tidy(() => {
        const unit = tf.div(k, tf.norm(k, 'euclidean', 3, true));
        const kn = tf.mul(unit, Math.sqrt(50 * Math.sqrt(d))) as Tensor4D;
        const signs = tf.reshape(tf.tensor1d(Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1))), [1, 1, n, 1]);
        return [kn, tf.mul(kn, signs) as Tensor4D];
      });
      const logits = tf.tidy(() => tf.max(tf.abs(tf.mul(tf.matMul(q, kn, false, true), 1 / Math.sqrt(d)))).dataSync()[0]);
      expect(logits).to.be.closeTo(50, 1e-2);
      const omega = omegaFixture(defaultFeatureCount(d), d, 4);
      const [lo, hi] = [tf.min(v).dataSync()[0], tf.max(v).dataSync()[0]];
      for (const causal of [false, true]) {
        const out = performerAttention(kernels, q, kn, v, omega, { ...options, causal });
        const values = out.dataSync();
        expect(values.every((x) => Number.isFinite(x))).to.equal(true);
        expect(Math.min(...values)).to.be.at.least(lo - 1e-4);
        expect(Math.max(...values)).to.be.at.most(hi + 1e-4);
        out.dispose();
      }
      tf.dispose([k, v, kn, q, omega]);
    });
  });
});

describe('performerPlugin', () => {
  const geometryFixture = { heads: 2, headDim: 8, valueDim: 8, maxSeqLen: 32, layerIndex: 3 };
  const createFixture = (options: Record<string, unknown> = {}) =>
    instantiateOperator(performerPlugin, options, resolveOperatorServices(createSwapformerContainer({ logger: createMemoryLogger() })), geometryFixture);

  describe('having default options', () => {
    it('should own ω as the non-trainable parameter "projection" [⌊d·ln d⌋, d], drawn from (seed, layer)', () => {
      const op = createFixture({ seed: 7 });
      const params = op.parameters();
      expect(params.map((p) => [p.name, p.trainable])).to.deep.equal([['projection', false]]);
      expect(params[0].variable.shape).to.deep.equal([defaultFeatureCount(8), 8]);
      expect(defaultFeatureCount(64)).to.equal(266);
      const expected = drawProjection({ features: defaultFeatureCount(8), headDim: 8, ...spec }, deriveSeed(7, 'layer', 3));
      expect(maxAbsDiff(params[0].variable, expected)).to.equal(0);
      op.dispose();
    });
  });

  describe('having a redraw policy', () => {
    const projectionAfter = (options: Record<string, unknown>, contexts: Array<{ seed?: number; callIndex?: number }>) => {
      const op = createFixture(options);
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 4, nk: 4, dk: 8 }, 36);
      const snapshots = contexts.map((ctx) => {
        op.forward(q, k, v, { causal: false, ...ctx }).dispose();
        return op.parameters()[0].variable.dataSync().slice();
      });
      tf.dispose([q, k, v]);
      op.dispose();
      return snapshots;
    };

    it('should keep ω across calls when fixed, and redraw it when ctx.seed changes', () => {
      const [a, b, c] = projectionAfter({ seed: 1 }, [{}, {}, { seed: 2 }]);
      expect(maxAbsDiff(a, b)).to.equal(0);
      expect(maxAbsDiff(b, c)).to.be.above(0.1);
    });

    it('should draw a fresh ω per call when per-call, reproducibly from the call index', () => {
      const [a, b] = projectionAfter({ redraw: 'per-call' }, [{}, {}]);
      const [c] = projectionAfter({ redraw: 'per-call' }, [{ callIndex: 1 }]);
      expect(maxAbsDiff(a, b)).to.be.above(0.1);
      expect(maxAbsDiff(b, c)).to.equal(0);
    });
  });

  describe('having a recurrent decoder', () => {
    it('should equal the full causal pass when tokens arrive in uneven groups, with an O(m·d) state', () => {
      const op = createFixture({ features: 48, chunkSize: 4 });
      const n = 11;
      const { q, k, v } = randomAttentionInputs({ batch: 2, heads: 2, nq: n, nk: n, dk: 8 }, 37, 0.7);
      const full = op.forward(q, k, v, { causal: true });
      let state = op.decoder!.initState(2);
      const outs: Tensor4D[] = [];
      for (const [t0, t] of [[0, 1], [1, 3], [4, 6], [10, 1]]) {
        const sl = (x: Tensor4D) => tf.slice(x, [0, 0, t0, 0], [-1, -1, t, -1]) as Tensor4D;
        const step = op.decoder!.step(sl(q), sl(k), sl(v), state, {});
        op.decoder!.disposeState(state);
        state = step.state;
        outs.push(step.output);
        const stateSize = state.tensors.reduce((s, x) => s + x.size, 0);
        expect(stateSize).to.equal(2 * 2 * 48 * 9 + 2 * 2 + 48 * 8); // independent of the tokens seen
      }
      expect(state.length).to.equal(n);
      const stepped = tf.concat(outs, 2);
      expectTensorsClose(stepped, full, { atol: 1e-5 });
      op.decoder!.disposeState(state);
      tf.dispose([q, k, v, full, stepped, ...outs]);
      op.dispose();
    });
  });
});
