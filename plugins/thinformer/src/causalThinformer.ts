/**
 * Causal Thinformer: the recursive block split of HyperAttention (Han et al., ICLR 2024,
 * https://arxiv.org/abs/2310.05869) with Thinformer coresets for the off-diagonal blocks
 * (spec §2, "Causal support"; not in the Thinformer paper or its reference code).
 *
 * The key range is split in halves recursively down to blocks of at most `exactBlock` keys.
 * Queries in a right half see the whole left half through its KH-Compress(g) coreset; diagonal
 * leaf blocks use exact causal attention. The spec merges the parts by log-sum-exp weighting,
 * o = c·o1 + (1 − c)·o2 with c = 1/(1 + exp(lse2 − lse1)); merging every level at once is one
 * softmax over the union of the leaf's own keys and the coresets above it, which is what runs
 * here. Each coreset point stands for n_block/nOut keys (the coreset matches the block's
 * *average*), so its logits get + ln(n_block/nOut) before that softmax — without it the past
 * would be under-weighted by nOut/n_block.
 *
 * Shapes: q [b, h, nq, dk], k [b, h, nk, dk], v [b, h, nk, dv] → [b, h, nq, dv], nq ≤ nk,
 * queries aligned to the end of the keys (key j visible to query i iff j ≤ i + nk − nq).
 * Time O(nk/B · B·(B + 2^g·sqrt(nk)·log(nk/B)) · d) for leaves of B = exactBlock keys, plus the
 * coresets: KH-Compress of every left half, O(4^g · nk · log² nk · d) in all.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { deriveSeed, type KernelContext } from '@swapformer/core';
import { softmaxAttention } from '@swapformer/kernels';
import { coresetOfRange, keyValueData, type CoresetOptions, type KeyValueData } from './thinformerCoreset';
import { causalLeaves, checkQueriesAlignedToKeys, type CausalLeaf } from './causalSplit';

/** Options of `causalThinformerAttention`. */
export interface CausalThinformerOptions extends CoresetOptions {
  /** Blocks of at most this many keys use exact causal attention (the recursion's leaves). */
  readonly exactBlock: number;
}

/** A coreset standing for keys [lo, hi): positions [b·h, size] and the log-weight of each point. */
interface WeightedCoreset {
  readonly indices: Int32Array;
  readonly size: number;
  readonly logWeight: number;
}

type Leaf = CausalLeaf<WeightedCoreset>;

/**
 * Rows of `x` ([b, h, n, d] data) per slice: the coreset rows of every context block, then rows
 * [from, to). With `extra`, each row gets one more coordinate: that value for coreset rows of a
 * block (per block), `plain` for the rest.
 */
function stackRows(x: Float32Array, shape: readonly [number, number, number, number], context: readonly WeightedCoreset[], from: number, to: number, extra?: { readonly perBlock: readonly number[]; readonly plain: number }): Tensor4D {
  const [b, h, n, d] = shape;
  const width = extra ? d + 1 : d;
  const rows = context.reduce((sum, c) => sum + c.size, 0) + (to - from);
  const out = new Float32Array(b * h * rows * width);
  for (let s = 0; s < b * h; s++) {
    let r = s * rows;
    const put = (source: number, last: number) => {
      out.set(x.subarray((s * n + source) * d, (s * n + source + 1) * d), r * width);
      if (extra) out[r * width + d] = last;
      r++;
    };
    context.forEach((c, block) => {
      for (let j = 0; j < c.size; j++) put(c.indices[s * c.size + j], extra ? extra.perBlock[block] : 0);
    });
    for (let j = from; j < to; j++) put(j, extra ? extra.plain : 0);
  }
  return tf.tensor4d(out, [b, h, rows, width]);
}

/** Queries [qFrom, qTo) of one leaf against its keys and the coresets above it (causal within the leaf). */
function leafAttention(kernels: KernelContext, q: Float32Array, qShape: readonly [number, number, number, number], data: KeyValueData, leaf: Leaf, qFrom: number, qTo: number, scale: number): Tensor4D {
  const [b, h] = qShape;
  const kShape = [b, h, data.nk, data.dk] as const;
  const vShape = [b, h, data.nk, data.dv] as const;
  return tf.tidy(() => {
    const values = stackRows(data.values, vShape, leaf.context, leaf.lo, leaf.hi); // [b, h, m, dv]
    if (leaf.context.length === 0) {
      const queries = stackRows(q, qShape, [], qFrom, qTo); // [b, h, nq', dk]
      return softmaxAttention(kernels, queries, stackRows(data.keys, kShape, [], leaf.lo, leaf.hi), values, { scale, causal: true });
    }
    // s·⟨[q, 1], [k, w/s]⟩ = s·⟨q, k⟩ + w: the log-weights ride on one extra coordinate
    const queries = stackRows(q, qShape, [], qFrom, qTo, { perBlock: [], plain: 1 }); // [b, h, nq', dk + 1]
    const keys = stackRows(data.keys, kShape, leaf.context, leaf.lo, leaf.hi, { perBlock: leaf.context.map((c) => c.logWeight / scale), plain: 0 }); // [b, h, m, dk + 1]
    // causal offset m − nq' makes every coreset row visible and the leaf's own keys causal
    return softmaxAttention(kernels, queries, keys, values, { scale, causal: true });
  });
}

/**
 * Causal Thinformer attention (exact when nk ≤ exactBlock).
 *
 * @example
 * const out = causalThinformerAttention(kernels, q, k, v, { g: 2, delta: 0.5, seed: 0, exactBlock: 1024 }); // [b, h, nq, dv]
 */
export function causalThinformerAttention(kernels: KernelContext, q: Tensor4D, k: Tensor4D, v: Tensor4D, options: CausalThinformerOptions): Tensor4D {
  const [b, h, nq, dk] = q.shape;
  const nk = k.shape[2];
  const scale = options.scale ?? 1 / Math.sqrt(dk);
  checkQueriesAlignedToKeys(nq, nk);
  if (nk <= options.exactBlock) return softmaxAttention(kernels, q, k, v, { scale, causal: true });
  const offset = nk - nq;
  const data = keyValueData(k, v);
  const coreset = (lo: number, hi: number): WeightedCoreset => {
    const { indices, plan } = coresetOfRange(kernels, data, lo, hi, { ...options, scale, seed: deriveSeed(options.seed, 'causal-block', lo, hi) });
    return { indices, size: plan.nOut, logWeight: Math.log((hi - lo) / plan.nOut) };
  };
  const qData = q.dataSync() as Float32Array;
  return tf.tidy(() => {
    const outputs = causalLeaves(0, nk, offset, options.exactBlock, coreset).map((leaf) =>
      leafAttention(kernels, qData, [b, h, nq, dk], data, leaf, Math.max(leaf.lo, offset) - offset, leaf.hi - offset, scale),
    );
    return (outputs.length === 1 ? outputs[0] : tf.concat(outputs, 2)) as Tensor4D;
  });
}
