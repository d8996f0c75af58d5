/**
 * Streaming decoding for causal TSSA: the state is the prefix statistics Σw², ΣΠw², ΣΠ (and
 * the token count), `[b, h, 1, p]` at most, plus, with `tokenShift` s, the last s raw w
 * `[b, h, s, p]` — O(h·p·(s + 1)) and constant memory, whatever the prefix length. Each step is
 * `shiftTokens` and `tssaCausal` continued from the state, the same functions the full causal
 * pass runs from an empty state, so both agree token by token.
 *
 * Shape legend: b batch, h heads, t new tokens, p head dim.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import type { AttentionDecoder, DecodingState } from '@swapformer/core';
import { emptyTostPrefix, tssaCausal, type TostPrefix } from './tost';
import { emptyShiftTail, shiftTokens } from './tokenShift';
import type { TostForm, TostParameters } from './tostParameters';

/** The prefix statistics after `length` tokens. */
export interface TostDecodingState extends DecodingState, TostPrefix {
  /** With a token shift: the last s raw w `[b, h, s, p]` (zeros before position 0). */
  readonly shiftTail?: Tensor4D;
}

export interface TostDecoderConfig {
  readonly heads: number;
  readonly headDim: number;
  readonly form: TostForm;
  readonly params: TostParameters;
  /** The token-shift kernel `[s + 1, h, p]` when the operator has `tokenShift` s > 0. */
  readonly shiftKernel?: Tensor3D;
  /** Throws when positions [start, start + t) do not fit the operator (denom_bias length, heads). */
  checkStep(w: Tensor4D, start: number): void;
}

function stateOf(length: number, prefix: TostPrefix, shiftTail?: Tensor4D): TostDecodingState {
  const tensors = [prefix.sumSq, prefix.sumPiSq, prefix.sumPi, prefix.count, ...(shiftTail ? [shiftTail] : [])];
  return { length, sumSq: prefix.sumSq, sumPiSq: prefix.sumPiSq, sumPi: prefix.sumPi, count: prefix.count, shiftTail, tensors };
}

/**
 * @example const decoder = createTostDecoder({ heads: 4, headDim: 16, form: 'code', params, checkStep: () => {} });
 */
export function createTostDecoder(config: TostDecoderConfig): AttentionDecoder<TostDecodingState> {
  return {
    initState: (batch) => {
      const { shiftKernel, heads, headDim } = config;
      const tail = shiftKernel ? emptyShiftTail(batch, heads, shiftKernel.shape[0] - 1, headDim) : undefined;
      return stateOf(0, emptyTostPrefix(batch, heads, headDim), tail);
    },
    // TSSA reads only w = q; k and v are accepted for the common contract and ignored.
    step(q, _k, _v, state) {
      config.checkStep(q, state.length);
      if (!config.shiftKernel) {
        const { y, prefix } = tssaCausal(q, config.params, state, state.length, { form: config.form });
        return { output: y, state: stateOf(state.length + q.shape[2], prefix) };
      }
      const { shifted, tail } = shiftTokens(q, config.shiftKernel, state.shiftTail!);
      try {
        const { y, prefix } = tssaCausal(shifted, config.params, state, state.length, { form: config.form });
        return { output: y, state: stateOf(state.length + q.shape[2], prefix, tail) };
      } catch (error) {
        tail.dispose();
        throw error;
      } finally {
        shifted.dispose();
      }
    },
    disposeState: (state) => tf.dispose([...state.tensors]),
  };
}
