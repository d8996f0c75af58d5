/**
 * KDEformer with each query placed by its own bucket id, for the causal split (causalKdeformer.ts).
 *
 * The practical algorithm (kdeformer.ts, blockLayout.ts) sorts the queries and gives key block t
 * the queries whose *rank* falls in the same fraction of the order, so a query's block depends on
 * every other query. Inside a causal split that leaks the future: a later query changing its hash
 * shifts the ranks, and so the blocks, of earlier ones. Here a query with bucket id x goes to the
 * key block holding the middle of bucket x's keys, start[x] + ⌊count[x]/2⌋ in the sorted key order
 * (the insertion point when no key has id x, whose Gray-code neighbours differ in one hyperplane):
 * a function of the query and the keys only. Keys, the residual distribution and the draws are
 * the practical algorithm's, with the same seeds.
 *
 * Host form (plain JS, float64 accumulation), for backends that read values synchronously; the
 * device form is `deviceKdeformerPart(…, { queryPlacement: 'bucket' })`.
 * Shapes: q [b, h, nq, dk], k [b, h, nk, dk], v [b, h, nk, dv] → out [b, h, nq, dv] and the log of
 * the estimated denominator [b, h, nq, 1] (MASKED_LOGIT where a batch entry has no visible key).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { createSeededRandom, deriveSeed } from '@swapformer/core';
import { MASKED_LOGIT } from '@swapformer/kernels';
import { bucketIds, drawHyperplanes, sortByBucket } from './angularLsh';
import type { KdeformerAttentionOptions } from './kdeformerOptions';
import { drawWithReplacement, samplingProbabilities, topEigenvalue } from './residualSampling';
import { readInputs } from './slicePlan';
import type { KernelContext } from '@swapformer/core';

/**
 * First sorted position of each of the 2^r ids among `ids[members]` (start[2^r] = members.length).
 *
 * @example bucketStarts(Int32Array.of(2, 0, 2), Int32Array.of(0, 1, 2), 4) // [0, 1, 1, 3, 3]
 */
export function bucketStarts(ids: Int32Array, members: Int32Array, buckets: number): Int32Array {
  const start = new Int32Array(buckets + 1);
  for (const j of members) start[ids[j] + 1]++;
  for (let t = 0; t < buckets; t++) start[t + 1] += start[t];
  return start;
}

/**
 * The key block of a query with bucket id `id`: the block holding the middle of its bucket's keys.
 *
 * @example bucketBlock(Int32Array.of(0, 1, 1, 3, 3), 2, 2, 3) // 0: bucket 2 holds keys 1–2
 */
export function bucketBlock(start: Int32Array, id: number, keysPerBlock: number, keys: number): number {
  const middle = Math.min(keys - 1, start[id] + Math.floor((start[id + 1] - start[id]) / 2));
  return Math.floor(middle / keysPerBlock);
}

/**
 * KDEformer outputs and log-denominators with bucket-placed queries, on the host.
 *
 * @example const { out, logSumExp } = bucketQueryKdeformer(q, k, v, { blockSize: 32, samples: 64, projections: 7, seed: 0 });
 */
export function bucketQueryKdeformer(kernels: KernelContext, q: Tensor4D, k: Tensor4D, v: Tensor4D, options: KdeformerAttentionOptions): { out: Tensor4D; logSumExp: Tensor4D } {
  const inputs = readInputs(q, k, v, options.mask);
  const { b, h, nq, nk, dk, dv } = inputs.dims;
  const scale = options.scale ?? 1 / Math.sqrt(dk);
  const r = options.projections;
  const m = options.samples;
  const out = new Float32Array(b * h * nq * dv);
  const logSumExp = new Float32Array(b * h * nq).fill(MASKED_LOGIT);
  const acc = new Float64Array(dv);
  for (let bi = 0; bi < b; bi++) {
    const visible = Int32Array.from({ length: nk }, (_, j) => j).filter((j) => !inputs.mask || inputs.mask[bi * nk + j] !== 0);
    const nv = visible.length;
    if (nv === 0) continue;
    const bk = Math.min(options.blockSize, nv);
    for (let hi = 0; hi < h; hi++) {
      const slice = bi * h + hi;
      const [qo, ko, vo] = [slice * nq * dk, slice * nk * dk, slice * nk * dv];
      const planes = drawHyperplanes(createSeededRandom(deriveSeed(options.seed, 'lsh', bi, hi)), dk, r);
      const keyIds = bucketIds(kernels, inputs.k, ko, nk, dk, planes, r);
      const sorted = sortByBucket(keyIds, visible, 1 << r);
      const start = bucketStarts(keyIds, visible, 1 << r);
      const queryIds = bucketIds(kernels, inputs.q, qo, nq, dk, planes, r);
      let drawn: Int32Array = new Int32Array(0);
      let weights = new Float64Array(0);
      if (m > 0) {
        const augNorms = Float64Array.from(sorted, (j) => {
          let sq = 1;
          for (let c = 0; c < dv; c++) sq += inputs.v[vo + j * dv + c] ** 2;
          return Math.sqrt(sq);
        });
        const gram = new Float64Array((dv + 1) ** 2); // VaugᵀVaug over the visible keys
        for (const j of sorted) {
          for (let a = 0; a <= dv; a++) {
            const x = a < dv ? inputs.v[vo + j * dv + a] : 1;
            for (let c = 0; c <= dv; c++) gram[a * (dv + 1) + c] += x * (c < dv ? inputs.v[vo + j * dv + c] : 1);
          }
        }
        const p = samplingProbabilities(augNorms, topEigenvalue(gram, dv + 1, createSeededRandom(deriveSeed(options.seed, 'power', bi, hi))));
        drawn = drawWithReplacement(p, m, createSeededRandom(deriveSeed(options.sampleSeed ?? options.seed, 'samples', bi, hi)));
        weights = Float64Array.from(drawn, (u) => 1 / (m * p[u]));
      }
      for (let i = 0; i < nq; i++) {
        const block = bucketBlock(start, queryIds[i], bk, nv);
        let best = -Infinity;
        let den = 0;
        acc.fill(0);
        const add = (slot: number, weight: number) => {
          const j = sorted[slot];
          let logit = 0;
          for (let c = 0; c < dk; c++) logit += inputs.q[qo + i * dk + c] * inputs.k[ko + j * dk + c];
          logit *= scale;
          if (logit > best) {
            const rescale = Math.exp(best - logit);
            den *= rescale;
            for (let c = 0; c < dv; c++) acc[c] *= rescale;
            best = logit;
          }
          const e = weight * Math.exp(logit - best);
          den += e;
          for (let c = 0; c < dv; c++) acc[c] += e * inputs.v[vo + j * dv + c];
        };
        for (let slot = block * bk; slot < Math.min((block + 1) * bk, nv); slot++) add(slot, 1);
        drawn.forEach((slot, l) => {
          if (Math.floor(slot / bk) !== block) add(slot, weights[l]);
        });
        for (let c = 0; c < dv; c++) out[(slice * nq + i) * dv + c] = acc[c] / den;
        logSumExp[slice * nq + i] = best + Math.log(den);
      }
    }
  }
  return { out: tf.tensor4d(out, [b, h, nq, dv]), logSumExp: tf.tensor4d(logSumExp, [b, h, nq, 1]) };
}
