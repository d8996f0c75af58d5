import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import { activeWebGpuDevice, type KernelContext } from '@swapformer/core';
import { splitSlices } from './splitSlices';
import { causalBiasBlock, causalBlockHidden, MASKED_LOGIT, paddingBias } from './attentionBias';
import { isGpuBackend } from './gpuBackend';
import { canUseWebGpuFusedAttention, fusedWebGpuAttention } from './webgpu/fusedWebGpuAttention';
import { fusedKernelApplies, fusedSoftmaxAttention } from './wasm/fusedSoftmaxAttention';

/**
 * Softmax attention kernels shared by every operator that ends in exact attention
 * (the exact plugin, and the coreset/selection methods).
 *
 * On the CPU backends (wasm, cpu) every entry point runs the fused WebAssembly SIMD kernel
 * (wasm/fusedAttentionModule.ts: online softmax, O(n·d) memory, worker threads) unless a
 * gradient tape is recording — it reads its inputs to the CPU, so autodiff cannot see through
 * it; tf.grad / tf.variableGrads get the tfjs-op kernels below, which have the same semantics.
 * Profiled on tfjs-wasm, h 4, d 64, n 4096 (one thread): the op composition spends ~90% in
 * BatchMatMul (~15 GFLOP/s, the `[n, n]` score matrix written and read back) and ~10% in
 * Softmax; the fused kernel runs both products and the softmax at ~16–20 GFLOP/s per thread.
 *
 * For the tfjs-op kernels, layout is the main speed lever on tfjs-wasm: rank-2 matMul without
 * transposes runs ~10× faster than batched or transposeB matMul, so K is transposed once and
 * each (b, h) slice is computed with plain rank-2 products.
 *
 * Shapes: q [b, h, nq, dk], k [b, h, nk, dk], v [b, h, nk, dv] → [b, h, nq, dv].
 */
export interface SoftmaxAttentionOptions {
  /** Logit scale, default 1/sqrt(dk). */
  readonly scale?: number;
  /** Key j visible to query i iff j <= i + (nk − nq). */
  readonly causal?: boolean;
  /** `[b, nk]`, 1 keep / 0 hide. */
  readonly mask?: Tensor2D;
  /** Query rows per block in the chunked path (default 1024). */
  readonly queryBlock?: number;
  /** Keys per block in the chunked path (default 1024). */
  readonly keyBlock?: number;
  /**
   * Use a fused kernel where it applies: the WebAssembly one on wasm/cpu, the WebGPU flash program on
   * webgpu once enabled (kernel setting `webGpuFusedAttention`); float32, no gradient tape. Default true;
   * false forces the tfjs-op path (same results up to float rounding).
   */
  readonly fused?: boolean;
}

/** True when this call can take the fused CPU kernel. */
function useFused(kernels: KernelContext, q: Tensor4D, k: Tensor4D, v: Tensor4D, options: SoftmaxAttentionOptions): boolean {
  return options.fused !== false && fusedKernelApplies(kernels, q, k, v);
}

interface Slices {
  readonly q: Tensor2D[]; // scaled, [nq, dk] each
  readonly kT: Tensor2D[]; // [dk, nk]
  readonly v: Tensor2D[]; // [nk, dv]
}

/** `[count, rows, cols]` → count `[rows, cols]` slices (see splitSlices for why not unstack). */
function unstackSlices(x: Tensor, count: number, rows: number, cols: number): Tensor2D[] {
  return splitSlices(tf.reshape(x, [count, rows, cols]), count);
}

function toSlices(q: Tensor4D, k: Tensor4D, v: Tensor4D, scale: number): Slices {
  const [b, h, nq, dk] = q.shape;
  const nk = k.shape[2];
  const dv = v.shape[3];
  const qs = unstackSlices(tf.mul(q, scale), b * h, nq, dk);
  const kT = unstackSlices(tf.transpose(k, [0, 1, 3, 2]), b * h, dk, nk);
  const vs = unstackSlices(v, b * h, nk, dv);
  return { q: qs, kT, v: vs };
}

function resolveScale(q: Tensor4D, scale?: number): number {
  return scale ?? 1 / Math.sqrt(q.shape[3]);
}

/** Rows with no visible key output 0 instead of an average over hidden keys. */
function zeroHiddenRows(out: Tensor2D, bias: Tensor | null): Tensor2D {
  if (bias === null) return out;
  const best = tf.max(bias, -1, true); // [nq, 1] or [1]
  return tf.mul(out, tf.cast(tf.greater(best, MASKED_LOGIT / 2), 'float32')) as Tensor2D;
}

/** Bytes of one `[h, rows, nk]` score block on the GPU path (well under WebGPU's 2 GiB binding limit). */
export const ROW_BLOCK_BYTES = 2 ** 29;

/**
 * The score-block budget on the active backend: ROW_BLOCK_BYTES, or less where the device binds
 * less at once (WebGPU's maxStorageBufferBindingSize: 2 GiB on the H100, 128 MiB on lavapipe and
 * on many integrated GPUs). A larger block would make an invalid bind group, whose dispatch Dawn
 * skips with a printed warning: the output would be garbage, not an error.
 */
export function scoreBlockBytes(): number {
  const limit = activeWebGpuDevice()?.limits?.maxStorageBufferBindingSize;
  return typeof limit === 'number' && limit > 0 ? Math.min(ROW_BLOCK_BYTES, limit) : ROW_BLOCK_BYTES;
}


/**
 * All heads of a batch row at once, `rows` queries against every key per step: one batched
 * matMul, the native softmax over full rows, one batched matMul. Rows per step are chosen so a
 * `[h, rows, nk]` block stays within `blockBytes` (scoreBlockBytes()), which is what lets webgpu run n = 65536
 * (the whole `[h, n, n]` tensor would exceed its 2 GiB storage-binding limit).
 *
 * @example const out = rowBlockSoftmaxAttention(q, k, v, { causal: true }); // any backend
 */
export function rowBlockSoftmaxAttention(q: Tensor4D, k: Tensor4D, v: Tensor4D, options: SoftmaxAttentionOptions, blockBytes = scoreBlockBytes()): Tensor4D {
  const [b, h, nq, dk] = q.shape;
  const nk = k.shape[2];
  const dv = v.shape[3];
  const rowsPerStep = Math.max(1, Math.min(nq, Math.floor(blockBytes / (4 * h * nk))));
  const scale = resolveScale(q, options.scale);
  if (4 * b * h * nq * nk <= blockBytes) return wholeBatchSoftmaxAttention(q, k, v, options, scale);
  const rowsPerGroup = Math.floor(blockBytes / (4 * h * nq * nk));
  if (rowsPerGroup >= 1) return batchGroupSoftmaxAttention(q, k, v, options, scale, rowsPerGroup);
  return tf.tidy(() => {
    const qs = tf.mul(q, scale);
    const kT = tf.transpose(k, [0, 1, 3, 2]); // [b, h, dk, nk]
    const perBatch: Tensor[] = [];
    for (let bi = 0; bi < b; bi++) {
      const qb = tf.reshape(tf.slice(qs, [bi, 0, 0, 0], [1, h, nq, dk]), [h, nq, dk]);
      const kb = tf.reshape(tf.slice(kT, [bi, 0, 0, 0], [1, h, dk, nk]), [h, dk, nk]);
      const vb = tf.reshape(tf.slice(v, [bi, 0, 0, 0], [1, h, nk, dv]), [h, nk, dv]);
      const pad = options.mask ? paddingBias(options.mask, bi) : null; // [nk]
      const steps: Tensor[] = [];
      for (let q0 = 0; q0 < nq; q0 += rowsPerStep) {
        const rows = Math.min(rowsPerStep, nq - q0);
        steps.push(
          tf.tidy(() => {
            let logits: Tensor = tf.matMul(rows === nq ? qb : tf.slice(qb, [0, q0, 0], [h, rows, dk]), kb); // [h, rows, nk]
            const causal = options.causal ? causalBiasBlock(q0, rows, 0, nk, nk - nq) : null; // [rows, nk]
            const bias = causal && pad ? tf.add(causal, pad) : (causal ?? pad);
            if (bias) logits = tf.add(logits, bias);
            const out = tf.matMul(tf.softmax(logits), vb); // [h, rows, dv]
            if (!bias) return out;
            const visible = tf.cast(tf.greater(tf.max(bias.rank === 1 ? tf.reshape(bias, [1, nk]) : bias, -1, true), MASKED_LOGIT / 2), 'float32'); // [rows | 1, 1]
            return tf.mul(out, visible);
          }),
        );
      }
      perBatch.push(steps.length === 1 ? steps[0] : tf.concat(steps, 1));
    }
    return tf.reshape(tf.stack(perBatch), [b, h, nq, dv]) as Tensor4D;
  });
}

/**
 * Groups of whole batch rows, each group's `[g, h, nq, nk]` scores within the block budget: a
 * training batch of 256 images × 785 pixel tokens runs as 2 groups, not 256 per-row loops (whose
 * thousands of small dispatches, forward and backward, dominated a webgpu training step).
 */
function batchGroupSoftmaxAttention(q: Tensor4D, k: Tensor4D, v: Tensor4D, options: SoftmaxAttentionOptions, scale: number, rowsPerGroup: number): Tensor4D {
  const b = q.shape[0];
  const groups = Math.ceil(b / rowsPerGroup);
  const size = Math.ceil(b / groups); // balanced groups
  return tf.tidy(() => {
    const outs: Tensor4D[] = [];
    for (let b0 = 0; b0 < b; b0 += size) {
      const rows = Math.min(size, b - b0);
      const part = (x: Tensor4D) => tf.slice(x, [b0, 0, 0, 0], [rows, -1, -1, -1]) as Tensor4D;
      const mask = options.mask ? tf.slice(options.mask, [b0, 0], [rows, -1]) : undefined;
      outs.push(wholeBatchSoftmaxAttention(part(q), part(k), part(v), { ...options, mask }, scale));
    }
    return tf.concat(outs, 0) as Tensor4D;
  });
}

/**
 * Every (batch, head) slice in one batched product when the whole `[b, h, nq, nk]` score tensor
 * fits the block budget: on GPU backends one dispatch per op beats a loop over batch rows
 * (training batches of many short sequences).
 */
function wholeBatchSoftmaxAttention(q: Tensor4D, k: Tensor4D, v: Tensor4D, options: SoftmaxAttentionOptions, scale: number): Tensor4D {
  const [b, , nq] = q.shape;
  const nk = k.shape[2];
  return tf.tidy(() => {
    let logits: Tensor = tf.matMul(tf.mul(q, scale), tf.transpose(k, [0, 1, 3, 2])); // [b, h, nq, nk]
    const causal = options.causal ? causalBiasBlock(0, nq, 0, nk, nk - nq) : null; // [nq, nk]
    const pad = options.mask ? tf.reshape(tf.mul(tf.sub(1, tf.cast(options.mask, 'float32')), MASKED_LOGIT), [b, 1, 1, nk]) : null;
    const bias = causal && pad ? tf.add(causal, pad) : (causal ?? pad);
    if (bias) logits = tf.add(logits, bias);
    const out = tf.matMul(tf.softmax(logits), v); // [b, h, nq, dv]
    if (!bias) return out as Tensor4D;
    const visible = tf.cast(tf.greater(tf.max(bias, -1, true), MASKED_LOGIT / 2), 'float32'); // [nq, 1] or [b, 1, nq | 1, 1]
    return tf.mul(out, visible) as Tensor4D;
  });
}

/**
 * Materialises the `[nq, nk]` score matrix per (b, h) slice. Fastest for moderate n.
 */
export function denseSoftmaxAttention(kernels: KernelContext, q: Tensor4D, k: Tensor4D, v: Tensor4D, options: SoftmaxAttentionOptions = {}): Tensor4D {
  if (useFused(kernels, q, k, v, options)) return fusedSoftmaxAttention(kernels, q, k, v, options);
  if (options.fused !== false && canUseWebGpuFusedAttention(kernels, q, v)) return fusedWebGpuAttention(q, k, v, options);
  if (isGpuBackend()) return rowBlockSoftmaxAttention(q, k, v, options);
  return tf.tidy(() => {
    const [b, h, nq] = q.shape;
    const nk = k.shape[2];
    const dv = v.shape[3];
    const s = toSlices(q, k, v, resolveScale(q, options.scale));
    const causal = options.causal ? causalBiasBlock(0, nq, 0, nk, nk - nq) : null;
    const outs: Tensor2D[] = [];
    for (let bi = 0; bi < b; bi++) {
      const pad = options.mask ? paddingBias(options.mask, bi) : null;
      const bias = causal && pad ? tf.add(causal, pad) : (causal ?? pad);
      for (let hi = 0; hi < h; hi++) {
        const i = bi * h + hi;
        let logits: Tensor2D = tf.matMul(s.q[i], s.kT[i]);
        if (bias) logits = tf.add(logits, bias) as Tensor2D;
        const out = tf.matMul(tf.softmax(logits), s.v[i]);
        outs.push(bias ? zeroHiddenRows(out as Tensor2D, bias.rank === 1 ? tf.reshape(bias, [1, nk]) : bias) : (out as Tensor2D));
      }
    }
    return tf.reshape(tf.stack(outs), [b, h, nq, dv]) as Tensor4D;
  });
}

/**
 * Online-softmax attention over key blocks (running max, running sum, running output), one
 * query block at a time: memory O(queryBlock × keyBlock) per slice, never `[nq, nk]`.
 * Equal to the dense kernel up to rounding. On the CPU backends it runs the fused kernel
 * (O(n·d) memory); on GPU backends, whole rows of scores in blocks of at most ROW_BLOCK_BYTES
 * when one row of every head fits, since per-block dispatches dominate there.
 */
export function chunkedSoftmaxAttention(kernels: KernelContext, q: Tensor4D, k: Tensor4D, v: Tensor4D, options: SoftmaxAttentionOptions = {}): Tensor4D {
  if (useFused(kernels, q, k, v, options)) return fusedSoftmaxAttention(kernels, q, k, v, options);
  if (options.fused !== false && canUseWebGpuFusedAttention(kernels, q, v)) return fusedWebGpuAttention(q, k, v, options);
  if (isGpuBackend() && 4 * q.shape[1] * k.shape[2] <= scoreBlockBytes()) return rowBlockSoftmaxAttention(q, k, v, options);
  const [b, h, nq, dk] = q.shape;
  const nk = k.shape[2];
  const dv = v.shape[3];
  const qBlock = Math.max(1, Math.min(options.queryBlock ?? 1024, nq));
  const kBlock = Math.max(1, Math.min(options.keyBlock ?? 1024, nk));
  const offset = nk - nq;
  const scale = resolveScale(q, options.scale);
  return tf.tidy(() => {
    const s = toSlices(q, k, v, scale);
    const outs: Tensor2D[] = [];
    for (let bi = 0; bi < b; bi++) {
      const pad = options.mask ? paddingBias(options.mask, bi) : null;
      for (let hi = 0; hi < h; hi++) {
        const i = bi * h + hi;
        const rows: Tensor2D[] = [];
        for (let q0 = 0; q0 < nq; q0 += qBlock) {
          const rowsHere = Math.min(qBlock, nq - q0);
          rows.push(
            tf.tidy(() => {
              const qb = tf.slice(s.q[i], [q0, 0], [rowsHere, dk]);
              let m: Tensor = tf.fill([rowsHere, 1], -1e30);
              let l: Tensor = tf.zeros([rowsHere, 1]);
              let acc: Tensor = tf.zeros([rowsHere, dv]);
              let anyVisible: Tensor = tf.zeros([rowsHere, 1]);
              for (let k0 = 0; k0 < nk; k0 += kBlock) {
                if (options.causal && causalBlockHidden(q0, rowsHere, k0, offset)) break;
                const cols = Math.min(kBlock, nk - k0);
                const next = tf.tidy(() => {
                  let logits: Tensor = tf.matMul(qb, tf.slice(s.kT[i], [0, k0], [dk, cols]));
                  const causalBias = options.causal ? causalBiasBlock(q0, rowsHere, k0, cols, offset) : null;
                  if (causalBias) logits = tf.add(logits, causalBias);
                  if (pad) logits = tf.add(logits, tf.slice(pad, [k0], [cols]));
                  const blockMax = tf.max(logits, 1, true);
                  const mNew = tf.maximum(m, blockMax);
                  const p = tf.exp(tf.sub(logits, mNew));
                  const correction = tf.exp(tf.sub(m, mNew));
                  const lNew = tf.add(tf.mul(l, correction), tf.sum(p, 1, true));
                  const accNew = tf.add(tf.mul(acc, correction), tf.matMul(p as Tensor2D, tf.slice(s.v[i], [k0, 0], [cols, dv])));
                  const visible = tf.maximum(anyVisible, tf.cast(tf.greater(blockMax, MASKED_LOGIT / 2), 'float32'));
                  return [mNew, lNew, accNew, visible];
                });
                tf.dispose([m, l, acc, anyVisible]);
                [m, l, acc, anyVisible] = next;
              }
              return tf.mul(tf.div(acc, l), anyVisible) as Tensor2D;
            }),
          );
        }
        outs.push(rows.length === 1 ? rows[0] : (tf.concat(rows, 0) as Tensor2D));
      }
    }
    return tf.reshape(tf.stack(outs), [b, h, nq, dv]) as Tensor4D;
  });
}

/** Scores per slice above which `softmaxAttention` switches to the chunked kernel (16 Mi floats = 64 MiB). */
export const DEFAULT_CHUNK_THRESHOLD = 4096 * 4096;

/**
 * Exact softmax attention; picks the chunked online-softmax kernel when a slice's score matrix
 * would exceed `chunkThreshold` entries.
 *
 * @example const out = softmaxAttention(services.kernels, q, k, v, { causal: true });
 */
export function softmaxAttention(
  kernels: KernelContext,
  q: Tensor4D,
  k: Tensor4D,
  v: Tensor4D,
  options: SoftmaxAttentionOptions & { readonly chunkThreshold?: number } = {},
): Tensor4D {
  const scores = q.shape[2] * k.shape[2];
  return scores > (options.chunkThreshold ?? DEFAULT_CHUNK_THRESHOLD)
    ? chunkedSoftmaxAttention(kernels, q, k, v, options)
    : denseSoftmaxAttention(kernels, q, k, v, options);
}
