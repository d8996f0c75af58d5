/** Options of the LevAttention math, in a file of their own so the host, device and WGSL paths need not import each other. */
import type { Tensor2D } from '@tensorflow/tfjs-core';
import type { SelectionRule } from './keySelection';

export interface LevAttentionOptions extends SelectionRule {
  /** Relative ridge: λ = ridge · trace(KᵀK) / dk (online scores: ridge · ‖first key‖²). */
  readonly ridge: number;
  /** Logit scale s, default 1/sqrt(dk). */
  readonly scale?: number;
  /** Key j visible to query i only if j ≤ i + nk − nq; selection then uses online scores. */
  readonly causal?: boolean;
  /** `[b, nk]` key-padding mask, 1 keep / 0 hide: hidden keys neither count in KᵀK nor get selected. */
  readonly mask?: Tensor2D;
  /**
   * Local window w (0 or absent: off): each query also attends to the keys at positions
   * t − w < j ≤ t (causal) or |t − j| < w, t = i + nk − nq, in the same softmax as the kept keys.
   */
  readonly localWindow?: number;
}
