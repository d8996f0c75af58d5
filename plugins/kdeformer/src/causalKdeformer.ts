/**
 * Causal KDEformer (not in the paper or its code): the recursive block split of HyperAttention
 * (Han et al., ICLR 2024, https://arxiv.org/abs/2310.05869, by the same group as KDEformer), as
 * the causal Thinformer uses it (spec §2, "Causal support"). The key range is halved
 * recursively down to blocks of at most `exactBlock` keys:
 *
 *   causal(lo, hi) = exact causal attention                       if hi − lo ≤ exactBlock
 *                  = [ causal(lo, mid) ;                           queries in the left half
 *                      merge(causal(mid, hi), KDE(q_right, k_left)) ] queries in the right half
 *
 * where the right half's queries see the whole left half, so that block has no mask and the
 * non-causal KDEformer (LSH blocks + importance-sampled residual) applies unchanged. Parts merge
 * by their log-denominators: o = c·o1 + (1 − c)·o2 with c = 1/(1 + exp(lse2 − lse1)), which is
 * the exact softmax over the union of their keys whenever each part is exact; KDEformer's
 * estimated denominator D̃ is unbiased, so its log takes the place of lse for that part.
 *
 * Why this split rather than masking inside the LSH blocks: a causal mask inside hash blocks
 * hides a data-dependent share of each block (and of the sampled residual), and the residual's
 * unbiasedness argument needs every sampled key visible to every query; here every KDEformer call
 * is fully visible, so its estimator and error statistics are the non-causal ones.
 *
 * Runs on every backend: this recursion where values can be read synchronously (wasm, cpu), and
 * causalDeviceKdeformer.ts elsewhere (webgpu; no key-padding mask once a KDEformer part exists),
 * which runs the same plan with the parts batched by size and the merges in one program.
 * Shapes: q [b, h, nq, dk], k [b, h, nk, dk], v [b, h, nk, dv] → [b, h, nq, dv], nq ≤ nk,
 * queries aligned to the end of the keys. Time O(nk·exactBlock·d + nk·log(nk/exactBlock)·(bk + m)·d).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import { canReadSync, deriveSeed, SwapformerError } from '@swapformer/core';
import { MASKED_LOGIT, type DeviceUploadCache } from '@swapformer/kernels';
import { bucketQueryKdeformer } from './bucketQueryKde';
import { deviceCausalKdeformerAttention } from './causalDeviceKdeformer';
import type { CausalKdeformerOptions, KdeformerAttentionOptions } from './kdeformerOptions';
import type { KernelContext } from '@swapformer/core';

export type { CausalKdeformerOptions } from './kdeformerOptions';

/** Attention over some keys: the output and the log of its softmax denominator per query row. */
interface Part {
  readonly out: Tensor4D; // [b, h, rows, dv]
  readonly logSumExp: Tensor4D; // [b, h, rows, 1]; MASKED_LOGIT where a row sees no key
}

/** Exact attention with its log-denominator; causal within the block (queries aligned to its end). */
function exactPart(q: Tensor4D, k: Tensor4D, v: Tensor4D, scale: number, mask: Tensor2D | undefined): Part {
  return tf.tidy(() => {
    const [b, , rows] = q.shape;
    const nk = k.shape[2];
    const visible = tf.lessEqual(tf.reshape(tf.range(0, nk, 1, 'int32'), [1, nk]), tf.reshape(tf.range(nk - rows, nk, 1, 'int32'), [rows, 1])); // [rows, nk]
    let bias = tf.reshape(tf.where(visible, tf.zeros([rows, nk]), tf.fill([rows, nk], MASKED_LOGIT)), [1, 1, rows, nk]);
    if (mask) bias = tf.add(bias, tf.reshape(tf.mul(tf.sub(1, mask), MASKED_LOGIT), [b, 1, 1, nk]));
    const logits = tf.add(tf.mul(tf.matMul(q, k, false, true), scale), bias);
    const best = tf.max(logits, 3, true);
    const weights = tf.exp(tf.sub(logits, best));
    const den = tf.sum(weights, 3, true);
    const seen = tf.cast(tf.greater(best, MASKED_LOGIT / 2), 'float32'); // rows with no visible key give 0
    return {
      out: tf.mul(tf.div(tf.matMul(weights, v), den), seen) as Tensor4D,
      logSumExp: tf.add(tf.mul(tf.add(best, tf.log(den)), seen), tf.mul(tf.sub(1, seen), MASKED_LOGIT)) as Tensor4D,
    };
  });
}

/**
 * Non-causal KDEformer of queries against every key given, with its log-denominator; queries are
 * placed in key blocks by their own bucket (bucketQueryKde.ts), so no query sees another.
 */
function kdePart(kernels: KernelContext, q: Tensor4D, k: Tensor4D, v: Tensor4D, options: KdeformerAttentionOptions): Part {
  return bucketQueryKdeformer(kernels, q, k, v, options);
}

/** Softmax over the union of two parts' keys, from their outputs and log-denominators. */
function merge(a: Part, b: Part): Part {
  return tf.tidy(() => {
    const top = tf.maximum(a.logSumExp, b.logSumExp);
    const [wa, wb] = [tf.exp(tf.sub(a.logSumExp, top)), tf.exp(tf.sub(b.logSumExp, top))];
    const total = tf.add(wa, wb);
    return {
      out: tf.div(tf.add(tf.mul(a.out, wa), tf.mul(b.out, wb)), total) as Tensor4D,
      logSumExp: tf.add(top, tf.log(total)) as Tensor4D,
    };
  });
}

/**
 * Causal KDEformer attention (exact when nk ≤ exactBlock). Deterministic given the seeds; each
 * off-diagonal block draws its own hyperplanes and samples from seeds derived from its key range.
 *
 * @example const out = causalKdeformerAttention(q, k, v, { blockSize: 32, samples: 64, projections: 7, seed: 0, exactBlock: 1024 });
 */
export function causalKdeformerAttention(kernels: KernelContext, q: Tensor4D, k: Tensor4D, v: Tensor4D, options: CausalKdeformerOptions, uploads?: DeviceUploadCache): Tensor4D {
  const [, , nq, dk] = q.shape;
  const nk = k.shape[2];
  if (nq > nk) {
    throw new SwapformerError(
      'invalid-input',
      `causal KDEformer needs nq ≤ nk (queries aligned to the end of the keys), got nq = ${nq}, nk = ${nk}.\n  The first ${nq - nk} queries would see no key; use the exact operator for this call.`,
    );
  }
  if (!canReadSync()) return deviceCausalKdeformerAttention(q, k, v, options, uploads);
  const scale = options.scale ?? 1 / Math.sqrt(dk);
  const offset = nk - nq;
  const keys = (x: Tensor4D, lo: number, hi: number) => tf.slice(x, [0, 0, lo, 0], [-1, -1, hi - lo, -1]);
  const maskOf = (lo: number, hi: number) => (options.mask ? (tf.slice(options.mask, [0, lo], [-1, hi - lo]) as Tensor2D) : undefined);
  /** Queries at key positions [max(lo, offset), hi) against keys [lo, hi), causally. */
  const causal = (lo: number, hi: number): Part => {
    const queries = keys(q, Math.max(lo, offset) - offset, hi - offset);
    if (hi - lo <= options.exactBlock) return exactPart(queries, keys(k, lo, hi), keys(v, lo, hi), scale, maskOf(lo, hi));
    const mid = lo + Math.floor((hi - lo) / 2);
    const right = causal(mid, hi);
    const rightQueries = keys(q, Math.max(mid, offset) - offset, hi - offset);
    const seeds = { seed: deriveSeed(options.seed, 'causal-block', lo, mid), sampleSeed: deriveSeed(options.sampleSeed ?? options.seed, 'causal-block', lo, mid) };
    const past = kdePart(kernels, rightQueries, keys(k, lo, mid), keys(v, lo, mid), { ...options, ...seeds, scale, mask: maskOf(lo, mid) });
    const merged = merge(right, past);
    if (mid <= offset) return merged; // no query in the left half
    const left = causal(lo, mid);
    return { out: tf.concat([left.out, merged.out], 2), logSumExp: tf.concat([left.logSumExp, merged.logSumExp], 2) };
  };
  return tf.tidy(() => causal(0, nk).out);
}
