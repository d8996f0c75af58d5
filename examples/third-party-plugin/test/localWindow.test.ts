import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import { describeOperatorConformance, expectTensorsClose, maxAbsDiff, randomAttentionInputs, toFloat64, type Float64Tensor } from '@swapformer/core/conformance';
import { localWindowAttention, localWindowPlugin } from '../src';

describeOperatorConformance(localWindowPlugin, {
  cases: [
    { label: 'window ≥ n equals exact, 2×3×17×8', shape: { batch: 2, heads: 3, nq: 17, nk: 17, dk: 8 }, options: { window: 17, queryBlock: 5 }, maxRelativeError: 1e-5 },
    { label: 'causal window ≥ n equals exact, 1×2×24×16 (dv 8)', shape: { batch: 1, heads: 2, nq: 24, nk: 24, dk: 16, dv: 8 }, options: { window: 24 }, causal: true, maxRelativeError: 1e-5 },
    { label: 'causal window 3, 1×2×20×8', shape: { batch: 1, heads: 2, nq: 20, nk: 20, dk: 8 }, options: { window: 3, queryBlock: 4 }, causal: true },
    { label: 'cross 1×1×5×33 window 40', shape: { batch: 1, heads: 1, nq: 5, nk: 33, dk: 4 }, options: { window: 40 }, maxRelativeError: 1e-5 },
  ],
  invalidOptions: [
    { options: { window: -1 }, messageIncludes: '/options/window' },
    { options: { window: 2.5 }, messageIncludes: '/options/window' },
    { options: { queryBlock: 0 }, messageIncludes: '/options/queryBlock' },
  ],
});

/** Float64 banded softmax attention written the slow, obvious way. */
function bandReference(q: Float64Tensor, k: Float64Tensor, v: Float64Tensor, window: number, causal: boolean, keep?: number[][]): Float64Tensor {
  const [b, h, nq, d] = q.shape;
  const nk = k.shape[2];
  const dv = v.shape[3];
  const out = new Float64Array(b * h * nq * dv);
  for (let s = 0; s < b * h; s++) {
    const bi = Math.floor(s / h);
    for (let i = 0; i < nq; i++) {
      const p = i + nk - nq;
      const visible: number[] = [];
      for (let j = 0; j < nk; j++) if (j >= p - window && j <= p + (causal ? 0 : window) && (!keep || keep[bi][j] === 1)) visible.push(j);
      if (visible.length === 0) continue;
      const logits = visible.map((j) => {
        let dot = 0;
        for (let c = 0; c < d; c++) dot += q.data[(s * nq + i) * d + c] * k.data[(s * nk + j) * d + c];
        return dot / Math.sqrt(d);
      });
      const max = Math.max(...logits);
      const weights = logits.map((l) => Math.exp(l - max));
      const z = weights.reduce((a, x) => a + x, 0);
      visible.forEach((j, t) => {
        for (let c = 0; c < dv; c++) out[(s * nq + i) * dv + c] += (weights[t] / z) * v.data[(s * nk + j) * dv + c];
      });
    }
  }
  return { shape: [b, h, nq, dv], data: out };
}

describe('localWindowAttention', () => {
  describe('having a window smaller than the sequence', () => {
    for (const causal of [false, true]) {
      it(`should match a float64 banded reference (causal ${causal})`, () => {
        const { q, k, v } = randomAttentionInputs({ batch: 2, heads: 2, nq: 23, nk: 23, dk: 8 }, 21);
        const keep = [Array.from({ length: 23 }, () => 1), Array.from({ length: 23 }, (_, j) => (j % 5 === 3 ? 0 : 1))];
        const mask = tf.tensor2d(keep) as Tensor2D;
        const out = localWindowAttention(q, k, v, { window: 4, queryBlock: 6, causal, mask });
        expectTensorsClose(out, bandReference(toFloat64(q), toFloat64(k), toFloat64(v), 4, causal, keep), { atol: 1e-5 });
        tf.dispose([q, k, v, mask, out]);
      });
    }

    it('should not depend on keys outside the window', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 1, nq: 16, nk: 16, dk: 4 }, 22);
      // keys 0..3 and 13..15 are outside the window (2) of queries 6..9
      const far = tf.tensor4d(Array.from({ length: 16 }, (_, j) => (j < 4 || j > 12 ? 9 : 0)), [1, 1, 16, 1]);
      const [k2, v2] = tf.tidy(() => [tf.add(k, far) as Tensor4D, tf.sub(v, far) as Tensor4D]);
      const rows = (x: Tensor4D) => tf.slice(x, [0, 0, 6, 0], [1, 1, 4, -1]);
      const a = localWindowAttention(q, k, v, { window: 2, queryBlock: 3 });
      const b = localWindowAttention(q, k2, v2, { window: 2, queryBlock: 3 });
      const [ra, rb] = [rows(a), rows(b)];
      expect(maxAbsDiff(ra, rb)).to.equal(0);
      tf.dispose([q, k, v, far, k2, v2, a, b, ra, rb]);
    });

    it('should give the same output for every query block size', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 19, nk: 19, dk: 8 }, 23);
      const reference = localWindowAttention(q, k, v, { window: 3, queryBlock: 19, causal: true });
      for (const queryBlock of [1, 4, 7, 128]) {
        const out = localWindowAttention(q, k, v, { window: 3, queryBlock, causal: true });
        expect(maxAbsDiff(out, reference), `queryBlock ${queryBlock}`).to.be.below(1e-6);
        out.dispose();
      }
      tf.dispose([q, k, v, reference]);
    });

    it('should refuse a mask holding anything but 0 and 1, naming the value and position', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 1, nq: 4, nk: 4, dk: 4 }, 25);
      const mask = tf.tensor2d([[1, 0.5, 1, 1]]) as Tensor2D;
      expect(() => localWindowAttention(q, k, v, { window: 1, queryBlock: 4, mask })).to.throw('must hold only 0 and 1, got 0.5 at [0, 1]');
      tf.dispose([q, k, v, mask]);
    });

    it('should output 0 for a query whose window holds only padded keys', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 1, nq: 8, nk: 8, dk: 4 }, 24);
      const mask = tf.tensor2d([[0, 0, 1, 1, 1, 1, 1, 1]]) as Tensor2D;
      const out = localWindowAttention(q, k, v, { window: 1, queryBlock: 8, causal: true, mask });
      const first = tf.slice(out, [0, 0, 0, 0], [1, 1, 2, -1]); // queries 0 and 1 see only keys 0..1
      expect(Array.from(first.dataSync()).every((x) => x === 0)).to.equal(true);
      tf.dispose([q, k, v, mask, out, first]);
    });
  });
});
