/**
 * `localWindow`: exact softmax over the last w keys, the feature map over the older ones, one
 * normalisation (LoLCATs' hybrid). Checked against dense O(n²) fixtures built from the exported
 * feature maps, against float64 exact attention when the window covers everything, and against
 * the operator's own decoding, padding and causality contracts.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import type { Tensor, Tensor1D, Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import { createMemoryLogger, createSwapformerContainer, instantiateOperator, operatorCapabilities, resolveOptions, resolveOperatorServices, type AttentionOperator } from '@swapformer/core';
import { expectTensorsClose, maxAbsDiff, randomAttentionInputs, referenceAttention, toFloat64 } from '@swapformer/core/conformance';
import { drawProjection, favorFeatures, favorWindowMap, learnedFeatures, performerPlugin, windowedAttention } from '../src';

const geometry = { heads: 2, headDim: 8, valueDim: 8, maxSeqLen: 64, layerIndex: 2 };
const create = (options: Record<string, unknown>): AttentionOperator =>
  instantiateOperator(performerPlugin, options, resolveOperatorServices(createSwapformerContainer({ logger: createMemoryLogger(), seed: 5 })), geometry);
const omegaFixture = (features: number, headDim: number, seed: number): Tensor2D =>
  tf.tensor2d(drawProjection({ features, headDim, orthogonal: true, rowNorms: 'gaussian' }, seed), [features, headDim]);

/** `[nq, nk]` masks of the window and the rest, from key positions (queries aligned to the end). */
function partMasks(nq: number, nk: number, window: number, causal: boolean): { exact: Tensor2D; linear: Tensor2D } {
  const exact: number[] = [];
  const linear: number[] = [];
  for (let i = 0; i < nq; i++) {
    for (let j = 0; j < nk; j++) {
      const diff = i + nk - nq - j;
      const inWindow = causal ? diff >= 0 && diff < window : Math.abs(diff) < window;
      exact.push(inWindow ? 1 : 0);
      linear.push(!inWindow && (!causal || diff >= 0) ? 1 : 0);
    }
  }
  return { exact: tf.tensor2d(exact, [nq, nk]), linear: tf.tensor2d(linear, [nq, nk]) };
}

/** Dense hybrid: weights = windowWeights ⊙ exact + linearWeights ⊙ linear (⊙ keep), one row normalisation. */
function denseHybrid(v: Tensor4D, windowWeights: Tensor4D, linearWeights: Tensor4D, masks: { exact: Tensor2D; linear: Tensor2D }, keep?: Tensor2D): Tensor4D {
  return tf.tidy(() => {
    let a: Tensor = tf.add(tf.mul(windowWeights, masks.exact), tf.mul(linearWeights, masks.linear));
    if (keep) a = tf.mul(a, tf.reshape(keep, [keep.shape[0], 1, 1, keep.shape[1]]));
    return tf.div(tf.matMul(a as Tensor4D, v), tf.maximum(tf.sum(a, 3, true), 1e-37)) as Tensor4D;
  });
}

/** FAVOR+ hybrid with ε = 0: exp(s·q·k) in the window, the raw unbiased features' product outside. */
function favorHybridFixture(q: Tensor4D, k: Tensor4D, v: Tensor4D, omega: Tensor2D, window: number, causal: boolean, keep?: Tensor2D): Tensor4D {
  return tf.tidy(() => {
    const scale = 1 / Math.sqrt(q.shape[3]);
    const phiQ = favorFeatures(q, omega, { scale, epsilon: 0, role: 'raw' });
    const phiK = favorFeatures(k, omega, { scale, epsilon: 0, role: 'raw' });
    const exact = tf.exp(tf.mul(tf.matMul(q, k, false, true), scale)) as Tensor4D;
    return denseHybrid(v, exact, tf.matMul(phiQ, phiK, false, true), partMasks(q.shape[2], k.shape[2], window, causal), keep);
  });
}

/** LoLCATs' learned hybrid: σ(α)·exp(s·q·k − window max) in the window, φ(q)ᵀφ(k) outside. */
function learnedHybridFixture(q: Tensor4D, k: Tensor4D, v: Tensor4D, weights: Tensor3D, alpha: Tensor1D, window: number, causal: boolean): Tensor4D {
  return tf.tidy(() => {
    const scale = 1 / Math.sqrt(q.shape[3]);
    const masks = partMasks(q.shape[2], k.shape[2], window, causal);
    const logits = tf.add(tf.mul(tf.matMul(q, k, false, true), scale), tf.mul(tf.sub(1, masks.exact), -1e30));
    const inWindow = tf.mul(tf.exp(tf.sub(logits, tf.max(logits, 3, true))), tf.reshape(tf.sigmoid(alpha), [1, -1, 1, 1])) as Tensor4D;
    const linear = tf.matMul(learnedFeatures(q, weights, scale), learnedFeatures(k, weights, scale), false, true);
    return denseHybrid(v, inWindow, linear as Tensor4D, masks);
  });
}

const exactFixture = (q: Tensor4D, k: Tensor4D, v: Tensor4D, causal: boolean, mask?: Tensor2D) =>
  referenceAttention(toFloat64(q), toFloat64(k), toFloat64(v), { causal, mask: mask ? toFloat64(mask) : undefined });

describe('performer localWindow (sliding window + linear attention)', () => {
  describe('having FAVOR+ features', () => {
    for (const [nq, nk, window, chunkSize, causal] of [
      [19, 19, 3, 4, true],
      [19, 19, 5, 2, true],
      [7, 19, 4, 3, true],
      [19, 19, 3, 4, false],
      [19, 19, 6, 4, false],
      [19, 19, 1, 5, true],
    ] as const) {
      it(`should equal the dense hybrid of exp(s·q·k) and the unbiased features (nq ${nq}, nk ${nk}, w ${window}, chunks ${chunkSize}, causal ${causal})`, () => {
        const { q, k, v } = randomAttentionInputs({ batch: 2, heads: 2, nq, nk, dk: 8 }, 40 + window, 0.8);
        const omega = omegaFixture(32, 8, 6);
        const out = windowedAttention(q, k, v, (scale) => favorWindowMap(omega, scale, 0), { window, chunkSize, causal });
        const dense = favorHybridFixture(q, k, v, omega, window, causal);
        expectTensorsClose(out, dense, { atol: 2e-5 });
        tf.dispose([q, k, v, omega, out, dense]);
      });
    }

    it('should honour key padding in both parts (equal to the dense hybrid over the kept keys)', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 2, heads: 2, nq: 16, nk: 16, dk: 8 }, 41, 0.8);
      const omega = omegaFixture(32, 8, 7);
      const keep = tf.tensor2d([Array(16).fill(1), [...Array(11).fill(1), ...Array(5).fill(0)]]) as Tensor2D;
      for (const causal of [true, false]) {
        const out = windowedAttention(q, k, v, (scale) => favorWindowMap(omega, scale, 0), { window: 3, chunkSize: 4, causal, mask: keep });
        const dense = favorHybridFixture(q, k, v, omega, 3, causal, keep);
        expectTensorsClose(out, dense, { atol: 2e-5 });
        tf.dispose([out, dense]);
      }
      tf.dispose([q, k, v, omega, keep]);
    });

    it("should give exact softmax once the window covers the sequence (causal and not, padded), and today's FAVOR+ at window 0", () => {
      const { q, k, v } = randomAttentionInputs({ batch: 2, heads: 2, nq: 21, nk: 21, dk: 8 }, 42, 1);
      const mask = tf.tensor2d([Array(21).fill(1), [...Array(15).fill(1), ...Array(6).fill(0)]]) as Tensor2D;
      for (const causal of [true, false]) {
        const windowed = create({ localWindow: 21, chunkSize: 4 });
        const out = windowed.forward(q, k, v, { causal, mask });
        expect(maxAbsDiff(out, exactFixture(q, k, v, causal, mask))).to.be.below(2e-6);
        const plain = create({ chunkSize: 4 });
        const zero = create({ chunkSize: 4, localWindow: 0 });
        const [a, b] = [plain.forward(q, k, v, { causal, mask }), zero.forward(q, k, v, { causal, mask })];
        expect(maxAbsDiff(a, b)).to.equal(0);
        tf.dispose([out, a, b]);
        [windowed, plain, zero].forEach((op) => op.dispose());
      }
      tf.dispose([q, k, v, mask]);
    });

    it('should stay finite with logits of magnitude 50 (the stabilisers are tracked, not dropped)', () => {
      const n = 32;
      const base = randomAttentionInputs({ batch: 1, heads: 1, nq: n, nk: n, dk: 16 }, 43, 1);
      const k = tf.mul(tf.div(base.k, tf.norm(base.k, 'euclidean', 3, true)), Math.sqrt(50 * 4)) as Tensor4D; // s·q·k = ±50 for q = ±k
      const q = tf.mul(k, tf.reshape(tf.tensor1d(Array.from({ length: n }, (_, i) => (i % 2 ? 1 : -1))), [1, 1, n, 1])) as Tensor4D;
      const op = instantiateOperator(performerPlugin, { localWindow: 4, chunkSize: 8 }, resolveOperatorServices(createSwapformerContainer({ logger: createMemoryLogger() })), {
        heads: 1,
        headDim: 16,
        layerIndex: 0,
      });
      for (const causal of [true, false]) {
        const out = op.forward(q, k, base.v, { causal });
        const values = out.dataSync();
        expect(values.every(Number.isFinite)).to.equal(true);
        expect(Math.max(...values.map(Math.abs))).to.be.at.most(Math.max(...base.v.dataSync().map(Math.abs)) + 1e-5);
        out.dispose();
      }
      op.dispose();
      tf.dispose([base.q, base.k, base.v, q, k]);
    });
  });

  describe('having the learned feature map', () => {
    it('should own a trainable per-head "window_factor" (0: σ = ½, LoLCATs\' start) next to "feature_map"', () => {
      const op = create({ featureMap: 'learned', localWindow: 4 });
      expect(op.parameters().map((p) => [p.name, p.trainable, p.variable.shape])).to.deep.equal([
        ['feature_map', true, [2, 8, 8]],
        ['window_factor', true, [2]],
      ]);
      expect(maxAbsDiff(op.parameters()[1].variable, [0, 0])).to.equal(0);
      op.dispose();
      const noWindow = create({ featureMap: 'learned' });
      expect(noWindow.parameters().map((p) => p.name)).to.deep.equal(['feature_map']);
      noWindow.dispose();
    });

    for (const causal of [true, false]) {
      it(`should equal σ(α)·exp(s·q·k − max) in the window plus φ(q)ᵀφ(k) outside, in one normalisation (causal ${causal})`, () => {
        const op = create({ featureMap: 'learned', localWindow: 3, chunkSize: 4, features: 6 });
        const [weights, alpha] = op.parameters().map((p) => p.variable);
        weights.assign(tf.randomNormal(weights.shape, 0, 0.7, 'float32', 1));
        alpha.assign(tf.tensor1d([-1.5, 0.8]));
        const { q, k, v } = randomAttentionInputs({ batch: 2, heads: 2, nq: 17, nk: 17, dk: 8 }, 44, 1);
        const out = op.forward(q, k, v, { causal });
        const dense = learnedHybridFixture(q, k, v, weights as unknown as Tensor3D, alpha as unknown as Tensor1D, 3, causal);
        expectTensorsClose(out, dense, { atol: 2e-5 });
        tf.dispose([q, k, v, out, dense]);
        op.dispose();
      });
    }

    it('should give exact softmax once the window covers the sequence, whatever α and W', () => {
      const op = create({ featureMap: 'learned', localWindow: 64, chunkSize: 4 });
      op.parameters()[1].variable.assign(tf.tensor1d([-3, 2]));
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 13, nk: 13, dk: 8 }, 45, 1);
      for (const causal of [true, false]) {
        const out = op.forward(q, k, v, { causal });
        expect(maxAbsDiff(out, exactFixture(q, k, v, causal))).to.be.below(2e-6);
        out.dispose();
      }
      tf.dispose([q, k, v]);
      op.dispose();
    });

    it('should pass finite, non-zero gradients to the feature map and the window factor', () => {
      const op = create({ featureMap: 'learned', localWindow: 3, chunkSize: 4 });
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 12, nk: 12, dk: 8 }, 46, 1);
      const target = tf.randomNormal([1, 2, 12, 8], 0, 1, 'float32', 2);
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.square(tf.sub(op.forward(q, k, v, { causal: true }), target))) as tf.Scalar,
        op.parameters().map((p) => p.variable),
      );
      const names = op.parameters().map((p) => p.variable.name);
      for (const name of names) {
        const g = grads[name].dataSync();
        expect(g.every(Number.isFinite), name).to.equal(true);
        expect(Math.max(...g.map(Math.abs)), name).to.be.above(1e-6);
      }
      tf.dispose([q, k, v, target, value, ...Object.values(grads)]);
      op.dispose();
    });
  });

  describe('having a causal mask', () => {
    for (const featureMap of ['favor', 'learned']) {
      it(`should give the first t outputs unchanged when the future changes (${featureMap})`, () => {
        const op = create({ featureMap, localWindow: 3, chunkSize: 4 });
        const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 15, nk: 15, dk: 8 }, 47, 1);
        const t = 9;
        const changed = (x: Tensor4D, seed: number) => tf.concat([tf.slice(x, [0, 0, 0, 0], [-1, -1, t, -1]), tf.randomNormal([1, 2, 15 - t, 8], 0, 3, 'float32', seed)], 2) as Tensor4D;
        const [q2, k2, v2] = [changed(q, 1), changed(k, 2), changed(v, 3)];
        const a = op.forward(q, k, v, { causal: true });
        const b = op.forward(q2, k2, v2, { causal: true });
        const head = (x: Tensor4D) => tf.slice(x, [0, 0, 0, 0], [-1, -1, t, -1]);
        const [ha, hb] = [head(a), head(b)];
        expect(maxAbsDiff(ha, hb)).to.be.below(1e-6);
        expect(maxAbsDiff(a, b)).to.be.above(1e-3); // the future did change something
        tf.dispose([q, k, v, q2, k2, v2, a, b, ha, hb]);
        op.dispose();
      });
    }
  });

  describe('having a decoder', () => {
    for (const featureMap of ['favor', 'learned']) {
      it(`should equal the full causal forward token group by token group, holding at most w − 1 keys (${featureMap})`, () => {
        const window = 4;
        const op = create({ featureMap, localWindow: window, chunkSize: 2, features: featureMap === 'favor' ? 24 : 6 });
        if (featureMap === 'learned') op.parameters()[1].variable.assign(tf.tensor1d([0.7, -0.4]));
        const n = 17;
        const { q, k, v } = randomAttentionInputs({ batch: 2, heads: 2, nq: n, nk: n, dk: 8 }, 48, 0.9);
        const full = op.forward(q, k, v, { causal: true });
        const before = tf.memory().numTensors;
        let state = op.decoder!.initState(2);
        const outs: Tensor4D[] = [];
        for (const [t0, t] of [
          [0, 1],
          [1, 2],
          [3, 7],
          [10, 1],
          [11, 1],
          [12, 5],
        ]) {
          const sl = (x: Tensor4D) => tf.slice(x, [0, 0, t0, 0], [-1, -1, t, -1]) as Tensor4D;
          const [qs, ks, vs] = [sl(q), sl(k), sl(v)];
          const step = op.decoder!.step(qs, ks, vs, state, {});
          op.decoder!.disposeState(state);
          tf.dispose([qs, ks, vs]);
          state = step.state;
          outs.push(step.output);
          const bufferTokens = (state as unknown as { keys: Tensor3D | null }).keys?.shape[1] ?? 0;
          expect(bufferTokens).to.equal(Math.min(window - 1, t0 + t));
        }
        expect(state.length).to.equal(n);
        const stepped = tf.concat(outs, 2);
        expectTensorsClose(stepped, full, { atol: 1e-5 });
        op.decoder!.disposeState(state);
        tf.dispose([stepped, ...outs]);
        expect(tf.memory().numTensors).to.equal(before);
        tf.dispose([q, k, v, full]);
        op.dispose();
      });
    }
  });

  describe('having capabilities', () => {
    it('should keep FAVOR+ with a window a drop-in with recurrent decoding, and the learned map with a window in need of adaptation', () => {
      const resolve = (options: Record<string, unknown>) => operatorCapabilities(performerPlugin, resolveOptions(performerPlugin, options));
      expect(resolve({ localWindow: 64 })).to.deep.equal(performerPlugin.capabilities);
      const learned = resolve({ featureMap: 'learned', localWindow: 64 });
      expect([learned.dropInForPretrained, learned.trainableParameters, learned.decoding, learned.causal]).to.deep.equal([false, true, 'recurrent-state', 'native']);
    });
  });

  describe('having resources to account for', () => {
    it('should leak no tensor from forward (causal or not, padded, both maps) nor from a gradient', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 2, heads: 2, nq: 10, nk: 10, dk: 8 }, 49, 1);
      const mask = tf.tensor2d([Array(10).fill(1), [...Array(7).fill(1), 0, 0, 0]]) as Tensor2D;
      for (const featureMap of ['favor', 'learned']) {
        const op = create({ featureMap, localWindow: 3, chunkSize: 4 });
        op.forward(q, k, v, { causal: true }).dispose(); // first call may draw ω
        const before = tf.memory().numTensors;
        for (const causal of [true, false]) op.forward(q, k, v, { causal, mask }).dispose();
        const grads = tf.grads((a: Tensor, b: Tensor) => tf.sum(op.forward(a as Tensor4D, b as Tensor4D, v, { causal: true })))([q, k]);
        tf.dispose(grads);
        expect(tf.memory().numTensors).to.equal(before);
        op.dispose();
      }
      tf.dispose([q, k, v, mask]);
    });

    it('should never create an [n, n] tensor (shape probe, n = 1024, w = 16)', async () => {
      const n = 1024;
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 1, nq: n, nk: n, dk: 16 }, 50, 0.5);
      const omega = omegaFixture(32, 16, 2);
      const resident = tf.memory().numBytes; // peakBytes counts every live tensor, other tests' included
      const profile = await tf.profile(() => windowedAttention(q, k, v, (scale) => favorWindowMap(omega, scale, 1e-4), { window: 16, chunkSize: 64, causal: true }));
      for (const shape of profile.kernels.flatMap((kernel) => kernel.outputShapes)) {
        expect(
          (shape ?? []).reduce((s, x) => s * x, 1),
          `kernel output [${shape}]`,
        ).to.be.at.most(n * 33); // [n, m + 1] at most
      }
      expect(profile.peakBytes - resident).to.be.below((n * n * 4) / 2);
      tf.dispose([q, k, v, omega, profile.result as Tensor4D]);
    });

    it('should reproduce FAVOR+ windows from the seed and change them with it', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 12, nk: 12, dk: 8 }, 51, 1);
      const run = (seed: number) => {
        const op = create({ localWindow: 3, seed });
        const out = op.forward(q, k, v, { causal: true });
        op.dispose();
        return out;
      };
      const [a, b, c] = [run(1), run(1), run(2)];
      expect(maxAbsDiff(a, b)).to.equal(0);
      expect(maxAbsDiff(a, c)).to.be.above(1e-4);
      tf.dispose([q, k, v, a, b, c]);
    });
  });
});
