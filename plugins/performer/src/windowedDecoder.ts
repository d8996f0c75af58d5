/**
 * Recurrent decoding for the sliding-window hybrid: the state is the linear sums of every key
 * older than the window (as in performerDecoder.ts) plus the last w keys and values, which the
 * window reads exactly. A step runs the hybrid's forward on [window keys, new keys] with the sums
 * as its prefix, then folds the keys that fell out of the window into the sums — so decoding
 * equals the full causal forward, at O(w·d + F·(d + dv)) per token and head.
 *
 * The window is kept as a sliding buffer (concat, then drop the oldest): a ring buffer's
 * bookkeeping without in-place writes, which tfjs tensors do not have.
 *
 * Shape legend: b batch, h heads, t new tokens, d = dk, dv value dim, e = dv + 1, F features.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import type { AttentionContext, AttentionDecoder, DecodingState } from '@swapformer/core';
import { appendOnes, normalizeRows } from './performer';
import { addPrefixSums, emptyPrefixSums, type PrefixSums } from './causalScan';
import { windowBlock, windowedNumDen, type WindowFeatureMap } from './windowedAttention';

export interface WindowedDecodingState extends DecodingState {
  /** Linear sums of the keys older than the window, `[b·h, F, e]` and shift `[b·h, 1, 1]`. */
  readonly prefix: PrefixSums;
  /** The last ≤ w keys `[b·h, L, d]` and values with a ones column `[b·h, L, e]` (null before the first token). */
  readonly keys: Tensor3D | null;
  readonly values: Tensor3D | null;
  /** FAVOR+'s ω, fixed by the first step (null for the learned map or before the first step). */
  readonly projection: Tensor2D | null;
}

export interface WindowedDecoderConfig {
  readonly heads: number;
  readonly features: number;
  readonly valueDim: number;
  readonly window: number;
  readonly chunkSize: number;
  /** ω the first step fixes for the sequence (FAVOR+), or null (learned map). */
  resolveProjection?(ctx: Omit<AttentionContext, 'causal' | 'mask'>): Tensor2D;
  /** The map for a step: its ω (FAVOR+) or null, the scale and the batch. Called inside a tidy. */
  makeMap(projection: Tensor2D | null, scale: number, batch: number): WindowFeatureMap;
}

/**
 * @example const decoder = createWindowedDecoder({ heads: 4, features: 266, valueDim: 64, window: 64, chunkSize: 128, resolveProjection, makeMap: (p, s) => favorWindowMap(p!, s, 1e-4) });
 */
export function createWindowedDecoder(config: WindowedDecoderConfig): AttentionDecoder<WindowedDecodingState> {
  const width = config.valueDim + 1;
  return {
    initState(batch) {
      const prefix = emptyPrefixSums(batch * config.heads, config.features, width);
      return { length: 0, prefix, keys: null, values: null, projection: null, tensors: [prefix.sums, prefix.shift] };
    },
    step(q, k, v, state, ctx) {
      // Every state holds its own handle on ω (a clone shares the data), as in performerDecoder.ts.
      const resolved = state.projection ?? config.resolveProjection?.(ctx) ?? null;
      const projection = resolved ? tf.clone(resolved) : null;
      const [b, h, t, d] = q.shape;
      const scale = ctx.scale ?? 1 / Math.sqrt(d);
      const result = tf.tidy(() => {
        const map = config.makeMap(projection, scale, b);
        const newValues = tf.reshape(appendOnes(v), [b * h, t, width]) as Tensor3D;
        const keys = join(state.keys, tf.reshape(k, [b * h, t, d]) as Tensor3D);
        const values = join(state.values, newValues);
        const queries = tf.reshape(q, [b * h, t, d]) as Tensor3D;
        const numDen = windowedNumDen({ queries, keys, values }, map, { window: config.window, block: windowBlock(config.window, config.chunkSize), causal: true, scale }, state.prefix);
        const output = tf.reshape(normalizeRows(numDen), [b, h, t, config.valueDim]) as Tensor4D;
        // Keys no longer inside the window of the next token leave the buffer for the sums.
        const total = keys.shape[1];
        const leaving = Math.max(0, total - (config.window - 1));
        let prefix = state.prefix;
        if (leaving > 0) {
          const old = map.keyBlock(tf.slice(keys, [0, 0, 0], [-1, leaving, -1]) as Tensor3D, undefined);
          prefix = addPrefixSums(state.prefix, { sums: tf.matMul(old.phiKT, tf.slice(values, [0, 0, 0], [-1, leaving, -1])), shift: old.shift });
        }
        const kept = total - leaving;
        const buffer = kept > 0 ? [tf.slice(keys, [0, leaving, 0], [-1, kept, -1]) as Tensor3D, tf.slice(values, [0, leaving, 0], [-1, kept, -1]) as Tensor3D] : [];
        // a fresh handle even when nothing left the window: the old state is disposed on its own
        return { output, sums: tf.clone(prefix.sums), shift: tf.clone(prefix.shift), buffer };
      });
      const [bufferKeys, bufferValues] = result.buffer;
      const held: Tensor[] = [result.sums, result.shift, ...result.buffer, ...(projection ? [projection] : [])];
      const next: WindowedDecodingState = {
        length: state.length + t,
        prefix: { sums: result.sums, shift: result.shift },
        keys: bufferKeys ?? null,
        values: bufferValues ?? null,
        projection,
        tensors: held,
      };
      return { output: result.output, state: next };
    },
    disposeState: (state) => tf.dispose([...state.tensors]),
  };
}

/** `[old, new]` along the token axis (old may be empty). */
function join(old: Tensor3D | null, fresh: Tensor3D): Tensor3D {
  return old ? (tf.concat([old, fresh], 1) as Tensor3D) : fresh;
}
