/**
 * Performer FAVOR+ attention (Choromanski et al., "Rethinking Attention with Performers",
 * ICLR 2021, https://arxiv.org/abs/2009.14794).
 *
 *   O = D̂⁻¹ φ(Q) (φ(K)ᵀ [V, 1]),   D̂ = diag(φ(Q) φ(K)ᵀ 1)
 *
 * Non-causal: time O(n·m·(d + dv)), memory O(n·m + m·dv) per slice. Causal: the chunked prefix
 * scan of causalScan.ts, time O(n·m·dv + n·c·(m + dv)), memory O(c² + c·m + m·dv).
 *
 * Layout is the speed lever on tfjs-wasm (rank-2 matMul without transposes is ~15× faster
 * than batched or transposed products): k is transposed once for the whole call, ω is shared
 * by all heads, and each (b, h) slice runs plain rank-2 products. Slices come from `split`
 * (tfjs-wasm's Slice, which unstack uses, copies its whole source per call; see core's splitSlices).
 *
 * Shape legend: b batch, h heads, nq queries, nk keys, d = dk, dv value dim, e = dv + 1,
 * m random features, c chunk size.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import type { KernelContext } from '@swapformer/core';
import { isGpuBackend, splitSlices } from '@swapformer/kernels';
import { augmentKeys, augmentProjection, EMPTY_SHIFT, emptyPrefixSums, HIDDEN_LOGIT, scanCausal } from './causalScan';
import { keyFeaturesT, keyLogits, queryFeatures, scaledProjection } from './favorFeatures';
import { canRunFusedPerformer, fusedPerformerAttention } from './fusedPerformer';
import { canRunPerformerOnWebGpu, performerWebGpu } from './performerWebGpu';

export interface PerformerAttentionOptions {
  /** Logit scale s, default 1/sqrt(dk). */
  readonly scale?: number;
  /** Key j visible to query i iff j <= i + (nk − nq). */
  readonly causal?: boolean;
  /** `[b, nk]`, 1 keep / 0 hide. */
  readonly mask?: Tensor2D;
  /** ε added to every feature (relative to the stabilised maximum). */
  readonly epsilon: number;
  /** Tokens per chunk on the causal path. */
  readonly chunkSize: number;
  /**
   * `slices`: rank-2 products per (b, h) slice (fast on wasm/cpu); `batched`: one batched product
   * per step over every slice (GPU backends, where each small dispatch has a fixed cost).
   * Default: batched on backends other than wasm and cpu.
   */
  readonly layout?: 'slices' | 'batched';
  /**
   * Non-causal calls on wasm/cpu without a gradient tape run through core's fused CPU kernel
   * (fusedPerformer.ts). Default true; false forces the tfjs-op path (same result up to float
   * rounding).
   */
  readonly fused?: boolean;
}

/**
 * The causal scan's least chunk on GPU backends. Each chunk is a sequential step of ≈ 15
 * dispatches, and a dispatch costs tfjs-webgpu ≈ 0.15–0.25 ms of host work whatever its size, so
 * the 128-token default made n = 16,384 a 128-step chain (≈ 1 s a layer on an H100); chunks of
 * 1,024 cut the chain 8× while the intra-chunk [c, c] products stay small for the GPU.
 */
const GPU_MIN_SCAN_CHUNK = 1024;

function defaultLayout(): 'slices' | 'batched' {
  return isGpuBackend() ? 'batched' : 'slices';
}

/**
 * `[v, 1]`: the ones column turns φ(K)ᵀ[V, 1] into numerator and denominator at once.
 *
 * @example const v1 = appendOnes(v); // [b, h, n, dv + 1]
 */
export function appendOnes(v: Tensor4D): Tensor4D {
  const [b, h, n] = v.shape;
  return tf.tidy(() => tf.concat([v, tf.ones([b, h, n, 1])], 3) as Tensor4D);
}

/**
 * Splits `[.., e]` into numerator and denominator and divides. A zero denominator means every
 * weight was 0 (no visible key; features are positive), so the numerator is 0 too and the
 * floor turns 0/0 into 0.
 *
 * @example const out = normalizeRows(numDen); // [.., dv]
 */
export function normalizeRows<T extends Tensor>(numDen: T): T {
  return tf.tidy(() => {
    const r = numDen.rank;
    const [num, den] = tf.split(numDen, [numDen.shape[r - 1] - 1, 1], r - 1);
    return tf.div(num, tf.maximum(den, 1e-37)) as T;
  });
}

/**
 * Non-causal numerators|denominators φ(Q)(φ(K)ᵀ[V, 1]) of one slice (`[nq, d]`, `[d, nk]`,
 * `[nk, e]`) or of batched slices (`[bh, ..]`), keys stabilised by their slice's maximum.
 * `hidden` (`[.., 1, nk]`, 1 = padded) keys neither set the stabiliser nor weigh anything.
 */
function nonCausalNumDen(queries: Tensor, keysT: Tensor, values: Tensor, hidden: Tensor | undefined, p: { proj: Tensor2D; projT: Tensor2D; scale: number; epsilon: number }): Tensor {
  return tf.tidy(() => {
    const r = keysT.rank;
    const phiQ = queryFeatures(queries, p.projT, p.epsilon); // [.., nq, m]
    let { logitsT, keyMax } = keyLogits(keysT, p.proj, p.scale); // [.., m, nk], [.., 1, nk]
    if (hidden) {
      const bias = tf.mul(hidden, HIDDEN_LOGIT);
      [logitsT, keyMax] = [tf.add(logitsT, bias), tf.add(keyMax, bias)];
    }
    const shift = tf.maximum(tf.max(keyMax, [r - 2, r - 1], true), EMPTY_SHIFT); // [.., 1, 1]
    return tf.matMul(phiQ as Tensor2D, tf.matMul(keyFeaturesT(logitsT, keyMax, shift, p.epsilon) as Tensor2D, values as Tensor2D)); // [.., nq, e]
  });
}

/**
 * FAVOR+ attention with a given projection ω `[m, dk]` (shared by all heads).
 *
 * `kernels` (the container's settings and kernel resources) decide whether the WGSL programs and
 * the fused CPU kernel may run, and run them.
 *
 * @example const out = performerAttention(services.kernels, q, k, v, omega, { causal: true, epsilon: 1e-4, chunkSize: 128 });
 */
export function performerAttention(kernels: KernelContext, q: Tensor4D, k: Tensor4D, v: Tensor4D, projection: Tensor2D, options: PerformerAttentionOptions): Tensor4D {
  // WebGPU, non-causal, unmasked, no tape: 9 dispatches instead of the composition's 32.
  if (options.layout !== 'slices' && canRunPerformerOnWebGpu(kernels, options)) return performerWebGpu(q, k, v, projection, options);
  if (options.fused !== false && canRunFusedPerformer(kernels, q, k, v, options)) return fusedPerformerAttention(kernels, q, k, v, projection, options);
  if ((options.layout ?? defaultLayout()) === 'batched') return batchedPerformerAttention(q, k, v, projection, options);
  return tf.tidy(() => {
    const [b, h, nq, dk] = q.shape;
    const nk = k.shape[2];
    const dv = v.shape[3];
    const scale = options.scale ?? 1 / Math.sqrt(dk);
    const { proj, projT } = scaledProjection(projection, scale);
    const qs = splitSlices(tf.reshape(q, [b * h, nq, dk]), b * h); // [nq, d] each
    const kTs = splitSlices(tf.reshape(tf.transpose(k, [0, 1, 3, 2]), [b * h, dk, nk]), b * h); // [d, nk], transposed once
    const vs = splitSlices(tf.reshape(appendOnes(v), [b * h, nk, dv + 1]), b * h); // [nk, e]
    const hiddens = options.mask ? splitSlices(tf.reshape(tf.sub(1, tf.cast(options.mask, 'float32')), [b, 1, nk]), b) : null; // [1, nk]
    const projAug = options.causal ? augmentProjection(proj) : null;
    const outs: Tensor2D[] = [];
    for (let i = 0; i < b * h; i++) {
      outs.push(
        tf.tidy(() => {
          const hidden = hiddens ? hiddens[Math.floor(i / h)] : undefined;
          if (projAug) {
            const initial = emptyPrefixSums(null, projection.shape[0], dv + 1);
            const scan = scanCausal(initial, { queries: qs[i], keysT: augmentKeys(kTs[i], scale, hidden), values: vs[i] }, { ...options, projAug, projT });
            tf.dispose([initial.sums, initial.shift, scan.state.sums, scan.state.shift]);
            return scan.output as Tensor2D; // [nq, e]
          }
          return nonCausalNumDen(qs[i], kTs[i], vs[i], hidden, { proj, projT, scale, epsilon: options.epsilon }) as Tensor2D; // [nq, e]
        }),
      );
    }
    return normalizeRows(tf.reshape(tf.stack(outs), [b, h, nq, dv + 1]) as Tensor4D);
  });
}

/**
 * The same computation with every (b, h) slice in one batched product per step: ω broadcast
 * over the slices, the stabiliser taken per slice (as on the per-slice path), the causal scan
 * run on `[b·h, ..]` tensors.
 *
 * @example const out = batchedPerformerAttention(q, k, v, omega, { epsilon: 1e-4, chunkSize: 128 });
 */
export function batchedPerformerAttention(q: Tensor4D, k: Tensor4D, v: Tensor4D, projection: Tensor2D, options: PerformerAttentionOptions): Tensor4D {
  return tf.tidy(() => {
    const [b, h, nq, dk] = q.shape;
    const nk = k.shape[2];
    const dv = v.shape[3];
    const scale = options.scale ?? 1 / Math.sqrt(dk);
    const { proj, projT } = scaledProjection(projection, scale);
    const queries = tf.reshape(q, [b * h, nq, dk]);
    const keysT = tf.reshape(tf.transpose(k, [0, 1, 3, 2]), [b * h, dk, nk]);
    const values = tf.reshape(appendOnes(v), [b * h, nk, dv + 1]);
    const hidden = options.mask ? tf.reshape(tf.tile(tf.reshape(tf.sub(1, tf.cast(options.mask, 'float32')), [b, 1, 1, nk]), [1, h, 1, 1]), [b * h, 1, nk]) : undefined;
    let numDen: Tensor; // [bh, nq, e]
    if (options.causal) {
      const initial = emptyPrefixSums(b * h, projection.shape[0], dv + 1);
      const chunkSize = isGpuBackend() ? Math.max(options.chunkSize, GPU_MIN_SCAN_CHUNK) : options.chunkSize;
      const scan = scanCausal(initial, { queries, keysT: augmentKeys(keysT, scale, hidden), values }, { ...options, chunkSize, projAug: augmentProjection(proj), projT });
      numDen = scan.output;
    } else {
      numDen = nonCausalNumDen(queries, keysT, values, hidden, { proj, projT, scale, epsilon: options.epsilon });
    }
    return normalizeRows(tf.reshape(numDen, [b, h, nq, dv + 1]) as Tensor4D);
  });
}
