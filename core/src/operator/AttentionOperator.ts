import type { Tensor, Tensor2D, Tensor4D, Variable } from '@tensorflow/tfjs-core';

/**
 * Per-call context of an attention forward.
 *
 * Shape legend used across the project: `b` batch, `h` heads, `nq` queries, `nk` keys,
 * `dk` query/key head dim, `dv` value head dim.
 */
export interface AttentionContext {
  /** Key j is visible to query i only if `j <= i + (nk - nq)` (queries aligned to the end of the keys). */
  readonly causal: boolean;
  /** Key-padding mask `[b, nk]`: 1 keeps a key, 0 hides it. Never silently ignored. */
  readonly mask?: Tensor2D;
  /** Logit scale; defaults to `1 / sqrt(dk)`. */
  readonly scale?: number;
  /** Seed of this call; randomized operators must be deterministic given it. */
  readonly seed?: number;
  /** Index of the layer making the call (for per-layer seeds and error messages). */
  readonly layerIndex?: number;
  /** True while training (operators may redraw features, use dropout, ...). */
  readonly training?: boolean;
  /** Counter of calls made to this operator instance so far (for per-call redraw policies). */
  readonly callIndex?: number;
}

/** The geometry an operator instance is created for: one per layer in a model graph. */
export interface OperatorGeometry {
  /** Query heads. */
  readonly heads: number;
  /**
   * Key/value heads (grouped-query attention: each k/v head serves heads / kvHeads query heads;
   * 1 = multi-query). Defaults to heads. Only a plugin declaring `capabilities.groupedKeyValues`
   * is created with fewer; any other gets k/v repeated to `heads` by the model, which records it.
   */
  readonly kvHeads?: number;
  /** Query/key head dimension. */
  readonly headDim: number;
  /** Value head dimension (defaults to headDim). */
  readonly valueDim?: number;
  /** Model width (heads × headDim for standard blocks). */
  readonly modelDim?: number;
  /** Longest sequence the instance must handle (causal TOST sizes its per-position bias by it). */
  readonly maxSeqLen?: number;
  /** Layer index inside the model, for seeds and names. */
  readonly layerIndex?: number;
}

/**
 * State that an operator instance owns: trainable parameters (TOST's temperatures) or fixed
 * buffers (Performer's random projection). The model graph names each one
 * `<layer prefix>.operator.<name>`, so checkpoint loading knows exactly which keys an operator owns.
 */
export interface OperatorParameter {
  readonly name: string;
  readonly variable: Variable;
  readonly trainable: boolean;
}

/**
 * Immutable decoding state (kv-cache or recurrent running sums). `step` returns a new state and
 * leaves the old one valid until the caller disposes it — no hidden mutation.
 */
export interface DecodingState {
  /** Number of tokens folded into the state so far. */
  readonly length: number;
  /** The tensors the state holds (for leak accounting and disposal). */
  readonly tensors: readonly Tensor[];
}

/** Result of one decoding step. */
export interface DecodingStep<S extends DecodingState = DecodingState> {
  /** `[b, h, t, dv]` outputs for the t new tokens. */
  readonly output: Tensor4D;
  readonly state: S;
}

/**
 * Incremental (autoregressive) decoding, offered by operators that declare
 * `capabilities.decoding` other than `'none'`.
 */
export interface AttentionDecoder<S extends DecodingState = DecodingState> {
  /** An empty state for `batch` sequences. */
  initState(batch: number): S;
  /**
   * Fold t new tokens (`q, k, v: [b, h, t, d]`, causal among themselves) into the state and
   * return their outputs; equals the full causal forward over the whole prefix.
   */
  step(q: Tensor4D, k: Tensor4D, v: Tensor4D, state: S, ctx: Omit<AttentionContext, 'causal' | 'mask'>): DecodingStep<S>;
  /** Releases the state's tensors. */
  disposeState(state: S): void;
}

/**
 * One configured attention operator instance.
 *
 * `forward` takes `q: [b, h, nq, dk]`, `k: [b, h, nk, dk]`, `v: [b, h, nk, dv]` and returns
 * `[b, h, nq, dv]`. It must not keep references to its inputs or leak intermediates.
 * Operators with `capabilities.projections === 'q-only'` (TOST) read only `q`; k and v may be
 * the same tensor as q.
 */
export interface AttentionOperator {
  /** The plugin name (`meta.name`) this instance came from. */
  readonly name: string;
  forward(q: Tensor4D, k: Tensor4D, v: Tensor4D, ctx: AttentionContext): Tensor4D;
  /** Present iff the plugin declares a decoding capability. */
  readonly decoder?: AttentionDecoder;
  /** The state this instance owns (empty for stateless operators). */
  parameters(): readonly OperatorParameter[];
  /** Releases owned state. */
  dispose(): void;
}
