/**
 * The device KDEformer's programs one by one against their host forms on seeded inputs (lavapipe
 * in CI): the hash + sort pass (key order, query entries of both placements, sorted ‖vaug‖, Gram),
 * the sampling pass (σ², CDF and draws), the causal leaves-and-merge program, and how many
 * programs a call dispatches (issue #20: the host cost of a call grows with its dispatches).
 * Skips without a webgpu adapter unless SWAPFORMER_REQUIRE_WEBGPU=1.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { createKernelContext, createSeededRandom, deriveSeed, throwIfWebGpuFailed, useBackend } from '@swapformer/core';
import { randomAttentionInputs, referenceAttention, toFloat64, webGpuSuiteCheck } from '@swapformer/core/conformance';
import { bucketIds, causalKdeformerAttention, deviceKdeformerAttention, drawHyperplanes, sortByBucket, blockLayout } from '../src';
import { bucketBlock, bucketStarts } from '../src/bucketQueryKde';
import { deviceGeometry, drawInputs, type QueryPlacement } from '../src/deviceGeometry';
import { hashTiles, sortTiles, TILE } from '../src/lshSortWebGpu';
import { sampleResidual } from '../src/kdeResidualWebGpu';
import { drawWithReplacement, samplingProbabilities, topEigenvalue } from '../src/residualSampling';

const kernels = createKernelContext();
const suiteBackend = (process.env.SWAPFORMER_BACKEND ?? 'wasm') as 'wasm';
const [H, NK, NQ, DK, DV, R, M, BK, SEED] = [3, 700, 300, 16, 8, 5, 64, 32, 11];
const options = { blockSize: BK, samples: M, projections: R, seed: SEED };

/** Seeded q, k, v of H slices as flat arrays. */
function inputs(): { q: Float32Array; k: Float32Array; v: Float32Array } {
  const rng = createSeededRandom(5);
  return { q: rng.fillNormal(new Float32Array(H * NQ * DK), 0, 1), k: rng.fillNormal(new Float32Array(H * NK * DK), 0, 1), v: rng.fillNormal(new Float32Array(H * NK * DV), 0, 1) };
}

/** hashTiles → sortTiles (→ sampleResidual) on the device; the outputs read back. */
async function runPrograms(data: ReturnType<typeof inputs>, placement: QueryPlacement): Promise<{ sorted: Float32Array; samples: Float32Array }> {
  const geo = deviceGeometry(H, NK, NQ, DK, DV, TILE, options, placement);
  const drawn = tf.tensor1d(drawInputs(1, H, geo, (bi, hi) => ({ seed: SEED, sampleSeed: SEED, bi, hi, keyRow: hi * NK, queryRow: hi * NQ, keys: NK, queries: NQ })));
  const [q, k, v] = [data.q, data.k, data.v].map((x) => tf.tensor1d(x));
  const hashed = hashTiles(k, q, v, drawn, geo);
  const sorted = sortTiles(hashed, drawn, geo);
  const samples = sampleResidual(sorted, drawn, geo);
  const out = { sorted: (await sorted.data()) as Float32Array, samples: (await samples.data()) as Float32Array };
  await throwIfWebGpuFailed('the KDEformer programs');
  tf.dispose([drawn, q, k, v, hashed, sorted, samples]);
  return out;
}

const indices = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

/** The host path's sort, layout, ‖vaug‖, Gram and draws of slice `hi`. */
function hostSlice(data: ReturnType<typeof inputs>, hi: number) {
  const planes = drawHyperplanes(createSeededRandom(deriveSeed(SEED, 'lsh', 0, hi)), DK, R);
  const keyIds = bucketIds(kernels, data.k, hi * NK * DK, NK, DK, planes, R);
  const queryIds = bucketIds(kernels, data.q, hi * NQ * DK, NQ, DK, planes, R);
  const sortedKeys = sortByBucket(keyIds, indices(NK), 1 << R);
  const sortedQueries = sortByBucket(queryIds, indices(NQ), 1 << R);
  const vaug = (j: number, c: number) => (c < DV ? data.v[(hi * NK + j) * DV + c] : 1);
  const norms = Float64Array.from(sortedKeys, (j) => Math.hypot(...Array.from({ length: DV + 1 }, (_, c) => vaug(j, c))));
  const gram = new Float64Array((DV + 1) ** 2);
  for (let j = 0; j < NK; j++) for (let a = 0; a <= DV; a++) for (let c = 0; c <= DV; c++) gram[a * (DV + 1) + c] += vaug(j, a) * vaug(j, c);
  const p = samplingProbabilities(norms, topEigenvalue(gram, DV + 1, createSeededRandom(deriveSeed(SEED, 'power', 0, hi))));
  const drawn = drawWithReplacement(p, M, createSeededRandom(deriveSeed(SEED, 'samples', 0, hi)));
  return { keyIds, queryIds, sortedKeys, sortedQueries, norms, gram, p, drawn, layout: blockLayout(sortedKeys, NK, sortedQueries, BK) };
}

function maxRelativeDiff(device: ArrayLike<number>, host: ArrayLike<number>): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < host.length; i++) scale = Math.max(scale, Math.abs(host[i]));
  for (let i = 0; i < host.length; i++) worst = Math.max(worst, Math.abs(device[i] - host[i]) / scale);
  return worst;
}

/** Counts the programs one call dispatches. */
async function dispatchesOf(call: () => tf.Tensor): Promise<number> {
  const backend = tf.backend() as unknown as { runWebGPUProgram: (...args: unknown[]) => unknown };
  const run = backend.runWebGPUProgram;
  let count = 0;
  backend.runWebGPUProgram = (...args: unknown[]) => {
    count++;
    return run.apply(backend, args);
  };
  try {
    const out = call();
    await out.data();
    out.dispose();
  } finally {
    backend.runWebGPUProgram = run;
  }
  return count;
}

describe('KDEformer webgpu programs against their host forms (3 slices, nk 700 over 3 tiles, nq 300, r 5, m 64)', function () {
  before(webGpuSuiteCheck({ restore: suiteBackend, required: process.env.SWAPFORMER_REQUIRE_WEBGPU === '1' }));
  beforeEach(() => useBackend('webgpu'));
  afterEach(() => useBackend(suiteBackend));

  const data = inputs();
  const stride = NK + 2 * NQ + NK + (DV + 1) ** 2;

  it('should sort keys and queries as sortByBucket, give the rank split of blockLayout, and the sorted ‖vaug‖ and VaugᵀVaug', async () => {
    const { sorted } = await runPrograms(data, 'rank');
    for (let hi = 0; hi < H; hi++) {
      const host = hostSlice(data, hi);
      const at = hi * stride;
      expect(Array.from(sorted.subarray(at, at + NK)), `key order of slice ${hi}`).to.deep.equal(Array.from(host.sortedKeys));
      const rows = Array.from({ length: NQ }, (_, rho) => sorted[at + NK + 2 * rho]);
      const blocks = Array.from({ length: NQ }, (_, rho) => sorted[at + NK + 2 * rho + 1]);
      expect(rows, `query order of slice ${hi}`).to.deep.equal(Array.from(host.sortedQueries));
      expect(blocks).to.deep.equal(rows.map((i) => Math.floor(host.layout.querySlotOf[i] / host.layout.queriesPerBlock)));
      expect(maxRelativeDiff(sorted.subarray(at + NK + 2 * NQ, at + 2 * NK + 2 * NQ), host.norms)).to.be.below(1e-6);
      expect(maxRelativeDiff(sorted.subarray(at + 2 * NK + 2 * NQ, at + stride), host.gram)).to.be.below(1e-5);
    }
  });

  it("should place each query in the block holding the middle of its bucket's keys with the bucket placement", async () => {
    const { sorted } = await runPrograms(data, 'bucket');
    for (let hi = 0; hi < H; hi++) {
      const host = hostSlice(data, hi);
      const start = bucketStarts(host.keyIds, indices(NK), 1 << R);
      const entries = Array.from({ length: NQ }, (_, i) => [sorted[hi * stride + NK + 2 * i], sorted[hi * stride + NK + 2 * i + 1]]);
      expect(entries).to.deep.equal(Array.from({ length: NQ }, (_, i) => [i, bucketBlock(start, host.queryIds[i], BK, NK)]));
    }
  });

  it('should draw the host key slots from the same uniforms, with weights 1/(m·P)', async () => {
    const { samples } = await runPrograms(data, 'rank');
    for (let hi = 0; hi < H; hi++) {
      const host = hostSlice(data, hi);
      const at = hi * (2 * M + NK);
      const slots = Array.from({ length: M }, (_, t) => samples[at + 2 * t]);
      const weights = Array.from({ length: M }, (_, t) => samples[at + 2 * t + 1]);
      expect(slots, `draws of slice ${hi}`).to.deep.equal(Array.from(host.drawn));
      expect(maxRelativeDiff(weights, Array.from(host.drawn, (u) => 1 / (M * host.p[u])))).to.be.below(1e-4);
    }
  });

  for (const nq of [96, 64]) {
    it(`should give exact causal attention from the leaves-and-merge program when nk ≤ exactBlock (nk 96, nq ${nq}, key-padding mask)`, async () => {
      const { q, k, v } = randomAttentionInputs({ batch: 2, heads: 2, nq, nk: 96, dk: 8 }, 3, 1);
      const mask = tf.tensor2d(Float32Array.from({ length: 2 * 96 }, (_, i) => (i % 7 === 3 ? 0 : 1)), [2, 96]);
      const reference = referenceAttention(toFloat64(q), toFloat64(k), toFloat64(v), { causal: true, mask: toFloat64(mask) }).data;
      const out = causalKdeformerAttention(kernels, q, k, v, { ...options, exactBlock: 96, mask });
      const device = await out.data();
      await throwIfWebGpuFailed('the causal leaves');
      tf.dispose([q, k, v, mask, out]);
      expect(maxRelativeDiff(device, reference)).to.be.below(1e-5);
    });
  }

  it('should give the host causal split when the parts of a level differ in size (nk 777, nq 500, exactBlock 64, m 64)', async () => {
    await useBackend(suiteBackend);
    const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 500, nk: 777, dk: 8 }, 9, 1);
    const causal = { ...options, exactBlock: 64 };
    const hostOut = causalKdeformerAttention(kernels, q, k, v, causal);
    const host = await hostOut.data();
    const values = [await q.data(), await k.data(), await v.data()];
    const shapes = [q.shape, k.shape, v.shape];
    tf.dispose([q, k, v, hostOut]);
    await useBackend('webgpu');
    const [qd, kd, vd] = values.map((x, i) => tf.tensor(x, shapes[i]) as Tensor4D);
    const out = causalKdeformerAttention(kernels, qd, kd, vd, causal);
    const device = await out.data();
    await throwIfWebGpuFailed('the batched causal split');
    tf.dispose([qd, kd, vd, out]);
    expect(maxRelativeDiff(device, host)).to.be.below(1e-4);
  });

  it('should dispatch 4 programs per non-causal call, and per causal call 4 per batch of parts plus a concat and the merge', async () => {
    const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 1024, nk: 1024, dk: 16 }, 1, 1);
    expect(await dispatchesOf(() => deviceKdeformerAttention(q as Tensor4D, k, v, options))).to.equal(4);
    // parts of 512, 2 × 256 and 4 × 128 keys in 2 device calls (512, 256, 256, 128, 128, then 128, 128)
    expect(await dispatchesOf(() => causalKdeformerAttention(kernels, q, k, v, { ...options, exactBlock: 128 }))).to.equal(2 * 4 + 2);
    tf.dispose([q, k, v]);
  });
});
