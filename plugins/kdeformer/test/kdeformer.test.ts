import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // tfjs-core's Node entry registers no gradients; tsx can load this ESM module
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { createSeededRandom, deriveSeed, createKernelContext, createMemoryLogger, createSwapformerContainer, resolveOperatorServices } from '@swapformer/core';
import { denseSoftmaxAttention } from '@swapformer/kernels';
import { describeOperatorConformance, expectTensorsClose, maxAbsDiff, randomAttentionInputs, referenceAttention, relativeError, toFloat64 } from '@swapformer/core/conformance';
import { blockLayout, bucketIds, drawHyperplanes, grayCode, kdeformerAttention, kdeformerParts, kdeformerPlugin, sortByBucket, type KdeformerAttentionOptions } from '../src';

/** The kernel settings and resources these tests run the kernels with (defaults: core-count threads). */
const kernels = createKernelContext();

describeOperatorConformance(kdeformerPlugin, {
  cases: [
    { label: 'one block, m 0 (exact) 2×2×40×8', shape: { batch: 2, heads: 2, nq: 40, nk: 40, dk: 8 }, options: { b: 64, m: 0 }, maxRelativeError: 1e-5 },
    { label: 'defaults, peaked 1×2×96×8', shape: { batch: 1, heads: 2, nq: 96, nk: 96, dk: 8 }, qkScale: 2, maxRelativeError: 0.8 },
    { label: 'n not divisible by b 2×3×50×8 (dv 4)', shape: { batch: 2, heads: 3, nq: 50, nk: 50, dk: 8, dv: 4 }, options: { b: 16, m: 64, r: 3 }, qkScale: 2, maxRelativeError: 0.7 },
    { label: 'cross 1×2×20×70', shape: { batch: 1, heads: 2, nq: 20, nk: 70, dk: 8 }, options: { b: 16, m: 64, r: 4 }, qkScale: 2, maxRelativeError: 0.9 },
    { label: 'causal, nk ≤ exactBlock is exact 2×2×20×20', shape: { batch: 2, heads: 2, nq: 20, nk: 20, dk: 8 }, causal: true, maxRelativeError: 1e-5 },
    { label: 'causal split 1×2×96×96, exactBlock 16', shape: { batch: 1, heads: 2, nq: 96, nk: 96, dk: 8 }, options: { b: 16, m: 64, r: 4, exactBlock: 16 }, qkScale: 2, causal: true, maxRelativeError: 0.7 },
    { label: 'causal kv-cache layout 1×2×30×96, exactBlock 16', shape: { batch: 1, heads: 2, nq: 30, nk: 96, dk: 8 }, options: { b: 16, m: 64, r: 4, exactBlock: 16 }, qkScale: 2, causal: true, maxRelativeError: 0.7 },
  ],
  invalidOptions: [
    { options: { b: 0 }, messageIncludes: '/options/b' },
    { options: { m: -1 }, messageIncludes: '/options/m' },
    { options: { r: 17 }, messageIncludes: '/options/r' },
    { options: { seed: 1.5 }, messageIncludes: '/options/seed' },
    { options: { exactBlock: 1 }, messageIncludes: '/options/exactBlock' },
  ],
});

const optionsFixture: KdeformerAttentionOptions = { blockSize: 16, samples: 64, projections: 7, seed: 5 };

/** Block-diagonal-only KDEformer (m = 0) in float64, rebuilt from the exported LSH and layout helpers. */
function blockOnlyReference(q: Tensor4D, k: Tensor4D, v: Tensor4D, options: KdeformerAttentionOptions): Float64Array {
  const [b, h, nq, dk] = q.shape;
  const nk = k.shape[2];
  const dv = v.shape[3];
  const [qd, kd, vd] = [q.dataSync(), k.dataSync(), v.dataSync()];
  const scale = 1 / Math.sqrt(dk);
  const out = new Float64Array(b * h * nq * dv);
  for (let bi = 0; bi < b; bi++) {
    for (let hi = 0; hi < h; hi++) {
      const slice = bi * h + hi;
      const planes = drawHyperplanes(createSeededRandom(deriveSeed(options.seed, 'lsh', bi, hi)), dk, options.projections);
      const buckets = 1 << options.projections;
      const keys = sortByBucket(bucketIds(kernels, kd, slice * nk * dk, nk, dk, planes, options.projections), Int32Array.from({ length: nk }, (_, j) => j), buckets);
      const queries = sortByBucket(bucketIds(kernels, qd, slice * nq * dk, nq, dk, planes, options.projections), Int32Array.from({ length: nq }, (_, i) => i), buckets);
      const layout = blockLayout(keys, nk, queries, options.blockSize);
      for (let i = 0; i < nq; i++) {
        const t = Math.floor(layout.querySlotOf[i] / layout.queriesPerBlock);
        const members = Array.from(layout.keySlots.subarray(t * layout.keysPerBlock, (t + 1) * layout.keysPerBlock)).filter((j) => j >= 0);
        const logits = members.map((j) => {
          let dot = 0;
          for (let c = 0; c < dk; c++) dot += qd[(slice * nq + i) * dk + c] * kd[(slice * nk + j) * dk + c];
          return dot * scale;
        });
        const top = Math.max(...logits);
        const weights = logits.map((x) => Math.exp(x - top));
        const z = weights.reduce((a, w) => a + w, 0);
        members.forEach((j, idx) => {
          for (let c = 0; c < dv; c++) out[(slice * nq + i) * dv + c] += (weights[idx] / z) * vd[(slice * nk + j) * dv + c];
        });
      }
    }
  }
  return out;
}

describe('kdeformerAttention', () => {
  describe('having one block (b ≥ nk) and m = 0', () => {
    for (const shape of [{ batch: 2, heads: 2, nq: 33, nk: 33, dk: 8 }, { batch: 1, heads: 3, nq: 7, nk: 45, dk: 16, dv: 5 }]) {
      it(`should equal exact attention for ${JSON.stringify(shape)}`, () => {
        const { q, k, v } = randomAttentionInputs(shape, 21, 1.5);
        const out = kdeformerAttention(kernels, q, k, v, { ...optionsFixture, blockSize: 64, samples: 0 });
        expectTensorsClose(out, referenceAttention(toFloat64(q), toFloat64(k), toFloat64(v)), { atol: 1e-5 });
        tf.dispose([q, k, v, out]);
      });
    }
  });

  describe('having a growing sample budget m', () => {
    it('should lower the mean relative error over seeds at every step m = 0, 64, 256, 1024', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 128, nk: 128, dk: 8 }, 22, 1);
      const reference = referenceAttention(toFloat64(q), toFloat64(k), toFloat64(v));
      const seeds = 8;
      const errors = [0, 64, 256, 1024].map((samples) => {
        let total = 0;
        for (let seed = 0; seed < seeds; seed++) {
          const out = kdeformerAttention(kernels, q, k, v, { ...optionsFixture, samples, seed });
          total += relativeError(out, reference) / seeds;
          out.dispose();
        }
        return total;
      });
      for (let i = 1; i < errors.length; i++) expect(errors[i], `errors ${errors.map((e) => e.toFixed(3)).join(' → ')}`).to.be.below(errors[i - 1]);
      expect(errors[3]).to.be.below(errors[0] / 3);
      tf.dispose([q, k, v]);
    });
  });

  describe('having many sample seeds with the hyperplanes fixed', () => {
    it('should estimate the exact off-block sum without bias (every entry within 5 standard errors)', () => {
      const shape = { batch: 1, heads: 2, nq: 40, nk: 40, dk: 4, dv: 2 };
      const { q, k, v } = randomAttentionInputs(shape, 23, 1);
      const dv1 = 3;
      const [qd, kd, vd] = [q.dataSync(), k.dataSync(), v.dataSync()];
      const entries = shape.heads * shape.nq * dv1;
      // Full unnormalised sum Σ_j exp(s·q_i·k_j)·vaug_j in float64.
      const full = new Float64Array(entries);
      for (let s = 0; s < shape.heads; s++) {
        for (let i = 0; i < shape.nq; i++) {
          for (let j = 0; j < shape.nk; j++) {
            let dot = 0;
            for (let c = 0; c < shape.dk; c++) dot += qd[(s * shape.nq + i) * shape.dk + c] * kd[(s * shape.nk + j) * shape.dk + c];
            const w = Math.exp(dot / 2);
            for (let c = 0; c < dv1; c++) full[(s * shape.nq + i) * dv1 + c] += w * (c < 2 ? vd[(s * shape.nk + j) * 2 + c] : 1);
          }
        }
      }
      const seeds = 400;
      const options = { blockSize: 8, samples: 6, projections: 3, seed: 9 };
      const sum = new Float64Array(entries);
      const sumSq = new Float64Array(entries);
      const offBlock = new Float64Array(entries);
      for (let seed = 0; seed < seeds; seed++) {
        const parts = kdeformerParts(kernels, q, k, v, { ...options, sampleSeed: seed });
        const [block, residual, shift] = [parts.block.dataSync(), parts.residual.dataSync(), parts.shift.dataSync()];
        for (let e = 0; e < entries; e++) {
          const unscale = Math.exp(shift[Math.floor(e / dv1)]);
          const estimate = residual[e] * unscale;
          sum[e] += estimate;
          sumSq[e] += estimate * estimate;
          if (seed === 0) offBlock[e] = full[e] - block[e] * unscale; // the block part does not depend on the sample seed
        }
        tf.dispose([parts.block, parts.residual, parts.shift]);
      }
      let worst = 0;
      let fullOutside = 0;
      for (let e = 0; e < entries; e++) {
        const mean = sum[e] / seeds;
        const standardError = Math.sqrt(Math.max(sumSq[e] / seeds - mean * mean, 0) / (seeds - 1));
        const tolerance = 5 * standardError + 1e-5 * Math.abs(full[e]);
        worst = Math.max(worst, Math.abs(mean - offBlock[e]) / tolerance);
        if (e % dv1 === dv1 - 1 && Math.abs(mean - full[e]) > tolerance) fullOutside++;
      }
      expect(worst, 'largest |mean − exact| in units of the tolerance').to.be.below(1);
      // The test has power: for most denominator entries the all-pairs sum (what an estimator
      // counting the block pairs twice would converge to) falls outside the band.
      expect(fullOutside).to.be.above((0.75 * entries) / dv1);
      tf.dispose([q, k, v]);
    });
  });

  describe('having n not divisible by b', () => {
    const shape = { batch: 2, heads: 3, nq: 50, nk: 50, dk: 8 };

    it('should match the per-head block-diagonal reference (m = 0), the last block holding n mod b keys', () => {
      const { q, k, v } = randomAttentionInputs(shape, 24, 1.5);
      const options = { ...optionsFixture, samples: 0 };
      const out = kdeformerAttention(kernels, q, k, v, options);
      expectTensorsClose(out, blockOnlyReference(q, k, v, options), { atol: 1e-5 });
      tf.dispose([q, k, v, out]);
    });

    it('should leave every head untouched when another head changes', () => {
      const { q, k, v } = randomAttentionInputs(shape, 25, 1.5);
      const otherHead = tf.tidy(() => tf.reshape(tf.oneHot(tf.tensor1d([2], 'int32'), 3), [1, 3, 1, 1]));
      const [q2, k2, v2] = tf.tidy(() => [q, k, v].map((t) => tf.add(t, tf.mul(otherHead, 9)) as Tensor4D));
      const a = kdeformerAttention(kernels, q, k, v, optionsFixture);
      const b = kdeformerAttention(kernels, q2, k2, v2, optionsFixture);
      const firstHeads = (t: Tensor4D) => tf.slice(t, [0, 0, 0, 0], [-1, 2, -1, -1]);
      const [a01, b01] = [firstHeads(a), firstHeads(b)];
      expect(maxAbsDiff(a01, b01)).to.equal(0);
      tf.dispose([q, k, v, q2, k2, v2, otherHead, a, b, a01, b01]);
    });
  });

  describe('having logits far outside the float32 exp range', () => {
    it('should stay finite and close to exact attention', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 1, nq: 64, nk: 64, dk: 8 }, 26, 12);
      const out = kdeformerAttention(kernels, q, k, v, { ...optionsFixture, blockSize: 64, samples: 16 });
      expect(Array.from(out.dataSync()).every(Number.isFinite)).to.equal(true);
      expectTensorsClose(out, referenceAttention(toFloat64(q), toFloat64(k), toFloat64(v)), { atol: 1e-4 });
      tf.dispose([q, k, v, out]);
    });
  });

  describe('having the fused CPU kernel (no tape)', () => {
    for (const samples of [0, 12]) {
      it(`should equal the tfjs-op path to 1e-5 (m = ${samples}, n mod b ≠ 0, masked keys, a batch entry with none visible, cross lengths)`, () => {
        const { q, k, v } = randomAttentionInputs({ batch: 3, heads: 2, nq: 29, nk: 37, dk: 8, dv: 5 }, 32, 1.5);
        const mask = tf.tensor2d([Array(37).fill(1), Array.from({ length: 37 }, (_, j) => (j % 5 === 0 ? 0 : 1)), Array(37).fill(0)]);
        const before = tf.memory().numTensors;
        for (const m of [undefined, mask]) {
          const options = { ...optionsFixture, blockSize: 8, samples, projections: 3, mask: m };
          const fused = kdeformerAttention(kernels, q, k, v, options);
          const ops = kdeformerAttention(kernels, q, k, v, { ...options, fused: false });
          expect(tf.memory().numTensors).to.equal(before + 2);
          expect(maxAbsDiff(fused, ops), `mask ${m !== undefined}`).to.be.below(1e-5);
          tf.dispose([fused, ops]);
        }
        tf.dispose([q, k, v, mask]);
      });
    }
  });

  describe('having a gradient tape recording', () => {
    const lossOf = (attend: (q: Tensor4D, k: Tensor4D, v: Tensor4D) => Tensor4D, weights: Tensor4D) =>
      (...[q, k, v]: tf.Tensor[]) => tf.sum(tf.mul(attend(q as Tensor4D, k as Tensor4D, v as Tensor4D), weights));

    it('should give the same output as without a tape (n mod b ≠ 0, masked keys, m > 0)', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 2, heads: 2, nq: 37, nk: 37, dk: 8, dv: 4 }, 30, 1.5);
      const mask = tf.tensor2d([Array(37).fill(1), Array.from({ length: 37 }, (_, j) => (j % 5 === 0 ? 0 : 1))]);
      const options = { ...optionsFixture, blockSize: 8, samples: 12, projections: 3, mask };
      const plain = kdeformerAttention(kernels, q, k, v, options);
      let taped: Tensor4D | undefined;
      const grads = tf.grads((a: tf.Tensor) => {
        taped = tf.keep(kdeformerAttention(kernels, a as Tensor4D, k, v, options));
        return tf.sum(taped);
      })([q]);
      expect(maxAbsDiff(taped!, plain)).to.be.below(1e-5);
      tf.dispose([q, k, v, mask, plain, taped!, ...grads]);
    });

    it('should pass the gradients of exact attention to q, k and v for one block and m = 0', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 12, nk: 12, dk: 4 }, 31, 1.5);
      const weights = tf.randomNormal([1, 2, 12, 4], 0, 1, 'float32', 5) as Tensor4D;
      const kde = tf.grads(lossOf((a, b, c) => kdeformerAttention(kernels, a, b, c, { ...optionsFixture, blockSize: 64, samples: 0 }), weights))([q, k, v]);
      const exact = tf.grads(lossOf((a, b, c) => denseSoftmaxAttention(kernels, a, b, c), weights))([q, k, v]);
      kde.forEach((g, i) => expectTensorsClose(g, exact[i], { atol: 1e-4 }));
      tf.dispose([q, k, v, weights, ...kde, ...exact]);
    });

    it('should give finite, non-zero gradients through the blocks and the sampled residual', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 1, nq: 40, nk: 40, dk: 4 }, 32, 1);
      const weights = tf.randomNormal([1, 1, 40, 4], 0, 1, 'float32', 6) as Tensor4D;
      const grads = tf.grads(lossOf((a, b, c) => kdeformerAttention(kernels, a, b, c, { ...optionsFixture, blockSize: 8, samples: 16, projections: 3 }), weights))([q, k, v]);
      for (const g of grads) {
        const values = Array.from(g.dataSync());
        expect(values.every(Number.isFinite)).to.equal(true);
        expect(Math.max(...values.map(Math.abs))).to.be.above(1e-3);
      }
      tf.dispose([q, k, v, weights, ...grads]);
    });
  });

  describe('having seeds', () => {
    it('should reproduce a seed bitwise and change with the sample seed', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 64, nk: 64, dk: 8 }, 27, 1);
      const [a, b, c] = [undefined, undefined, 77].map((sampleSeed) => kdeformerAttention(kernels, q, k, v, { ...optionsFixture, sampleSeed }));
      expect(maxAbsDiff(a, b)).to.equal(0);
      expect(maxAbsDiff(a, c)).to.be.above(1e-4);
      tf.dispose([q, k, v, a, b, c]);
    });
  });

  describe('having a key-padding mask', () => {
    it('should give zero rows for a batch entry with no visible key', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 2, heads: 1, nq: 12, nk: 12, dk: 4 }, 28, 1);
      const mask = tf.tensor2d([Array(12).fill(1), Array(12).fill(0)]);
      const out = kdeformerAttention(kernels, q, k, v, { ...optionsFixture, mask });
      const hidden = tf.slice(out, [1, 0, 0, 0], [1, -1, -1, -1]);
      expect(Array.from(hidden.dataSync()).every((x) => x === 0)).to.equal(true);
      tf.dispose([q, k, v, mask, out, hidden]);
    });
  });
});

describe('grayCode', () => {
  it('should change exactly one bit between consecutive entries', () => {
    for (let i = 0; i < 127; i++) {
      const diff = grayCode(i) ^ grayCode(i + 1);
      expect(diff & (diff - 1), `entries ${i} and ${i + 1}`).to.equal(0);
    }
  });
});

describe('bucketIds', () => {
  for (const dk of [64, 6]) {
    it(`should give the same ids on the WebAssembly kernel and the float32 JS loop, and the float64 signs wherever |x·w| > 1e-4 (dk ${dk})`, () => {
      const rng = createSeededRandom(dk);
      const rows = 3000;
      const data = rng.fillNormal(new Float32Array(rows * dk + 5));
      const planes = drawHyperplanes(rng, dk, 7);
      const kernel = bucketIds(kernels, data, 5, rows, dk, planes, 7); // Float32Array input: the kernel
      const loop = bucketIds(kernels, Array.from(data), 5, rows, dk, planes, 7); // plain array: the JS loop
      expect(Array.from(kernel)).to.deep.equal(Array.from(loop));
      let clear = 0;
      for (let i = 0; i < rows; i++) {
        let code = 0;
        let ambiguous = false;
        for (let t = 0; t < 7; t++) {
          let dot = 0;
          for (let c = 0; c < dk; c++) dot += data[5 + i * dk + c] * planes[t * dk + c];
          if (Math.abs(dot) <= 1e-4) ambiguous = true;
          if (dot > 0) code |= 1 << t;
        }
        if (ambiguous) continue;
        clear++;
        expect(kernel[i], `row ${i}`).to.equal(grayCode(code));
      }
      expect(clear).to.be.above(rows * 0.95);
    });
  }
});

describe('blockLayout', () => {
  it('should pad only the last key block and mirror the key split for nq = nk', () => {
    const order = Int32Array.from({ length: 50 }, (_, i) => 49 - i);
    const layout = blockLayout(order, 50, order, 16);
    expect([layout.blocks, layout.keysPerBlock, layout.queriesPerBlock]).to.deep.equal([4, 16, 16]);
    expect(Array.from(layout.keySlots.subarray(48))).to.deep.equal([1, 0, ...Array(14).fill(-1)]);
    expect(Array.from(layout.querySlots)).to.deep.equal(Array.from(layout.keySlots));
  });

  it('should put query rank ρ in the key block holding position ρ·nv/nq', () => {
    const keys = Int32Array.from({ length: 64 }, (_, j) => j);
    const queries = Int32Array.from({ length: 5 }, (_, i) => i);
    const layout = blockLayout(keys, 64, queries, 16); // positions 0, 12.8, 25.6, 38.4, 51.2
    expect(layout.queriesPerBlock).to.equal(2);
    expect(Array.from(layout.querySlotOf).map((slot) => Math.floor(slot / 2))).to.deep.equal([0, 0, 1, 2, 3]);
    expect(Array.from(blockLayout(keys, 64, Int32Array.of(0), 16).querySlotOf)).to.deep.equal([0]);
  });
});

describe('kdeformerPlugin', () => {
  it('should draw per-layer seeds unless ctx.seed pins them', () => {
    const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 1, nq: 48, nk: 48, dk: 8 }, 29, 1);
    const op = kdeformerPlugin.create({ b: 16, m: 16, r: 7, seed: 0, exactBlock: 1024 }, resolveOperatorServices(createSwapformerContainer({ logger: createMemoryLogger() })), { heads: 1, headDim: 8 });
    const [l0, l1, p0, p1] = [
      op.forward(q, k, v, { causal: false, layerIndex: 0 }),
      op.forward(q, k, v, { causal: false, layerIndex: 1 }),
      op.forward(q, k, v, { causal: false, layerIndex: 0, seed: 3 }),
      op.forward(q, k, v, { causal: false, layerIndex: 1, seed: 3 }),
    ];
    expect(maxAbsDiff(l0, l1)).to.be.above(1e-4);
    expect(maxAbsDiff(p0, p1)).to.equal(0);
    tf.dispose([q, k, v, l0, l1, p0, p1]);
  });
});
