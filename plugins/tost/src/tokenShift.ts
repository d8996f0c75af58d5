/**
 * Token shift for TSSA: a learned causal depthwise convolution along the token axis that mixes
 * each token's w with the w of the `s` tokens before it, per head and feature:
 *
 *   w'[h, t, c] = Σ_{j=0…s} κ[j, h, c] · w[h, t − j, c]        (w before position 0 is 0)
 *
 * Causal TSSA alone moves no content between positions: its output at t is w_t rescaled by
 * prefix second moments, so a model built on it predicts from the current token only. The shift
 * gives the operator (and the layers above) the previous tokens' content, as RWKV's token shift
 * and the short convolutions of Based / H3 / Mamba do for their linear recurrences.
 *
 * Shape legend: b batch, h heads, t tokens, p head dim, s shift (tokens looked back).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';

/**
 * The initial kernel `[s + 1, h, p]`: RWKV's ramp on the previous token (feature c of every head
 * takes the fraction c / p of w_{t−1} and the rest of w_t), 0 further back. Each head thus starts
 * with features ranging from "this token" to "mostly the previous one", so the content path
 * exists from the first step; with s = 0 it is the identity (plain TSSA).
 *
 * @example const kernel = initialShiftKernel(1, 4, 16);
 */
export function initialShiftKernel(shift: number, heads: number, headDim: number): Tensor3D {
  const values = new Float32Array((shift + 1) * heads * headDim);
  for (let h = 0; h < heads; h++) {
    for (let c = 0; c < headDim; c++) {
      const previous = shift > 0 ? c / headDim : 0;
      values[h * headDim + c] = 1 - previous;
      if (shift > 0) values[heads * headDim + h * headDim + c] = previous;
    }
  }
  return tf.tensor3d(values, [shift + 1, heads, headDim]);
}

/**
 * Zero history (the `s` raw w before position 0) for `batch` sequences.
 *
 * @example const tail = emptyShiftTail(2, 4, 1, 16);
 */
export function emptyShiftTail(batch: number, heads: number, shift: number, headDim: number): Tensor4D {
  return tf.zeros([batch, heads, shift, headDim]);
}

/**
 * Applies the shift to t new tokens continuing `tail` (the previous `s` raw w, left untouched).
 * Hidden tokens (mask 0) enter as 0, so padding never leaks into visible tokens. Returns the
 * shifted `[b, h, t, p]` and the new tail `[b, h, s, p]` (the last s raw w, for decoding).
 *
 * @example const { shifted, tail } = shiftTokens(w, kernel, emptyShiftTail(b, h, 1, p));
 */
export function shiftTokens(w: Tensor4D, kernel: Tensor3D, tail: Tensor4D, mask?: Tensor2D): { shifted: Tensor4D; tail: Tensor4D } {
  const [shifted, nextTail] = tf.tidy(() => {
    const [b, h, t, p] = w.shape;
    const s = kernel.shape[0] - 1;
    const visible = mask ? tf.mul(w, tf.reshape(tf.cast(mask, 'float32'), [b, 1, t, 1])) : w;
    const history = tf.concat([tf.broadcastTo(tail, [b, h, s, p]), visible], 2); // [b, h, s + t, p]
    let out: Tensor = tf.zeros([b, h, t, p]);
    for (let j = 0; j <= s; j++) {
      const tap = tf.reshape(tf.slice(kernel, [j, 0, 0], [1, h, p]), [1, h, 1, p]);
      out = tf.add(out, tf.mul(tf.slice(history, [0, 0, s - j, 0], [b, h, t, p]), tap));
    }
    return [out, tf.slice(history, [0, 0, t, 0], [b, h, s, p])] as Tensor4D[];
  });
  return { shifted, tail: nextTail };
}
