/** Options of the KDEformer math (kdeformer.ts and its fused, device and causal paths), in a file of their own so those paths need not import each other. */
import type { Tensor2D } from '@tensorflow/tfjs-core';

export interface KdeformerAttentionOptions {
  /** Keys per block of the exact block-diagonal part (the option b). */
  readonly blockSize: number;
  /** Importance samples for the off-block residual; 0 skips it (the option m). */
  readonly samples: number;
  /** Hyperplanes of the angular LSH, 2^r buckets (the option r). */
  readonly projections: number;
  /** Seed of the hyperplanes and of the power-iteration start. */
  readonly seed: number;
  /** Seed of the residual samples (default: `seed`). */
  readonly sampleSeed?: number;
  /** Logit scale s, default 1/sqrt(dk). */
  readonly scale?: number;
  /** `[b, nk]` key-padding mask, 1 keep / 0 hide: hidden keys take no part at all. */
  readonly mask?: Tensor2D;
  /**
   * Without a gradient tape on wasm/cpu, run each slice's blocks and samples through core's
   * fused CPU kernel (fusedKdeformer.ts). Default true; false forces the tfjs-op path (same
   * result up to float rounding).
   */
  readonly fused?: boolean;
}

/** Options of `causalKdeformerAttention` (host and device forms). */
export interface CausalKdeformerOptions extends KdeformerAttentionOptions {
  /** Blocks of at most this many keys use exact causal attention (the recursion's leaves). */
  readonly exactBlock: number;
}
