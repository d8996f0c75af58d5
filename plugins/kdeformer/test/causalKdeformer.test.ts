import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { randomAttentionInputs, referenceAttention, relativeError, toFloat64 } from '@swapformer/core/conformance';
import { bucketBlock, bucketStarts } from '../src/bucketQueryKde';
import { causalKdeformerAttention } from '../src';
import { batchParts, planCausalSplit } from '../src/causalDeviceKdeformer';
import { createKernelContext } from '@swapformer/core';

/** The kernel settings and resources these tests run with (what a plugin gets as services.kernels). */
const kernels = createKernelContext();

describe('causalKdeformerAttention', () => {
  describe('having nk ≤ exactBlock', () => {
    it('should equal exact causal attention', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 40, nk: 40, dk: 8 }, 1, 1);
      const out = causalKdeformerAttention(kernels, q, k, v, { blockSize: 8, samples: 16, projections: 3, seed: 0, exactBlock: 64 });
      expect(relativeError(out, referenceAttention(toFloat64(q), toFloat64(k), toFloat64(v), { causal: true }))).to.be.below(1e-5);
      tf.dispose([q, k, v, out]);
    });
  });

  describe('having the recursive split (n 512, exactBlock 64, b 32)', () => {
    it('should have an error against exact causal attention that falls as the sample budget m grows', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 512, nk: 512, dk: 8 }, 7, 1);
      const exact = referenceAttention(toFloat64(q), toFloat64(k), toFloat64(v), { causal: true });
      const errors = [0, 256, 2048].map((samples) => {
        let total = 0;
        for (let seed = 0; seed < 4; seed++) {
          const out = causalKdeformerAttention(kernels, q, k, v, { blockSize: 32, samples, projections: 5, seed, exactBlock: 64 });
          total += relativeError(out, exact) / 4;
          out.dispose();
        }
        return total;
      });
      for (let i = 1; i < errors.length; i++) expect(errors[i], errors.map((e) => e.toFixed(3)).join(' → ')).to.be.below(errors[i - 1]);
      tf.dispose([q, k, v]);
    });
  });

  describe('placing queries by their own bucket', () => {
    it('should put a query in the block holding the middle of its bucket\'s keys, or the insertion point of an empty bucket', () => {
      const ids = Int32Array.of(3, 0, 3, 1, 3, 3, 0); // sorted: 0 0 1 3 3 3 3
      const start = bucketStarts(ids, Int32Array.from({ length: 7 }, (_, j) => j), 4);
      expect(Array.from(start)).to.deep.equal([0, 2, 3, 3, 7]);
      expect(bucketBlock(start, 3, 2, 7)).to.equal(2); // middle 3 + 2 = 5 → block 2
      expect(bucketBlock(start, 2, 2, 7)).to.equal(1); // empty: insertion point 3 → block 1
      expect(bucketBlock(start, 0, 2, 7)).to.equal(0);
    });
  });

  describe('planning the split for the device (planCausalSplit)', () => {
    for (const [nk, nq, exactBlock] of [[512, 512, 64], [777, 500, 64], [1000, 1, 100], [100, 100, 100]]) {
      it(`should give every query its past exactly once: its leaf up to itself plus disjoint parts (nk ${nk}, nq ${nq}, exactBlock ${exactBlock})`, () => {
        const plan = planCausalSplit(nk, nq, exactBlock);
        for (let p = nk - nq; p < nk; p++) {
          const seen = new Int32Array(nk);
          const leaves = plan.leaves.filter((leaf) => leaf.lo <= p && p < leaf.hi);
          expect(leaves, `leaves of position ${p}`).to.have.length(1);
          for (let j = leaves[0].lo; j <= p; j++) seen[j]++;
          const parts = plan.parts.filter((part) => part.qFrom <= p && p < part.qTo);
          expect(new Set(parts.map((part) => part.level)).size, 'one part per level').to.equal(parts.length);
          for (const part of parts) for (let j = part.lo; j < part.mid; j++) seen[j]++;
          expect(Array.from(seen), `keys seen by position ${p}`).to.deep.equal(Array.from({ length: nk }, (_, j) => (j <= p ? 1 : 0)));
        }
        for (const leaf of plan.leaves) expect(leaf.hi - leaf.lo).to.be.at.most(exactBlock);
        expect(plan.depth).to.equal(Math.max(0, ...plan.parts.map((part) => part.level + 1)));
      });
    }
  });

  describe('batching the parts into device calls (batchParts)', () => {
    for (const [nk, nq, exactBlock, calls] of [[16384, 16384, 1024, 2], [1024, 1024, 128, 2], [777, 500, 64, 2], [65536, 65536, 1024, 3]]) {
      it(`should take every part once, pad no call past twice its parts' rows and keys, in ${calls} calls (nk ${nk}, nq ${nq}, exactBlock ${exactBlock})`, () => {
        const parts = planCausalSplit(nk, nq, exactBlock).parts;
        const batches = batchParts(parts);
        expect(batches.flat().length).to.equal(parts.length);
        for (const part of parts) expect(batches.flat()).to.include(part);
        for (const batch of batches) {
          const rows = batch.map((part) => part.qTo - part.qFrom);
          const keys = batch.map((part) => part.mid - part.lo);
          expect(batch.length * Math.max(...rows)).to.be.at.most(2 * rows.reduce((x, y) => x + y));
          expect(batch.length * Math.max(...keys)).to.be.at.most(2 * keys.reduce((x, y) => x + y));
        }
        expect(batches).to.have.length(calls);
      });
    }
  });
});
