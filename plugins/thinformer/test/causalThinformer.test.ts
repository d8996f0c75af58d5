import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { SwapformerError, createKernelContext } from '@swapformer/core';
import { denseSoftmaxAttention } from '@swapformer/kernels';
import { expectTensorsClose, maxAbsDiff, randomAttentionInputs } from '@swapformer/core/conformance';
import { causalThinformerAttention } from '../src';

/** The kernel settings and resources these tests run the kernels with (defaults: core-count threads). */
const kernels = createKernelContext();

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/**
 * Float64 attention of query row `p` (position p) over a weighted key multiset: a key of weight w
 * counts w times in both the numerator and the denominator.
 */
function weightedRow(q: Float32Array, k: Float32Array, v: Float32Array, d: number, row: number, keys: ReadonlyArray<[number, number]>, scale: number): number[] {
  const logits = keys.map(([j]) => scale * range(0, d).reduce((s, e) => s + q[row * d + e] * k[j * d + e], 0));
  const top = Math.max(...logits);
  const weights = keys.map(([, w], i) => w * Math.exp(logits[i] - top));
  const total = weights.reduce((a, b) => a + b);
  return range(0, d).map((e) => keys.reduce((s, [j], i) => s + weights[i] * v[j * d + e], 0) / total);
}

describe('causalThinformerAttention', () => {
  const options = { g: 2, delta: 0.5, seed: 3, exactBlock: 16 };

  describe('having nk ≤ exactBlock', () => {
    it('should equal exact causal attention bit for bit', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 2, heads: 2, nq: 16, nk: 16, dk: 8 }, 41, 0.7);
      const out = causalThinformerAttention(kernels, q, k, v, options);
      const exact = denseSoftmaxAttention(kernels, q, k, v, { causal: true });
      expect(maxAbsDiff(out, exact)).to.equal(0);
      tf.dispose([q, k, v, out, exact]);
    });
  });

  describe('having blocks too small to halve (nk 32, exactBlock 8, g 5)', () => {
    // split: [0,32) → [0,16) | [16,32); [0,16) → [0,8) | [8,16); [16,32) → [16,24) | [24,32).
    // A left half of 16 keys is kept whole (weight 1); one of 8 keys is stride-thinned to
    // positions {lo, lo+2, lo+4, lo+6}, each standing for 2 keys (weight 2).
    const keySets = (p: number): Array<[number, number]> => {
      const whole = (from: number, to: number) => range(from, to).map((j): [number, number] => [j, 1]);
      const halved = (lo: number) => [0, 2, 4, 6].map((j): [number, number] => [lo + j, 2]);
      if (p < 8) return whole(0, p + 1);
      if (p < 16) return [...halved(0), ...whole(8, p + 1)];
      if (p < 24) return [...whole(0, 16), ...whole(16, p + 1)];
      return [...whole(0, 16), ...halved(16), ...whole(24, p + 1)];
    };

    for (const nq of [32, 12]) {
      it(`should weight each coreset key by the keys it stands for (nq ${nq}, queries aligned to the end)`, () => {
        const d = 4;
        const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 1, nq, nk: 32, dk: d }, 42 + nq, 1);
        const out = causalThinformerAttention(kernels, q, k, v, { g: 5, delta: 0.5, seed: 0, exactBlock: 8 });
        const [qd, kd, vd] = [q.dataSync() as Float32Array, k.dataSync() as Float32Array, v.dataSync() as Float32Array];
        const expected = range(0, nq).flatMap((row) => weightedRow(qd, kd, vd, d, row, keySets(32 - nq + row), 0.5));
        expectTensorsClose(out, expected, { atol: 2e-6 });
        tf.dispose([q, k, v, out]);
      });
    }
  });

  describe('having the kv-cache layout (nq < nk)', () => {
    it('should give the last rows of the full causal output', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 64, nk: 64, dk: 8 }, 43, 0.7);
      const full = causalThinformerAttention(kernels, q, k, v, options);
      const tail = tf.slice(q, [0, 0, 40, 0], [-1, -1, 24, -1]) as Tensor4D;
      const out = causalThinformerAttention(kernels, tail, k, v, options);
      expect(maxAbsDiff(out, tf.slice(full, [0, 0, 40, 0], [-1, -1, 24, -1]))).to.be.below(1e-6);
      tf.dispose([q, k, v, full, tail, out]);
    });

    it('should refuse more queries than keys', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 1, nq: 8, nk: 4, dk: 4 }, 44);
      let caught: unknown;
      try {
        causalThinformerAttention(kernels, q, k, v, options);
      } catch (error) {
        caught = error;
      }
      expect(SwapformerError.is(caught) && caught.kind).to.equal('invalid-input');
      expect((caught as Error).message).to.contain('nq = 8, nk = 4');
      tf.dispose([q, k, v]);
    });
  });

  describe('having smooth low-rank data (n 4096, d 4, 2 heads, exactBlock 256)', () => {
    it('should have an error against exact causal attention that falls as g grows', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 4096, nk: 4096, dk: 4 }, 45, 0.5);
      const exact = denseSoftmaxAttention(kernels, q, k, v, { causal: true });
      const errors = [1, 2, 3].map((g) => {
        const out = causalThinformerAttention(kernels, q, k, v, { g, delta: 0.5, seed: 0, exactBlock: 256 });
        const diff = tf.tidy(() => tf.sqrt(tf.mean(tf.square(tf.sub(out, exact)))).dataSync()[0]);
        out.dispose();
        return diff;
      });
      expect(errors[1]).to.be.below(errors[0]);
      expect(errors[2]).to.be.below(errors[1]);
      tf.dispose([q, k, v, exact]);
    });
  });
});
