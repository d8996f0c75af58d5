/**
 * Streaming decoding for causal TSSA: the state is the prefix statistics Σw², ΣΠw², ΣΠ (and
 * the token count), `[b, h, 1, p]` at most — O(h·p) per token and constant memory, whatever the
 * prefix length. Each step is `tssaCausal` continued from the state, the same function the full
 * causal pass runs from an empty state, so both agree token by token.
 *
 * Shape legend: b batch, h heads, t new tokens, p head dim.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import type { AttentionDecoder, DecodingState } from '@swapformer/core';
import { emptyTostPrefix, tssaCausal, type TostPrefix } from './tost';
import type { TostForm, TostParameters } from './tostParameters';

/** The prefix statistics after `length` tokens. */
export interface TostDecodingState extends DecodingState, TostPrefix {}

export interface TostDecoderConfig {
  readonly heads: number;
  readonly headDim: number;
  readonly form: TostForm;
  readonly params: TostParameters;
  /** Throws when positions [start, start + t) do not fit the operator (denom_bias length, heads). */
  checkStep(w: Tensor4D, start: number): void;
}

function stateOf(length: number, prefix: TostPrefix): TostDecodingState {
  return { length, ...prefix, tensors: [prefix.sumSq, prefix.sumPiSq, prefix.sumPi, prefix.count] };
}

/**
 * @example const decoder = createTostDecoder({ heads: 4, headDim: 16, form: 'code', params, checkStep: () => {} });
 */
export function createTostDecoder(config: TostDecoderConfig): AttentionDecoder<TostDecodingState> {
  return {
    initState: (batch) => stateOf(0, emptyTostPrefix(batch, config.heads, config.headDim)),
    // TSSA reads only w = q; k and v are accepted for the common contract and ignored.
    step(q, _k, _v, state) {
      config.checkStep(q, state.length);
      const { y, prefix } = tssaCausal(q, config.params, state, state.length, { form: config.form });
      return { output: y, state: stateOf(state.length + q.shape[2], prefix) };
    },
    disposeState: (state) => tf.dispose([...state.tensors]),
  };
}
