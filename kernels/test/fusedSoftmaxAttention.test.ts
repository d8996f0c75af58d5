import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { createSeededRandom, createKernelContext } from '@swapformer/core';
import { attentionThreads, createWorkerHost, denseSoftmaxAttention, fusedSoftmaxAttention, fusedSoftmaxAttentionArrays, fusedSoftmaxAttentionWithStats, fusedAttentionPeakBytes, resetFusedAttentionPeakBytes } from '@swapformer/kernels';
import { expectTensorsClose, randomAttentionInputs, referenceAttention, toFloat64 } from '@swapformer/core/conformance';
import { fusedAttentionModuleBytes } from '../src/wasm/fusedAttentionModule';
import { rowBlockSoftmaxAttention } from '../src/softmaxAttention';

/** The kernel settings and resources these tests run the kernels with (defaults: core-count threads). */
const kernels = createKernelContext();
/** 2 where workers can share memory (Node; a cross-origin-isolated page), else 1: a page that is not isolated runs one thread. */
const TWO_THREADS_HERE = typeof SharedArrayBuffer !== 'undefined' && createWorkerHost() !== null ? 2 : 1;
/** Bitwise equality of two float arrays, without Node's Buffer (these tests also run in a page). */
const sameBits = (a: Float32Array, b: Float32Array) => a.length === b.length && new Uint32Array(a.buffer, a.byteOffset, a.length).every((x, i) => x === new Uint32Array(b.buffer, b.byteOffset, b.length)[i]);

describe('fusedSoftmaxAttention', () => {
  const shapesFixture = [
    { name: 'tiny, d not a multiple of 4', batch: 1, heads: 1, nq: 5, nk: 7, dk: 3, dv: 5 },
    { name: 'odd lengths, two batches', batch: 2, heads: 3, nq: 37, nk: 53, dk: 16, dv: 16 },
    { name: 'more keys than a key block', batch: 1, heads: 2, nq: 9, nk: 600, dk: 64, dv: 24 },
    { name: 'cross, more queries than keys', batch: 1, heads: 1, nq: 70, nk: 20, dk: 8, dv: 8 },
    { name: 'one query row against a long kv-cache (a decode step)', batch: 1, heads: 3, nq: 1, nk: 77, dk: 64, dv: 40 },
  ];

  describe('having random inputs', () => {
    for (const shape of shapesFixture) {
      for (const causal of [false, true]) {
        it(`should match the float64 reference to 1e-5 (${shape.name}, causal ${causal})`, () => {
          const { q, k, v } = randomAttentionInputs(shape, 3, 1.5);
          const mask = tf.tensor2d(Array.from({ length: shape.batch * shape.nk }, (_, i) => (i % 5 === 2 ? 0 : 1)), [shape.batch, shape.nk]);
          for (const m of [undefined, mask]) {
            const out = fusedSoftmaxAttention(kernels, q, k, v, { causal, mask: m });
            const ref = referenceAttention(toFloat64(q), toFloat64(k), toFloat64(v), { causal, mask: m ? toFloat64(m) : undefined });
            expect(out.shape).to.deep.equal([shape.batch, shape.heads, shape.nq, shape.dv]);
            expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-5 });
            out.dispose();
          }
          tf.dispose([q, k, v, mask]);
        });
      }
    }

    it('should give 0 for rows with no visible key (all keys masked, or causal rows before the first key)', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 2, heads: 1, nq: 6, nk: 4, dk: 8 }, 1);
      const mask = tf.tensor2d([[0, 0, 0, 0], [1, 1, 1, 1]], [2, 4]);
      const out = fusedSoftmaxAttention(kernels, q, k, v, { causal: true, mask }).arraySync();
      expect(out[0][0].flat().every((x) => x === 0)).to.equal(true);
      expect(out[1][0][0].every((x) => x === 0)).to.equal(true); // row 0 sees keys j ≤ 0 − 2
      expect(out[1][0][5].some((x) => x !== 0)).to.equal(true);
      tf.dispose([q, k, v, mask]);
    });

    it('should honour an explicit scale', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 12, nk: 12, dk: 8 }, 2);
      const out = fusedSoftmaxAttention(kernels, q, k, v, { scale: 0.7 });
      expectTensorsClose(out, referenceAttention(toFloat64(q), toFloat64(k), toFloat64(v), { scale: 0.7 }), { atol: 1e-5 });
      tf.dispose([q, k, v, out]);
    });
  });

  describe('having row statistics requested', () => {
    it('should return the same output plus each row\'s max logit and sum of exponentials (float64 reference, masked, causal, key bias)', () => {
      const dims = { b: 2, h: 2, nq: 9, nk: 300, dk: 12, dv: 5 };
      const { q, k, v } = randomAttentionInputs({ batch: dims.b, heads: dims.h, nq: dims.nq, nk: dims.nk, dk: dims.dk, dv: dims.dv }, 7, 1.5);
      const mask = Float32Array.from({ length: dims.b * dims.nk }, (_, i) => (i % 7 === 3 ? 0 : 1));
      const keyBias = Float32Array.from({ length: dims.b * dims.nk }, (_, i) => Math.sin(i) * 3);
      const [qa, ka, va] = [q.dataSync(), k.dataSync(), v.dataSync()];
      for (const causal of [false, true]) {
        const got = fusedSoftmaxAttentionWithStats(kernels, qa, ka, va, dims, { scale: 0.4, causal, mask, keyBias });
        expect(Array.from(got.out)).to.deep.equal(Array.from(fusedSoftmaxAttentionArrays(kernels, qa, ka, va, dims, { scale: 0.4, causal, mask, keyBias })));
        for (let s = 0; s < dims.b * dims.h; s++) {
          for (let i = 0; i < dims.nq; i++) {
            const logits: number[] = [];
            const seen: number[] = [];
            for (let j = 0; j < dims.nk; j++) {
              if (mask[Math.floor(s / dims.h) * dims.nk + j] === 0 || (causal && j > i + dims.nk - dims.nq)) continue;
              let dot = 0;
              for (let t = 0; t < dims.dk; t++) dot += qa[(s * dims.nq + i) * dims.dk + t] * ka[(s * dims.nk + j) * dims.dk + t];
              logits.push(0.4 * dot + keyBias[Math.floor(s / dims.h) * dims.nk + j]);
              seen.push(j);
            }
            const max = Math.max(...logits);
            const sum = logits.reduce((acc, x) => acc + Math.exp(x - max), 0);
            for (let c = 0; c < dims.dv; c++) {
              const want = logits.reduce((acc, x, u) => acc + Math.exp(x - max) * va[(s * dims.nk + seen[u]) * dims.dv + c], 0) / sum;
              expect(got.out[(s * dims.nq + i) * dims.dv + c]).to.be.closeTo(want, 1e-5);
            }
            expect(got.rowMax[s * dims.nq + i]).to.be.closeTo(max, 1e-5 * Math.max(1, Math.abs(max)));
            expect(got.rowSum[s * dims.nq + i]).to.be.closeTo(sum, 1e-5 * sum);
          }
        }
      }
      tf.dispose([q, k, v]);
    });

    it('should read one shared k and v for every slice (multi-query layout) exactly as the same rows repeated per slice', () => {
      const dims = { b: 3, h: 2, nq: 11, nk: 21, dk: 6, dv: 7 };
      const rng = createSeededRandom(9);
      const q = rng.fillNormal(new Float32Array(6 * 11 * 6));
      const k = rng.fillNormal(new Float32Array(21 * 6));
      const v = rng.fillNormal(new Float32Array(21 * 7));
      const repeat = (x: Float32Array) => Float32Array.from({ length: 6 * x.length }, (_, i) => x[i % x.length]);
      const mask = Float32Array.from({ length: 3 * 21 }, (_, i) => (i % 4 === 0 ? 0 : 1));
      const shared = fusedSoftmaxAttentionWithStats(kernels, q, k, v, dims, { mask, sharedKeys: true });
      const repeated = fusedSoftmaxAttentionWithStats(kernels, q, repeat(k), repeat(v), dims, { mask });
      expect(Array.from(shared.out)).to.deep.equal(Array.from(repeated.out));
      expect(Array.from(shared.rowSum)).to.deep.equal(Array.from(repeated.rowSum));
    });

    it('should give a row sum of 0 for rows with no visible key', () => {
      const dims = { b: 2, h: 1, nq: 3, nk: 4, dk: 4, dv: 2 };
      const ones = new Float32Array(64).fill(1);
      const got = fusedSoftmaxAttentionWithStats(kernels, ones, ones, ones, dims, { mask: [0, 0, 0, 0, 1, 1, 1, 1] });
      expect(Array.from(got.rowSum)).to.deep.equal([0, 0, 0, 4, 4, 4]);
      expect(Array.from(got.out.subarray(0, 6))).to.deep.equal([0, 0, 0, 0, 0, 0]);
    });

    for (const sharedKeys of [false, true]) {
      it(`should give bitwise-identical output and statistics for 1 and 2 threads (shared keys ${sharedKeys})`, () => {
        const dims = { b: 1, h: 2, nq: 512, nk: 512, dk: 64, dv: 64 };
        const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 512, nk: 512, dk: 64 }, 5);
        const keys = sharedKeys ? k.dataSync().subarray(0, 512 * 64) : k.dataSync();
        const values = sharedKeys ? v.dataSync().subarray(0, 512 * 64) : v.dataSync();
        const [single, pair] = [createKernelContext({ threads: 1 }), createKernelContext({ threads: 2 })];
        const run = (context: typeof kernels) => fusedSoftmaxAttentionWithStats(context, q.dataSync(), keys, values, dims, { sharedKeys });
        const [one, two] = [run(single), run(pair)];
        expect(attentionThreads(pair)).to.equal(TWO_THREADS_HERE);
        expect(attentionThreads(single)).to.equal(1);
        expect(Array.from(two.out)).to.deep.equal(Array.from(one.out));
        expect(Array.from(two.rowMax)).to.deep.equal(Array.from(one.rowMax));
        expect(Array.from(two.rowSum)).to.deep.equal(Array.from(one.rowSum));
        tf.dispose([q, k, v]);
      });
    }
  });

  describe('having worker threads', () => {
    it('should give bitwise-identical output for 1 and 2 threads, each context keeping its own pool', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 512, nk: 512, dk: 64 }, 4);
      const [single, pair] = [createKernelContext({ threads: 1 }), createKernelContext({ threads: 2 })];
      const run = (context: typeof kernels) => fusedSoftmaxAttentionArrays(context, q.dataSync(), k.dataSync(), v.dataSync(), { b: 1, h: 2, nq: 512, nk: 512, dk: 64, dv: 64 }, { causal: true });
      // interleaved: a call on one context changes nothing in the other
      const one = run(single);
      const two = run(pair);
      const oneAgain = run(single);
      expect(sameBits(two, one)).to.equal(true);
      expect(sameBits(oneAgain, one)).to.equal(true);
      expect(attentionThreads(single)).to.equal(1);
      expect(attentionThreads(pair)).to.be.within(1, 2);
      tf.dispose([q, k, v]);
    });

    it('should refuse a non-positive thread count, naming it', () => {
      expect(() => createKernelContext({ threads: 0 })).to.throw('threads must be a positive integer (1 = the calling thread only), got 0');
    });

    it('should count peak kernel memory per context', () => {
      const [a, b] = [createKernelContext({ threads: 1 }), createKernelContext({ threads: 1 })];
      const dims = { b: 1, h: 1, nq: 64, nk: 64, dk: 8, dv: 8 };
      const ones = new Float32Array(64 * 8).fill(1);
      resetFusedAttentionPeakBytes(a);
      fusedSoftmaxAttentionArrays(a, ones, ones, ones, dims);
      expect(fusedAttentionPeakBytes(a)).to.be.above(64 * 8 * 4 * 3);
      expect(fusedAttentionPeakBytes(b)).to.equal(0);
      resetFusedAttentionPeakBytes(a);
      expect(fusedAttentionPeakBytes(a)).to.equal(0);
    });
  });

  describe('having a gradient tape', () => {
    it('should leave autodiff to the tfjs-op kernels (gradients flow through denseSoftmaxAttention)', () => {
      // two heads: tfjs's Unpack gradient breaks on a single-output unstack
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 6, nk: 6, dk: 4 }, 5);
      const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(denseSoftmaxAttention(kernels, x as Tensor4D, k, v), v)))(q);
      const h = 1e-2;
      const bump = tf.tensor4d(Array.from({ length: 48 }, (_, i) => (i === 5 ? h : 0)), [1, 2, 6, 4]);
      const f = (x: Tensor4D) => tf.sum(tf.mul(denseSoftmaxAttention(kernels, x, k, v), v)).dataSync()[0];
      const numeric = (f(tf.add(q, bump) as Tensor4D) - f(tf.sub(q, bump) as Tensor4D)) / (2 * h);
      expect(g.dataSync()[5]).to.be.closeTo(numeric, 1e-2);
      tf.dispose([q, k, v, g, bump]);
    });

    it('should agree with the tfjs-op path when forced off', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 40, nk: 40, dk: 16 }, 6);
      const fused = denseSoftmaxAttention(kernels, q, k, v, { causal: true });
      const ops = denseSoftmaxAttention(kernels, q, k, v, { causal: true, fused: false });
      expectTensorsClose(fused, ops, { atol: 2e-6 });
      tf.dispose([q, k, v, fused, ops]);
    });
  });

  describe('fusedAttentionModuleBytes', () => {
    it('should emit a valid WebAssembly module, shared or not', () => {
      const wasm = (globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean } }).WebAssembly;
      expect(wasm.validate(fusedAttentionModuleBytes({ shared: false }))).to.equal(true);
      expect(wasm.validate(fusedAttentionModuleBytes({ shared: true, maxPages: 1024 }))).to.equal(true);
    });
  });
});

describe('rowBlockSoftmaxAttention', () => {
  it('should match the float64 reference with causal and padding masks (the GPU path, run here on the CPU)', () => {
    for (const [batch, heads, nq, nk, dk, causal] of [[2, 3, 37, 53, 16, false], [1, 2, 70, 20, 8, true], [1, 2, 64, 64, 8, true]] as const) {
      const { q, k, v } = randomAttentionInputs({ batch, heads, nq, nk, dk }, 2, 1.3);
      const mask = tf.tensor2d(Array.from({ length: batch * nk }, (_, i) => (i % 3 === 0 ? 0 : 1)), [batch, nk]);
      const out = rowBlockSoftmaxAttention(q, k, v, { causal, mask });
      expectTensorsClose(out, referenceAttention(toFloat64(q), toFloat64(k), toFloat64(v), { causal, mask: toFloat64(mask) }), { atol: 1e-5, rtol: 1e-5 });
      tf.dispose([q, k, v, mask, out]);
    }
  });

  it('should give the same result whole-batch, in groups of batch rows and row by row (block budget forced small)', () => {
    const [batch, heads, nq, nk] = [5, 2, 24, 40];
    const { q, k, v } = randomAttentionInputs({ batch, heads, nq, nk, dk: 8 }, 4, 1.1);
    const mask = tf.tensor2d(Array.from({ length: batch * nk }, (_, i) => (i % 7 === 1 ? 0 : 1)), [batch, nk]);
    const slice = 4 * heads * nq * nk; // bytes of one batch row's scores
    for (const causal of [false, true]) {
      const ref = referenceAttention(toFloat64(q), toFloat64(k), toFloat64(v), { causal, mask: toFloat64(mask) });
      for (const blockBytes of [batch * slice, 2 * slice, slice, slice / 3]) {
        const out = rowBlockSoftmaxAttention(q, k, v, { causal, mask }, blockBytes);
        expectTensorsClose(out, ref, { atol: 1e-5, rtol: 1e-5 });
        out.dispose();
      }
    }
    tf.dispose([q, k, v, mask]);
  });
});
