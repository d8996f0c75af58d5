/**
 * Recurrent decoding for causal FAVOR+: the state is the running sums S = Σ φ(k_j)[v_j, 1]ᵀ
 * (`[b·h, m, dv + 1]`, z is its last column) and the running key maximum, so each new token
 * costs O(m·(d + dv)) per head whatever the prefix length — no kv-cache.
 *
 * All slices are folded at once with batched products: per token the work is tiny and the op
 * count, not the FLOP rate, is what matters. The chunk products are the ones the full causal
 * pass runs per slice, so decoding equals the full pass token by token.
 *
 * Shape legend: b batch, h heads, t new tokens, d = dk, dv value dim, e = dv + 1, m features.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import type { AttentionContext, AttentionDecoder, DecodingState } from '@swapformer/core';
import { augmentKeys, augmentProjection, emptyPrefixSums, scanCausal } from './causalScan';
import { scaledProjection } from './favorFeatures';
import { appendOnes, normalizeRows } from './performer';

/** Running sums plus the projection the sequence was started with. */
export interface PerformerDecodingState extends DecodingState {
  /** `[b·h, m, e]`. */
  readonly sums: Tensor3D;
  /** `[b·h, 1, 1]` running key maximum. */
  readonly shift: Tensor3D;
  /** ω `[m, dk]` fixed for the whole sequence (null until the first step). */
  readonly projection: Tensor2D | null;
}

/** What the decoder needs from its operator. */
export interface PerformerDecoderConfig {
  readonly heads: number;
  readonly features: number;
  readonly valueDim: number;
  readonly epsilon: number;
  readonly chunkSize: number;
  /** The projection a call with this context uses (may redraw, per the redraw policy). */
  resolveProjection(ctx: Omit<AttentionContext, 'causal' | 'mask'>): Tensor2D;
}

/**
 * @example const decoder = createPerformerDecoder({ heads: 4, features: 266, valueDim: 64, epsilon: 1e-4, chunkSize: 128, resolveProjection: () => omega });
 */
export function createPerformerDecoder(config: PerformerDecoderConfig): AttentionDecoder<PerformerDecodingState> {
  const width = config.valueDim + 1;
  return {
    initState(batch) {
      const { sums, shift } = emptyPrefixSums(batch * config.heads, config.features, width);
      return { length: 0, sums: sums as Tensor3D, shift: shift as Tensor3D, projection: null, tensors: [sums, shift] };
    },
    step(q, k, v, state, ctx) {
      // The first token fixes ω for the sequence. Every state holds its own handle (a clone
      // shares the data), so disposing the previous state leaves this one intact.
      const projection = tf.clone(state.projection ?? config.resolveProjection(ctx));
      const [b, h, t, dk] = q.shape;
      const scale = ctx.scale ?? 1 / Math.sqrt(dk);
      const result = tf.tidy(() => {
        const { proj, projT } = scaledProjection(projection, scale);
        const queries = tf.reshape(q, [b * h, t, dk]);
        const keysT = augmentKeys(tf.transpose(tf.reshape(k, [b * h, t, dk]), [0, 2, 1]), scale); // [bh, d + 1, t], small
        const values = tf.reshape(appendOnes(v), [b * h, t, width]);
        const options = { projAug: augmentProjection(proj), projT, epsilon: config.epsilon, chunkSize: config.chunkSize };
        const scan = scanCausal({ sums: state.sums, shift: state.shift }, { queries, keysT, values }, options);
        const output = tf.reshape(normalizeRows(scan.output), [b, h, t, config.valueDim]) as Tensor4D;
        return { output, sums: scan.state.sums as Tensor3D, shift: scan.state.shift as Tensor3D };
      });
      const next: PerformerDecodingState = {
        length: state.length + t,
        sums: result.sums,
        shift: result.shift,
        projection,
        tensors: [result.sums, result.shift, projection],
      };
      return { output: result.output, state: next };
    },
    disposeState: (state) => tf.dispose([...state.tensors]),
  };
}
