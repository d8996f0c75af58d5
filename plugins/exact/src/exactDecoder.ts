import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import type { AttentionDecoder, DecodingState, KernelContext } from '@swapformer/core';
import { exactAttention, type ExactAttentionOptions } from './exactAttention';

/** kv-cache: every key and value seen so far, `[b, hkv, length, d]` — only the k/v heads under grouped-query attention (empty before the first token). */
export interface KvCacheState extends DecodingState {
  readonly k: Tensor4D | null;
  readonly v: Tensor4D | null;
}

/**
 * Incremental decoding with a kv-cache: new keys/values are appended, and the new queries
 * attend causally to the whole cache (queries aligned to the end of the keys).
 */
export function createExactDecoder(kernels: KernelContext, options: Omit<ExactAttentionOptions, 'causal' | 'mask'>): AttentionDecoder<KvCacheState> {
  return {
    initState: () => ({ length: 0, k: null, v: null, tensors: [] }),
    step(q, k, v, state, ctx) {
      const keys = state.k ? (tf.concat([state.k, k], 2) as Tensor4D) : tf.clone(k);
      const values = state.v ? (tf.concat([state.v, v], 2) as Tensor4D) : tf.clone(v);
      const output = exactAttention(kernels, q, keys, values, { ...options, scale: ctx.scale ?? options.scale, causal: true });
      return { output, state: { length: state.length + q.shape[2], k: keys, v: values, tensors: [keys, values] } };
    },
    disposeState: (state) => tf.dispose([...state.tensors]),
  };
}
