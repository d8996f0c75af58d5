/**
 * Token Statistics Self-Attention, TSSA (Wu, Ding, Lu, Pai, …, Ma, Haeffele, "Token Statistics
 * Transformer: Linear-Time Attention via Variational Rate Reduction", ICLR 2025,
 * https://arxiv.org/abs/2412.17810), as the reference code (RobinWu218/ToST) runs it.
 *
 * The block projects x to w = x·W_in + b_in (one projection, no k or v) and applies W_out; this
 * operator maps w to Y per head h, token i, feature c:
 *
 *   Π[h, i]   = softmax over heads of temp_h · Σ_c ŵ[h, i, c]²          (soft head membership)
 *   dots[h,c] = Σ_i Π[h, i] w[h, i, c]² / (Σ_i Π[h, i] + 1e-8)         (Π-weighted second moment)
 *   Y[h,i,c]  = −w[h, i, c] · Π[h, i] / (1 + dots[h, c])
 *
 * with ŵ = w / max(‖w‖ over tokens, 1e-12) (column-normalised over the token axis). The causal
 * form (the paper's App. E, Algorithm 2, and `CausalSelfAttention_TSSA`) turns every token sum
 * into a prefix sum over positions ≤ t, normalises by max(Σ_{s≤t} w_s², 1e-12) and adds a learned
 * per-position `denom_bias[h, t]` to every normalised square.
 *
 * `form: 'paper'` is the paper's operator as the spec paraphrases it: Π from the raw energies
 * temp_h·‖w_i‖² (no token-axis normalisation, no denom_bias) and the step factor 1/n (1/t when
 * causal, t the tokens seen), with τ absorbed into W_out.
 *
 * Time and memory O(b·h·n·p): no token pair is ever formed. Heads mix only through Π.
 * Shape legend: b batch, h heads, n (t) tokens, p head dim (model dim / h), L max length.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import type { KernelSettings } from '@swapformer/core';
import { canRunTssaOnWebGpu, tssaWebGpu } from './tssaWebGpu';
import type { TostForm, TostParameters } from './tostParameters';

export interface TostOptions {
  readonly form: TostForm;
  /** `[b, n]`, 1 keep / 0 hide: hidden tokens enter no statistic and output 0. */
  readonly mask?: Tensor2D;
}

/** Prefix statistics carried across calls by the causal form (the streaming state). */
export interface TostPrefix {
  /** Σ w², `[b, h, 1, p]`. */
  readonly sumSq: Tensor4D;
  /** Σ Π·w², `[b, h, 1, p]`. */
  readonly sumPiSq: Tensor4D;
  /** Σ Π, `[b, h, 1, 1]`. */
  readonly sumPi: Tensor4D;
  /** Visible tokens so far, `[b, 1, 1, 1]` (the paper form's 1/t). */
  readonly count: Tensor4D;
}

/** Softmax over the head axis (tf.softmax only reduces the last axis). */
function softmaxOverHeads(energy: Tensor): Tensor {
  const shifted = tf.exp(tf.sub(energy, tf.max(energy, 1, true)));
  return tf.div(shifted, tf.sum(shifted, 1, true));
}

function keepOf(mask: Tensor2D | undefined, n: number): Tensor4D | null {
  return mask ? (tf.reshape(tf.cast(mask, 'float32'), [mask.shape[0], 1, n, 1]) as Tensor4D) : null;
}

/**
 * Non-causal TSSA: `w [b, h, n, p]` → `Y [b, h, n, p]` (on webgpu without a tape or mask: `tssaWebGpu`).
 *
 * @example const y = tssa(services.kernels, w, { temp }, { form: 'code' });
 */
export function tssa(kernels: KernelSettings, w: Tensor4D, params: TostParameters, options: TostOptions): Tensor4D {
  // WebGPU: four dispatches instead of the composition's 22 (each costs host time there).
  if (canRunTssaOnWebGpu(kernels, w, options.mask !== undefined)) return tssaWebGpu(w, params, options.form);
  return tf.tidy(() => {
    const [, h, n] = w.shape;
    const keep = keepOf(options.mask, n); // [b, 1, n, 1]
    const sq = tf.square(w); // [b, h, n, p]
    const visibleSq = keep ? tf.mul(sq, keep) : sq;
    const energy =
      options.form === 'code'
        ? tf.sum(tf.div(sq, tf.maximum(tf.sum(visibleSq, 2, true), 1e-24)), 3) // Σ_c ŵ², ŵ = w/max(‖w‖, 1e-12)
        : tf.sum(sq, 3); // [b, h, n]
    let pi = tf.expandDims(softmaxOverHeads(tf.mul(energy, tf.reshape(params.temp, [1, h, 1]))), 3); // [b, h, n, 1]
    if (keep) pi = tf.mul(pi, keep);
    const weights = tf.div(pi, tf.add(tf.sum(pi, 2, true), 1e-8)); // [b, h, n, 1]
    const dots = tf.sum(tf.mul(weights, sq), 2, true); // [b, h, 1, p]
    let y = tf.neg(tf.div(tf.mul(w, pi), tf.add(dots, 1))); // [b, h, n, p]
    if (options.form === 'paper') y = tf.div(y, keep ? tf.maximum(tf.sum(keep, 2, true), 1) : n);
    return y as Tensor4D;
  });
}

/**
 * Zero prefix statistics for `batch` sequences.
 *
 * @example const prefix = emptyTostPrefix(2, 4, 16);
 */
export function emptyTostPrefix(batch: number, heads: number, headDim: number): TostPrefix {
  return {
    sumSq: tf.zeros([batch, heads, 1, headDim]),
    sumPiSq: tf.zeros([batch, heads, 1, headDim]),
    sumPi: tf.zeros([batch, heads, 1, 1]),
    count: tf.zeros([batch, 1, 1, 1]),
  };
}

/**
 * Inclusive prefix sums along the token axis of `[b, h, t, x]`, continued from `carried`.
 * The cumsum runs on the last axis: tfjs-core 4.22's Cumsum gradient mis-permutes any other
 * axis (its shape check fails in training), and the wasm kernel transposes internally anyway.
 */
function prefixSum(x: Tensor, carried: Tensor): Tensor {
  return tf.add(tf.transpose(tf.cumsum(tf.transpose(x, [0, 1, 3, 2]), 3), [0, 1, 3, 2]), carried);
}

/** The last token's prefix sums `[.., 1, ..]`: the statistics to carry on. */
function lastToken(x: Tensor): Tensor {
  const t = x.shape[2] as number;
  return tf.slice(x, [0, 0, t - 1, 0], [-1, -1, 1, -1]);
}

/**
 * Causal TSSA on t new tokens at positions `start … start + t − 1`, continuing `prefix` (left
 * untouched): the full causal pass is one call from an empty prefix, decoding is one call per
 * token. Returns `Y [b, h, t, p]` and the new prefix statistics.
 *
 * @example const { y, prefix } = tssaCausal(w, params, emptyTostPrefix(b, h, p), 0, { form: 'code' });
 */
export function tssaCausal(w: Tensor4D, params: TostParameters, prefix: TostPrefix, start: number, options: TostOptions): { y: Tensor4D; prefix: TostPrefix } {
  const [y, sumSq, sumPiSq, sumPi, count] = tf.tidy(() => {
    const [, h, t, p] = w.shape;
    const keep = keepOf(options.mask, t); // [b, 1, t, 1]
    const sq = tf.square(w); // [b, h, t, p]
    const visibleSq = keep ? tf.mul(sq, keep) : sq;
    const sumSq = prefixSum(visibleSq, prefix.sumSq); // [b, h, t, p]
    let energy: Tensor; // [b, h, t]
    if (options.form === 'code') {
      // Σ_c (w²/den + denom_bias[h, s]): the bias is added to each of the p normalised squares.
      const bias = tf.reshape(tf.slice(params.denomBias!, [0, start], [h, t]), [1, h, t]);
      energy = tf.add(tf.sum(tf.div(sq, tf.maximum(sumSq, 1e-12)), 3), tf.mul(bias, p));
    } else {
      energy = tf.sum(sq, 3);
    }
    let pi = tf.expandDims(softmaxOverHeads(tf.mul(energy, tf.reshape(params.temp, [1, h, 1]))), 3); // [b, h, t, 1]
    if (keep) pi = tf.mul(pi, keep);
    const sumPiSq = prefixSum(tf.mul(pi, sq), prefix.sumPiSq); // [b, h, t, p]
    const sumPi = prefixSum(pi, prefix.sumPi); // [b, h, t, 1]
    const dots = tf.div(sumPiSq, tf.add(sumPi, 1e-8));
    let y = tf.neg(tf.div(tf.mul(w, pi), tf.add(dots, 1))); // [b, h, t, p]
    const count = prefixSum(keep ?? tf.ones([1, 1, t, 1]), prefix.count); // [b | 1, 1, t, 1]
    if (options.form === 'paper') y = tf.div(y, tf.maximum(count, 1));
    const countLast = tf.broadcastTo(lastToken(count), prefix.count.shape);
    return [y, lastToken(sumSq), lastToken(sumPiSq), lastToken(sumPi), countLast] as Tensor4D[];
  });
  return { y, prefix: { sumSq, sumPiSq, sumPi, count } };
}
