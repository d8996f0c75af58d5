import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // tfjs-core's Node entry registers no gradients; tsx can load this ESM module
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { createSeededRandom, createKernelContext } from '@swapformer/core';
import { denseSoftmaxAttention } from '@swapformer/kernels';
import { describeOperatorConformance, expectTensorsClose, maxAbsDiff, randomAttentionInputs, referenceAttention, relativeError, toFloat64 } from '@swapformer/core/conformance';
import {
  causalSelection,
  createLeverageAccumulator,
  leverageScores,
  levAttention,
  levAttentionSelection,
  levattentionPlugin,
  onlineLeverageScores,
  selectKeys,
  type LevAttentionOptions,
} from '../src';

/** The kernel settings and resources these tests run the kernels with (defaults: core-count threads). */
const kernels = createKernelContext();

describeOperatorConformance(levattentionPlugin, {
  cases: [
    { label: 'k ≥ nk is exact, 2×2×24×8', shape: { batch: 2, heads: 2, nq: 24, nk: 24, dk: 8 }, options: { k: 64 }, maxRelativeError: 1e-5 },
    { label: 'k ≥ nk is exact, causal 1×2×30×8', shape: { batch: 1, heads: 2, nq: 30, nk: 30, dk: 8 }, options: { k: 64 }, causal: true, maxRelativeError: 1e-5 },
    { label: 'defaults 1×2×64×8', shape: { batch: 1, heads: 2, nq: 64, nk: 64, dk: 8 }, qkScale: 1.5, maxRelativeError: 0.5 },
    { label: 'causal top-16 with CLS 2×2×40×8 (dv 4)', shape: { batch: 2, heads: 2, nq: 40, nk: 40, dk: 8, dv: 4 }, options: { k: 16, keepFirst: true }, causal: true, qkScale: 1.5, maxRelativeError: 0.6 },
    { label: 'causal threshold, cross 1×2×12×50', shape: { batch: 1, heads: 2, nq: 12, nk: 50, dk: 8 }, options: { selection: 'threshold', epsilon: 0.15 }, causal: true, qkScale: 1.5, maxRelativeError: 0.6 },
    { label: 'threshold, cross 1×2×12×50', shape: { batch: 1, heads: 2, nq: 12, nk: 50, dk: 8 }, options: { selection: 'threshold', epsilon: 0.15 }, qkScale: 1.5, maxRelativeError: 0.6 },
  ],
  invalidOptions: [
    { options: { k: 0 }, messageIncludes: '/options/k' },
    { options: { selection: 'random' }, messageIncludes: '/options/selection' },
    { options: { epsilon: 0 }, messageIncludes: '/options/epsilon' },
    { options: { ridge: 0 }, messageIncludes: '/options/ridge' },
  ],
});

const ruleFixture: LevAttentionOptions = { selection: 'top-k', topK: 8, epsilon: 0.1, keepFirst: false, ridge: 1e-6 };

/** Seeded `[1, 1, n, d]` keys from a row-major generator. */
function keysFrom(n: number, d: number, value: (j: number, c: number) => number): Tensor4D {
  return tf.tensor4d(Float32Array.from({ length: n * d }, (_, i) => value(Math.floor(i / d), i % d)), [1, 1, n, d]);
}

function scoresOf(k: Tensor4D, ridge = 1e-6): Float32Array {
  const tau = leverageScores(k, ridge);
  const data = tau.dataSync() as Float32Array;
  tau.dispose();
  return data;
}

const sum = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, x) => a + x, 0);

describe('leverageScores', () => {
  const rng = createSeededRandom(41);

  it('should lie in [0, 1] and sum to rank(K) = dk for full-rank keys', () => {
    const k = keysFrom(40, 8, () => rng.normal());
    const tau = scoresOf(k);
    expect(Math.min(...tau)).to.be.at.least(0);
    expect(Math.max(...tau)).to.be.at.most(1);
    expect(sum(tau)).to.be.closeTo(8, 1e-4);
    k.dispose();
  });

  it('should sum to rank(K) = 3 for keys spanning a 3-dimensional subspace of R^8', () => {
    const basis = Array.from({ length: 3 }, () => Array.from({ length: 8 }, () => rng.normal()));
    const coefficients = Array.from({ length: 40 }, () => [rng.normal(), rng.normal(), rng.normal()]);
    const k = keysFrom(40, 8, (j, c) => coefficients[j].reduce((a, w, t) => a + w * basis[t][c], 0));
    expect(sum(scoresOf(k))).to.be.closeTo(3, 1e-4);
    k.dispose();
  });

  it('should be invariant under K → K·M for an invertible M', () => {
    const k = keysFrom(50, 6, () => rng.normal());
    const m = tf.tensor2d(Float32Array.from({ length: 36 }, (_, i) => (i % 7 === 0 ? 2 : 0) + 0.5 * rng.normal()), [6, 6]);
    const km = tf.tidy(() => tf.reshape(tf.matMul(tf.reshape(k, [50, 6]), m), [1, 1, 50, 6]) as Tensor4D);
    expect(maxAbsDiff(scoresOf(k), scoresOf(km))).to.be.below(1e-4);
    tf.dispose([k, m, km]);
  });

  it('should give score 1 to a key in a direction no other key spans, and LevAttention should keep it', () => {
    const unique = 17;
    // Every key but one lies in the first 7 coordinates; key 17 alone has an 8th coordinate (and an ordinary norm).
    const k = keysFrom(60, 8, (j, c) => (c === 7 ? (j === unique ? 1 : 0) : j === unique ? 0.3 * rng.normal() : rng.normal()));
    const tau = scoresOf(k);
    expect(tau[unique]).to.be.closeTo(1, 1e-4);
    expect(sum(tau) - tau[unique]).to.be.closeTo(7, 1e-4);
    for (const rule of [{ ...ruleFixture, topK: 1 }, { ...ruleFixture, selection: 'threshold' as const, epsilon: 0.9 }]) {
      expect(Array.from(levAttentionSelection(k, rule)[0])).to.include(unique);
    }
    k.dispose();
  });

  it('should equal the two-pass streaming computation (G over chunks, then scores per chunk)', () => {
    const k = keysFrom(70, 8, () => rng.normal());
    const data = k.dataSync();
    const acc = createLeverageAccumulator(8, 1e-6);
    for (let start = 0; start < 70; start += 16) acc.add(data, start * 8, Math.min(16, 70 - start)); // pass 1
    expect(acc.count).to.equal(70);
    const streamed = [0, 32, 64].flatMap((start) => Array.from(acc.scores(data, start * 8, Math.min(32, 70 - start)))); // pass 2
    expect(maxAbsDiff(streamed, scoresOf(k))).to.be.below(1e-5);
    k.dispose();
  });
});

describe('onlineLeverageScores', () => {
  const rng = createSeededRandom(42);

  it('should depend only on the prefix and bound the batch scores from above', () => {
    const data = Float32Array.from({ length: 50 * 6 }, () => rng.normal());
    const online = onlineLeverageScores(data, 0, 50, 6, 1e-10);
    const changedFuture = data.slice();
    for (let i = 30 * 6; i < changedFuture.length; i++) changedFuture[i] = 5 * rng.normal();
    expect(Array.from(onlineLeverageScores(changedFuture, 0, 50, 6, 1e-10).subarray(0, 30))).to.deep.equal(Array.from(online.subarray(0, 30)));
    const batch = createLeverageAccumulator(6, 1e-10);
    batch.add(data);
    const final = batch.scores(data);
    for (let j = 0; j < 50; j++) expect(online[j]).to.be.at.least(final[j] - 1e-9);
    expect(online[49]).to.be.closeTo(final[49], 1e-9); // the last key sees the whole Gram
  });
});

describe('selectKeys', () => {
  const scores = Float64Array.of(0.2, 0.9, 0.5, 0.9, 0.05, 0.5);

  it('should keep the k best keys, breaking ties towards the lower index', () => {
    expect(Array.from(selectKeys(scores, { ...ruleFixture, topK: 3 }))).to.deep.equal([1, 2, 3]);
  });

  it('should give the first key one of the k slots when keepFirst is set', () => {
    expect(Array.from(selectKeys(scores, { ...ruleFixture, topK: 3, keepFirst: true }))).to.deep.equal([0, 1, 3]);
  });

  it('should keep every key at or above epsilon, or the best key when none is', () => {
    expect(Array.from(selectKeys(scores, { ...ruleFixture, selection: 'threshold', epsilon: 0.5 }))).to.deep.equal([1, 2, 3, 5]);
    expect(Array.from(selectKeys(scores, { ...ruleFixture, selection: 'threshold', epsilon: 0.95 }))).to.deep.equal([1]);
  });

  it('should skip hidden keys', () => {
    expect(Array.from(selectKeys(scores, { ...ruleFixture, topK: 2 }, Uint8Array.of(1, 0, 1, 1, 1, 1)))).to.deep.equal([2, 3]);
  });
});

describe('causalSelection', () => {
  it('should keep, at every position t, the top-k online scores of keys 0 … t', () => {
    const rng = createSeededRandom(43);
    const scores = Float64Array.from({ length: 40 }, () => rng.uniform());
    for (const keepFirst of [false, true]) {
      const sel = causalSelection(scores, { ...ruleFixture, topK: 4, keepFirst });
      for (let t = 0; t < 40; t++) {
        const active = Array.from(sel.keys).filter((_, u) => sel.enter[u] <= t && t < sel.leave[u]);
        const prefix = selectKeys(scores.subarray(0, t + 1), { ...ruleFixture, topK: 4, keepFirst });
        expect(active, `position ${t}`).to.deep.equal(Array.from(prefix));
      }
    }
  });
});

describe('levAttention', () => {
  it('should equal exact attention with k = nk and with a threshold every key passes', () => {
    const { q, k, v } = randomAttentionInputs({ batch: 2, heads: 2, nq: 20, nk: 20, dk: 8 }, 44, 1.5);
    const reference = referenceAttention(toFloat64(q), toFloat64(k), toFloat64(v));
    for (const rule of [{ ...ruleFixture, topK: 20 }, { ...ruleFixture, selection: 'threshold' as const, epsilon: 1e-9 }]) {
      const out = levAttention(kernels, q, k, v, rule);
      expectTensorsClose(out, reference, { atol: 1e-5 });
      out.dispose();
    }
    tf.dispose([q, k, v]);
  });

  it('should equal softmax attention over exactly the selected keys of each head', () => {
    const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 16, nk: 30, dk: 8 }, 45, 1.5);
    const rule = { ...ruleFixture, topK: 5, keepFirst: true };
    const kept = levAttentionSelection(k, rule);
    expect(kept.every((u) => u.length === 5 && u[0] === 0)).to.equal(true);
    const out = levAttention(kernels, q, k, v, rule);
    kept.forEach((u, head) => {
      const index = tf.tensor1d(u, 'int32');
      const [qh, kh, vh] = [q, k, v].map((t) => tf.slice(t, [0, head, 0, 0], [1, 1, -1, -1]));
      const reference = referenceAttention(toFloat64(qh), toFloat64(tf.gather(kh, index, 2)), toFloat64(tf.gather(vh, index, 2)));
      const outHead = tf.slice(out, [0, head, 0, 0], [1, 1, -1, -1]);
      expectTensorsClose(outHead, reference, { atol: 1e-5 });
      tf.dispose([index, qh, kh, vh, outHead]);
    });
    tf.dispose([q, k, v, out]);
  });

  it('should lower the error as k grows (mean over inputs)', () => {
    const budgets = [4, 16, 48, 64];
    const errors = budgets.map(() => 0);
    for (let seed = 0; seed < 4; seed++) {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 64, nk: 64, dk: 8 }, 50 + seed, 1.5);
      const reference = referenceAttention(toFloat64(q), toFloat64(k), toFloat64(v));
      budgets.forEach((topK, i) => {
        const out = levAttention(kernels, q, k, v, { ...ruleFixture, topK });
        errors[i] += relativeError(out, reference) / 4;
        out.dispose();
      });
      tf.dispose([q, k, v]);
    }
    for (let i = 1; i < budgets.length; i++) expect(errors[i], `errors ${errors.map((e) => e.toFixed(3)).join(' → ')}`).to.be.below(errors[i - 1]);
    expect(errors[3]).to.be.below(1e-5);
  });

  it('should attend only to visible keys when fewer than k are visible', () => {
    const { q, k, v } = randomAttentionInputs({ batch: 2, heads: 1, nq: 6, nk: 10, dk: 4 }, 46, 1);
    const maskValues = [[1, 1, 1, 0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]];
    const mask = tf.tensor2d(maskValues);
    const out = levAttention(kernels, q, k, v, { ...ruleFixture, topK: 8, mask });
    const reference = referenceAttention(toFloat64(q), toFloat64(k), toFloat64(v), { mask: toFloat64(mask) });
    const first = tf.slice(out, [0, 0, 0, 0], [1, -1, -1, -1]);
    expectTensorsClose(first, { shape: [1, 1, 6, 4], data: reference.data.subarray(0, 24) }, { atol: 1e-5 });
    tf.dispose([q, k, v, mask, out, first]);
  });

  describe('having a gradient tape recording', () => {
    const lossOf = (attend: (q: Tensor4D, k: Tensor4D, v: Tensor4D) => Tensor4D, weights: Tensor4D) =>
      (...[q, k, v]: tf.Tensor[]) => tf.sum(tf.mul(attend(q as Tensor4D, k as Tensor4D, v as Tensor4D), weights));

    for (const causal of [false, true]) {
      it(`should pass exact attention's gradients to q, k and v when every key is kept (causal ${causal}, one slice)`, () => {
        const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 1, nq: 10, nk: 10, dk: 4 }, 48, 1.5);
        const weights = tf.randomNormal([1, 1, 10, 4], 0, 1, 'float32', 7) as Tensor4D;
        const lev = tf.grads(lossOf((a, b, c) => levAttention(kernels, a, b, c, { ...ruleFixture, topK: 10, causal }), weights))([q, k, v]);
        const exact = tf.grads(lossOf((a, b, c) => denseSoftmaxAttention(kernels, a, b, c, { causal }), weights))([q, k, v]);
        lev.forEach((g, i) => expectTensorsClose(g, exact[i], { atol: 1e-4 }));
        tf.dispose([q, k, v, weights, ...lev, ...exact]);
      });
    }

    it('should give no gradient to keys and values that were not kept', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 12, nk: 20, dk: 4 }, 49, 1.5);
      const rule = { ...ruleFixture, topK: 5 };
      const kept = levAttentionSelection(k, rule);
      const [, gk, gv] = tf.grads((...[a, b, c]: tf.Tensor[]) => tf.sum(levAttention(kernels, a as Tensor4D, b as Tensor4D, c as Tensor4D, rule)))([q, k, v]);
      const [gkData, gvData] = [gk.dataSync(), gv.dataSync()];
      for (let s = 0; s < 2; s++) {
        for (let j = 0; j < 20; j++) {
          const rowNorm = (data: ArrayLike<number>) => Math.max(...Array.from({ length: 4 }, (_, c) => Math.abs(data[(s * 20 + j) * 4 + c])));
          if (kept[s].includes(j)) expect(rowNorm(gvData), `head ${s} key ${j}`).to.be.above(0);
          else expect(rowNorm(gkData) + rowNorm(gvData), `head ${s} key ${j}`).to.equal(0);
        }
      }
      tf.dispose([q, k, v, gk, gv]);
    });
  });

  describe('having causal: true', () => {
    it('should give each query softmax attention over its prefix top-k by online score', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 1, nq: 24, nk: 24, dk: 4 }, 47, 1.5);
      const rule = { ...ruleFixture, topK: 3, causal: true };
      const out = levAttention(kernels, q, k, v, rule).dataSync();
      const online = onlineLeverageScores(k.dataSync(), 0, 24, 4, rule.ridge);
      for (const i of [0, 2, 11, 23]) {
        const index = tf.tensor1d(selectKeys(online.subarray(0, i + 1), rule), 'int32');
        const qi = tf.slice(q, [0, 0, i, 0], [1, 1, 1, -1]);
        const reference = referenceAttention(toFloat64(qi), toFloat64(tf.gather(k, index, 2)), toFloat64(tf.gather(v, index, 2)));
        expectTensorsClose(out.subarray(i * 4, (i + 1) * 4), reference, { atol: 1e-5 });
        tf.dispose([index, qi]);
      }
      tf.dispose([q, k, v]);
    });
  });
});
