/**
 * Malformed attention calls, generated per operator from its capabilities: NaN/±Inf in q, k, v
 * or the mask, empty and mismatched shapes, wrong ranks and dtypes, masks and causal calls the
 * operator does not declare, bad scales, and geometries whose head dim does not divide the model
 * width. Plus edge cases that must work: sequences of length 1.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D } from '@tensorflow/tfjs-core';
import type { AttentionContext, OperatorCapabilities, OperatorGeometry, SwapformerErrorKind } from '@swapformer/core';

export interface AttentionCall {
  readonly q: Tensor;
  readonly k: Tensor;
  readonly v: Tensor;
  readonly ctx: AttentionContext;
}

export interface InputCase {
  readonly category: 'attention-inputs' | 'attention-edge-cases' | 'operator-geometry';
  readonly title: string;
  applies(caps: OperatorCapabilities): boolean;
  /** For attention cases: the tensors and context (caller disposes every tensor). */
  build?(): AttentionCall;
  /** What `resolved.create` receives (default INPUT_GEOMETRY); geometry cases are about this alone. */
  readonly geometry?: OperatorGeometry;
  /** Expected error (one of `kind`, message matching `includes`); absent for edge cases that must succeed. */
  readonly expect?: { readonly kind: SwapformerErrorKind | readonly SwapformerErrorKind[]; readonly includes: string | RegExp };
}

const B = 1;
const H = 2;
const N = 8;
const D = 4;

function normal(shape: number[], seed: number, poison?: { index: number; value: number }): Tensor {
  let s = seed >>> 0;
  const size = shape.reduce((a, x) => a * x, 1);
  const data = new Float32Array(size).map(() => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 2);
  if (poison && size > 0) data[poison.index % size] = poison.value;
  return tf.tensor(data, shape, 'float32');
}

const qkv = (over: { q?: number[]; k?: number[]; v?: number[] } = {}, poison: { q?: number; k?: number; v?: number } = {}): Omit<AttentionCall, 'ctx'> => ({
  q: normal(over.q ?? [B, H, N, D], 1, poison.q === undefined ? undefined : { index: 5, value: poison.q }),
  k: normal(over.k ?? [B, H, N, D], 2, poison.k === undefined ? undefined : { index: 7, value: poison.k }),
  v: normal(over.v ?? [B, H, N, D], 3, poison.v === undefined ? undefined : { index: 9, value: poison.v }),
});

const any = () => true;
const needsQkv = (c: OperatorCapabilities) => c.projections === 'qkv';
const plain: AttentionContext = { causal: false, seed: 7, layerIndex: 0 };

const err = (kind: SwapformerErrorKind, includes: string) => ({ kind, includes });

/** Every input case; `applies` filters by the operator's capabilities. */
export const INPUT_CASES: readonly InputCase[] = [
  ...[NaN, Infinity, -Infinity].map((x): InputCase => ({ category: 'attention-inputs', title: `${x} in q`, applies: any, build: () => ({ ...qkv({}, { q: x }), ctx: plain }), expect: err('non-finite-input', 'q contains NaN or Inf') })),
  { category: 'attention-inputs', title: 'NaN in k', applies: needsQkv, build: () => ({ ...qkv({}, { k: NaN }), ctx: plain }), expect: err('non-finite-input', 'k contains NaN or Inf') },
  { category: 'attention-inputs', title: 'Infinity in v', applies: needsQkv, build: () => ({ ...qkv({}, { v: Infinity }), ctx: plain }), expect: err('non-finite-input', 'v contains NaN or Inf') },
  { category: 'attention-inputs', title: 'NaN in the key-padding mask', applies: (c) => c.keyPaddingMask, build: () => ({ ...qkv(), ctx: { ...plain, mask: tf.tensor2d([[1, 1, NaN, 1, 1, 1, 1, 1]]) as Tensor2D } }), expect: { kind: ['non-finite-input', 'invalid-input'], includes: /the output contains NaN or Inf|mask must hold only 0 and 1/ } },
  { category: 'attention-inputs', title: 'zero-length sequence', applies: any, build: () => ({ ...qkv({ q: [B, H, 0, D], k: [B, H, 0, D], v: [B, H, 0, D] }), ctx: plain }), expect: err('invalid-input', 'has an empty dimension') },
  { category: 'attention-inputs', title: 'zero batch', applies: any, build: () => ({ ...qkv({ q: [0, H, N, D], k: [0, H, N, D], v: [0, H, N, D] }), ctx: plain }), expect: err('invalid-input', 'has an empty dimension') },
  { category: 'attention-inputs', title: 'zero heads', applies: any, build: () => ({ ...qkv({ q: [B, 0, N, D], k: [B, 0, N, D], v: [B, 0, N, D] }), ctx: plain }), expect: err('invalid-input', 'has an empty dimension') },
  { category: 'attention-inputs', title: 'zero head dim', applies: any, build: () => ({ ...qkv({ q: [B, H, N, 0], k: [B, H, N, 0], v: [B, H, N, 0] }), ctx: plain }), expect: err('invalid-input', 'has an empty dimension') },
  { category: 'attention-inputs', title: 'q of rank 3', applies: any, build: () => ({ ...qkv({ q: [H, N, D] }), ctx: plain }), expect: err('invalid-input', 'q must be [batch, heads, n, d] (rank 4)') },
  { category: 'attention-inputs', title: 'q of rank 5', applies: any, build: () => ({ ...qkv({ q: [1, B, H, N, D] }), ctx: plain }), expect: err('invalid-input', 'q must be [batch, heads, n, d] (rank 4)') },
  { category: 'attention-inputs', title: 'k of rank 2', applies: needsQkv, build: () => ({ ...qkv({ k: [N, D] }), ctx: plain }), expect: err('invalid-input', 'k must be [batch, heads, n, d] (rank 4)') },
  { category: 'attention-inputs', title: 'int32 q', applies: any, build: () => ({ q: tf.zeros([B, H, N, D], 'int32'), k: normal([B, H, N, D], 2), v: normal([B, H, N, D], 3), ctx: plain }), expect: err('invalid-input', 'q must be float32, got int32') },
  { category: 'attention-inputs', title: 'bool v', applies: needsQkv, build: () => ({ q: normal([B, H, N, D], 1), k: normal([B, H, N, D], 2), v: tf.zeros([B, H, N, D], 'bool'), ctx: plain }), expect: err('invalid-input', 'v must be float32, got bool') },
  { category: 'attention-inputs', title: 'batch mismatch', applies: needsQkv, build: () => ({ ...qkv({ k: [2, H, N, D], v: [2, H, N, D] }), ctx: plain }), expect: err('invalid-input', 'batch and heads must agree') },
  { category: 'attention-inputs', title: 'heads mismatch', applies: needsQkv, build: () => ({ ...qkv({ v: [B, 3, N, D] }), ctx: plain }), expect: err('invalid-input', 'batch and heads must agree') },
  { category: 'attention-inputs', title: 'q and k head dims differ', applies: needsQkv, build: () => ({ ...qkv({ k: [B, H, N, D + 1] }), ctx: plain }), expect: err('invalid-input', 'q and k head dims differ') },
  { category: 'attention-inputs', title: 'k and v lengths differ', applies: needsQkv, build: () => ({ ...qkv({ v: [B, H, N + 1, D] }), ctx: plain }), expect: err('invalid-input', 'k and v must have the same number of keys') },
  { category: 'attention-inputs', title: 'nq ≠ nk without cross-attention', applies: (c) => needsQkv(c) && !c.crossAttention, build: () => ({ ...qkv({ q: [B, H, N - 3, D] }), ctx: plain }), expect: err('invalid-input', 'needs as many queries as keys') },
  { category: 'attention-inputs', title: 'causal call on a non-causal operator', applies: (c) => c.causal === 'none', build: () => ({ ...qkv(), ctx: { ...plain, causal: true } }), expect: err('missing-capability', 'a causal forward was requested') },
  { category: 'attention-inputs', title: 'mask on an operator without masks', applies: (c) => !c.keyPaddingMask, build: () => ({ ...qkv(), ctx: { ...plain, mask: tf.ones([B, N]) as Tensor2D } }), expect: err('missing-capability', 'refusing rather than ignoring the mask') },
  { category: 'attention-inputs', title: 'mask of the wrong length', applies: (c) => c.keyPaddingMask, build: () => ({ ...qkv(), ctx: { ...plain, mask: tf.ones([B, N + 2]) as Tensor2D } }), expect: err('invalid-input', 'mask must be [batch, nk]') },
  { category: 'attention-inputs', title: 'mask of rank 1', applies: (c) => c.keyPaddingMask, build: () => ({ ...qkv(), ctx: { ...plain, mask: tf.ones([N]) as unknown as Tensor2D } }), expect: err('invalid-input', 'mask must be [batch, nk]') },
  ...[NaN, 0, -1, Infinity].map((scale): InputCase => ({ category: 'attention-inputs', title: `scale ${scale}`, applies: any, build: () => ({ ...qkv(), ctx: { ...plain, scale } }), expect: err('invalid-input', 'scale must be a finite positive number') })),

  { category: 'attention-edge-cases', title: 'length-1 sequence', applies: any, build: () => ({ ...qkv({ q: [B, H, 1, D], k: [B, H, 1, D], v: [B, H, 1, D] }), ctx: plain }) },
  { category: 'attention-edge-cases', title: 'length-1 causal sequence', applies: (c) => c.causal === 'native', build: () => ({ ...qkv({ q: [B, H, 1, D], k: [B, H, 1, D], v: [B, H, 1, D] }), ctx: { ...plain, causal: true } }) },
  { category: 'attention-edge-cases', title: 'one query against 5 keys', applies: (c) => c.crossAttention, build: () => ({ ...qkv({ q: [B, H, 1, D], k: [B, H, 5, D], v: [B, H, 5, D] }), ctx: plain }) },
  { category: 'attention-edge-cases', title: 'head dim 1, one head', applies: any, geometry: { heads: 1, headDim: 1, valueDim: 1, modelDim: 1, maxSeqLen: 16, layerIndex: 0 }, build: () => ({ ...qkv({ q: [B, 1, N, 1], k: [B, 1, N, 1], v: [B, 1, N, 1] }), ctx: plain }) },
  { category: 'attention-edge-cases', title: 'all-zero inputs', applies: any, build: () => ({ q: tf.zeros([B, H, N, D]), k: tf.zeros([B, H, N, D]), v: tf.zeros([B, H, N, D]), ctx: plain }) },

  ...(
    [
      ['heads 0', { heads: 0, headDim: 4 }],
      ['heads -2', { heads: -2, headDim: 4 }],
      ['heads 1.5', { heads: 1.5, headDim: 4 }],
      ['heads NaN', { heads: NaN, headDim: 4 }],
      ['head dim 0', { heads: 2, headDim: 0 }],
      ['head dim Infinity', { heads: 2, headDim: Infinity }],
      ['model dim 10 over 3 heads (head dim 3.33)', { heads: 3, headDim: 10 / 3, modelDim: 10 }],
      ['model dim 64 over 5 heads (head dim 12.8)', { heads: 5, headDim: 64 / 5, modelDim: 64 }],
    ] as const
  ).map(([title, geometry]): InputCase => ({ category: 'operator-geometry', title, applies: any, geometry: { ...geometry, layerIndex: 0 }, expect: err('invalid-input', 'geometry needs positive integer heads and headDim') })),
];

/** The geometry the attention cases run with. */
export const INPUT_GEOMETRY: OperatorGeometry = { heads: H, headDim: D, valueDim: D, modelDim: H * D, maxSeqLen: 16, layerIndex: 0 };

/** Disposes every tensor of a call. */
export function disposeCall(call: AttentionCall): void {
  tf.dispose([call.q, call.k, call.v, ...(call.ctx.mask ? [call.ctx.mask] : [])] as Tensor[]);
}
