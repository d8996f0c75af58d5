import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D } from '@tensorflow/tfjs-core';
import { describeOperatorConformance, expectTensorsClose, maxAbsDiff, randomAttentionInputs, referenceAttention, toFloat64 } from '@swapformer/core/conformance';
import { exactAttention, exactPathFor, exactPlugin } from '../src';
import { createKernelContext } from '@swapformer/core';

/** The kernel settings and resources these tests run the kernels with (defaults: core-count threads). */
const kernels = createKernelContext();

const defaults = { path: 'auto', chunkThreshold: 4096 * 4096, queryBlock: 1024, keyBlock: 1024 } as const;

describeOperatorConformance(exactPlugin, {
  cases: [
    { label: 'non-causal 2×3×17×8', shape: { batch: 2, heads: 3, nq: 17, nk: 17, dk: 8 }, maxRelativeError: 1e-5 },
    { label: 'causal 1×2×24×16 (dv 8)', shape: { batch: 1, heads: 2, nq: 24, nk: 24, dk: 16, dv: 8 }, causal: true, maxRelativeError: 1e-5 },
    { label: 'cross 1×1×5×33', shape: { batch: 1, heads: 1, nq: 5, nk: 33, dk: 4 }, maxRelativeError: 1e-5 },
    { label: 'chunked causal', shape: { batch: 1, heads: 2, nq: 40, nk: 40, dk: 8 }, options: { path: 'chunked', queryBlock: 16, keyBlock: 8 }, causal: true, maxRelativeError: 1e-5 },
    // 4 query heads: the kit also runs it with 2 and 1 key/value heads (grouped-query, multi-query)
    { label: 'causal 2×4×12×8 (grouped k/v heads)', shape: { batch: 2, heads: 4, nq: 12, nk: 12, dk: 8 }, causal: true, maxRelativeError: 1e-5 },
  ],
  invalidOptions: [
    { options: { path: 'fast' }, messageIncludes: '/options/path' },
    { options: { keyBlock: 0 }, messageIncludes: '/options/keyBlock' },
  ],
});

describe('exactAttention', () => {
  describe('having small inputs', () => {
    for (const causal of [false, true]) {
      it(`should match the float64 reference to 1e-5 on both paths (causal ${causal})`, () => {
        const { q, k, v } = randomAttentionInputs({ batch: 2, heads: 2, nq: 37, nk: 37, dk: 16 }, 11);
        const reference = referenceAttention(toFloat64(q), toFloat64(k), toFloat64(v), { causal });
        for (const path of ['dense', 'chunked'] as const) {
          const out = exactAttention(kernels, q, k, v, { ...defaults, path, causal, queryBlock: 8, keyBlock: 5 });
          expectTensorsClose(out, reference, { atol: 1e-5 });
          out.dispose();
        }
        tf.dispose([q, k, v]);
      });
    }

    it('should align causal queries to the end of the keys (kv-cache layout)', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 3, nk: 10, dk: 8 }, 12);
      const reference = referenceAttention(toFloat64(q), toFloat64(k), toFloat64(v), { causal: true });
      for (const path of ['dense', 'chunked'] as const) {
        const out = exactAttention(kernels, q, k, v, { ...defaults, path, causal: true, queryBlock: 2, keyBlock: 4 });
        expectTensorsClose(out, reference, { atol: 1e-5 });
        out.dispose();
      }
      tf.dispose([q, k, v]);
    });

    it('should honour key-padding masks and give 0 for rows with no visible key', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 2, heads: 1, nq: 6, nk: 6, dk: 4 }, 13);
      const maskValues = [[1, 1, 1, 0, 0, 0], [0, 0, 1, 1, 1, 1]];
      const mask = tf.tensor2d(maskValues) as Tensor2D;
      const reference = referenceAttention(toFloat64(q), toFloat64(k), toFloat64(v), { causal: true, mask: toFloat64(mask) });
      for (const path of ['dense', 'chunked'] as const) {
        const out = exactAttention(kernels, q, k, v, { ...defaults, path, causal: true, mask, queryBlock: 4, keyBlock: 2 });
        expectTensorsClose(out, reference, { atol: 1e-5 });
        // batch 1, query 0 sees only key 0, which is padded: its output row is exactly 0
        const row = tf.slice(out, [1, 0, 0, 0], [1, 1, 1, -1]);
        expect(Array.from(row.dataSync()).every((x) => x === 0)).to.equal(true);
        tf.dispose([out, row]);
      }
      tf.dispose([q, k, v, mask]);
    });

    it('should be unchanged by a joint permutation of keys and values', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 1, nq: 9, nk: 9, dk: 4 }, 14);
      const perm = tf.tensor1d([3, 1, 8, 0, 2, 7, 5, 4, 6], 'int32');
      const out = exactAttention(kernels, q, k, v, { ...defaults });
      const permuted = exactAttention(kernels, q, tf.gather(k, perm, 2), tf.gather(v, perm, 2), { ...defaults });
      expect(maxAbsDiff(out, permuted)).to.be.below(1e-6);
      tf.dispose([q, k, v, perm, out, permuted]);
    });
  });

  describe('having long sequences', () => {
    it('should choose the chunked path above the threshold', () => {
      expect(exactPathFor(16384, 16384, defaults)).to.equal('chunked');
      expect(exactPathFor(1024, 1024, defaults)).to.equal('dense');
    });

    it('should run n = 16384, h = 1, d = 64 on the chunked path without leaking and agree with the dense path on sampled rows', function () {
      this.timeout(300000);
      const n = 16384;
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 1, nq: n, nk: n, dk: 64 }, 15, 0.5);
      const before = tf.memory().numTensors;
      const out = exactAttention(kernels, q, k, v, { ...defaults });
      expect(out.shape).to.deep.equal([1, 1, n, 64]);
      // a handful of query rows computed densely against all keys must agree
      const rows = tf.tensor1d([0, 1, 4097, 9000, n - 1], 'int32');
      const qRows = tf.gather(q, rows, 2);
      const dense = exactAttention(kernels, qRows, k, v, { ...defaults, path: 'dense' });
      const chunkRows = tf.gather(out, rows, 2);
      expect(maxAbsDiff(chunkRows, dense)).to.be.below(1e-5);
      tf.dispose([out, rows, qRows, dense, chunkRows]);
      expect(tf.memory().numTensors).to.equal(before);
      tf.dispose([q, k, v]);
    });
  });
});
