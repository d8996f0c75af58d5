/** The TSSA form and the operator's learned state, shared by the op path and the WGSL programs. */
import type { Tensor1D, Tensor2D } from '@tensorflow/tfjs-core';

/** `code`: the reference implementation (default); `paper`: the paper's formula (see header). */
export type TostForm = 'code' | 'paper';

/** The operator's learned state. */
export interface TostParameters {
  /** Per-head temperature of Π, `[h]` (initialised to 1). */
  readonly temp: Tensor1D;
  /** Causal per-position bias, `[h, L]` (initialised to 0); required by the causal code form. */
  readonly denomBias?: Tensor2D;
}
