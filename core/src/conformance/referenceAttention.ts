import type { Tensor } from '@tensorflow/tfjs-core';

/** A dense float64 array with its shape (row-major). */
export interface Float64Tensor {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

/** Copies a tfjs tensor to float64 (synchronously). */
export function toFloat64(t: Tensor): Float64Tensor {
  return { shape: t.shape.slice(), data: Float64Array.from(t.dataSync()) };
}

/**
 * Exact softmax attention in plain JS float64 — the ground truth for small cases.
 * Same semantics as the operators: causal keeps j <= i + (nk − nq); mask `[b, nk]` hides keys
 * with 0; rows with no visible key give 0.
 */
export function referenceAttention(
  q: Float64Tensor,
  k: Float64Tensor,
  v: Float64Tensor,
  options: { scale?: number; causal?: boolean; mask?: Float64Tensor } = {},
): Float64Tensor {
  const [b, h, nq, dk] = q.shape;
  const nk = k.shape[2];
  const dv = v.shape[3];
  const scale = options.scale ?? 1 / Math.sqrt(dk);
  const out = new Float64Array(b * h * nq * dv);
  const logits = new Float64Array(nk);
  for (let bi = 0; bi < b; bi++) {
    for (let hi = 0; hi < h; hi++) {
      const slice = bi * h + hi;
      for (let i = 0; i < nq; i++) {
        let max = -Infinity;
        for (let j = 0; j < nk; j++) {
          const hidden = (options.causal && j > i + (nk - nq)) || (options.mask && options.mask.data[bi * nk + j] === 0);
          if (hidden) {
            logits[j] = -Infinity;
            continue;
          }
          let dot = 0;
          for (let c = 0; c < dk; c++) dot += q.data[(slice * nq + i) * dk + c] * k.data[(slice * nk + j) * dk + c];
          logits[j] = dot * scale;
          if (logits[j] > max) max = logits[j];
        }
        if (max === -Infinity) continue;
        let z = 0;
        for (let j = 0; j < nk; j++) {
          logits[j] = logits[j] === -Infinity ? 0 : Math.exp(logits[j] - max);
          z += logits[j];
        }
        for (let j = 0; j < nk; j++) {
          const w = logits[j] / z;
          if (w === 0) continue;
          for (let c = 0; c < dv; c++) out[(slice * nq + i) * dv + c] += w * v.data[(slice * nk + j) * dv + c];
        }
      }
    }
  }
  return { shape: [b, h, nq, dv], data: out };
}
