/**
 * Rotary position embeddings (Su et al. 2021, RoFormer) as transformers' Llama computes them:
 * feature pairs (i, i + headDim/2) of q and k rotated by angle position · invFreq[i], with the
 * inverse frequencies of the config's scaling type (transformers' modeling_rope_utils):
 *
 * - default: invFreq[i] = theta^(−2i/dim)
 * - linear:  default / factor (positions interpolated)
 * - dynamic: NTK-aware — beyond the original context L₀, theta grows to
 *            theta · (factor · L / L₀ − (factor − 1))^(dim/(dim−2)) for the current length L
 * - llama3:  long wavelengths (> L₀ / lowFreqFactor) divided by factor, short ones
 *            (< L₀ / highFreqFactor) kept, the band between interpolated smoothly
 *
 * Dynamic scaling depends on the sequence length: a full forward over L tokens uses L, and a
 * kv-cache step uses the length after the step for the new tokens only (the cached keys keep
 * their rotation), which is what transformers' generate does.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import type { RotaryEmbedding } from '../../models/selfAttention';
import type { RopeConfig } from './llamaConfig';

/** The inverse frequencies (headDim / 2 of them) for a sequence of `length` tokens. */
export function rotaryInverseFrequencies(rope: RopeConfig, headDim: number, maxPositions: number, length: number): Float64Array {
  const half = headDim / 2;
  let theta = rope.theta;
  if (rope.type === 'dynamic') {
    const original = rope.originalMaxPositionEmbeddings ?? maxPositions;
    const factor = rope.factor ?? 1;
    const seq = Math.max(length, original);
    theta = theta * ((factor * seq) / original - (factor - 1)) ** (headDim / (headDim - 2));
  }
  // float32 where transformers computes in float32, so angles match to the last bits that matter
  const inv = Float64Array.from({ length: half }, (_, i) => Math.fround(1 / Math.fround(theta ** Math.fround((2 * i) / headDim))));
  if (rope.type === 'linear') return inv.map((f) => f / rope.factor!);
  if (rope.type !== 'llama3') return inv;
  const factor = rope.factor!;
  const old = rope.originalMaxPositionEmbeddings!;
  const lowWavelength = old / rope.lowFreqFactor!;
  const highWavelength = old / rope.highFreqFactor!;
  return inv.map((f) => {
    const wavelength = (2 * Math.PI) / f;
    if (wavelength < highWavelength) return f;
    if (wavelength > lowWavelength) return f / factor;
    const smooth = (old / wavelength - rope.lowFreqFactor!) / (rope.highFreqFactor! - rope.lowFreqFactor!);
    return (1 - smooth) * (f / factor) + smooth * f;
  });
}

/** cos and sin tables `[n, headDim]` for positions offset … offset + n − 1 (each frequency used for both halves). */
function rotaryTables(rope: RopeConfig, headDim: number, maxPositions: number, offset: number, n: number): { cos: Float32Array; sin: Float32Array } {
  const inv = rotaryInverseFrequencies(rope, headDim, maxPositions, offset + n);
  const half = headDim / 2;
  const cos = new Float32Array(n * headDim);
  const sin = new Float32Array(n * headDim);
  for (let p = 0; p < n; p++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround((offset + p) * Math.fround(inv[i]));
      const [c, s] = [Math.cos(angle), Math.sin(angle)];
      cos[p * headDim + i] = cos[p * headDim + half + i] = c;
      sin[p * headDim + i] = sin[p * headDim + half + i] = s;
    }
  }
  return { cos, sin };
}

/** x·cos + rotate_half(x)·sin with rotate_half(x) = [−x₂, x₁] over the two halves of the head features. */
function rotate(x: Tensor4D, cos: Tensor2D, sin: Tensor2D): Tensor4D {
  const [b, h, n, d] = x.shape;
  const x1 = tf.slice(x, [0, 0, 0, 0], [b, h, n, d / 2]);
  const x2 = tf.slice(x, [0, 0, 0, d / 2], [b, h, n, d / 2]);
  return tf.add(tf.mul(x, cos), tf.mul(tf.concat([tf.neg(x2), x1], 3), sin)) as Tensor4D;
}

/**
 * The rotary embedding of one model (every layer shares it).
 *
 * @example const rotary = createRotaryEmbedding({ type: 'default', theta: 10000 }, 64, 2048); const [q2, k2] = rotary.apply(q, k, 0);
 */
export function createRotaryEmbedding(rope: RopeConfig, headDim: number, maxPositions: number): RotaryEmbedding {
  return {
    apply(q, k, offset) {
      const n = q.shape[2];
      const { cos, sin } = rotaryTables(rope, headDim, maxPositions, offset, n);
      return tf.tidy(() => {
        const c = tf.tensor2d(cos, [n, headDim]);
        const s = tf.tensor2d(sin, [n, headDim]);
        return q === k ? [rotate(q, c, s), rotate(q, c, s)] : [rotate(q, c, s), rotate(k, c, s)];
      }) as [Tensor4D, Tensor4D];
    },
  };
}
