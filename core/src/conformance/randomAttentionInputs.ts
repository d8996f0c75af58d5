import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { createSeededRandom } from '../rng/seededRandom';

export interface AttentionShape {
  readonly batch: number;
  readonly heads: number;
  readonly nq: number;
  readonly nk: number;
  readonly dk: number;
  readonly dv?: number;
}

/** Seeded standard-normal q, k, v (q and k multiplied by `qkScale`). Caller disposes. */
export function randomAttentionInputs(shape: AttentionShape, seed = 0, qkScale = 1): { q: Tensor4D; k: Tensor4D; v: Tensor4D } {
  const rng = createSeededRandom(seed);
  const dv = shape.dv ?? shape.dk;
  const make = (n: number, d: number, s: number) =>
    tf.tensor4d(rng.fillNormal(new Float32Array(shape.batch * shape.heads * n * d), 0, s), [shape.batch, shape.heads, n, d]);
  return { q: make(shape.nq, shape.dk, qkScale), k: make(shape.nk, shape.dk, qkScale), v: make(shape.nk, dv, 1) };
}
