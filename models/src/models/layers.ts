/**
 * The small building blocks of the model graphs, on tfjs-core ops only.
 *
 * Everything works on rank-2 `[rows, width]` activations (rows = batch × tokens): on
 * tfjs-wasm a rank-2 matMul without transposes runs ~10× faster than a batched or transposed
 * one, so weights are kept `[in, out]` and sequences are flattened before each projection.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor1D, Tensor2D, Variable } from '@tensorflow/tfjs-core';
import { SwapformerError } from '@swapformer/core';
import type { ActivationName } from './modelConfigBase';

/**
 * `x W` whose gradients are plain rank-2 products of explicit transposes: tfjs's own matMul
 * gradient uses transposeA/transposeB products, 3–10× slower on wasm.
 */
const matMulFastGrad = tf.customGrad((...args: Array<Tensor | tf.GradSaveFunc>) => {
  const [x, w, save] = args as [Tensor2D, Tensor2D, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.matMul(x, w),
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => [
      tf.matMul(dy as Tensor2D, tf.transpose(saved[1]) as Tensor2D), // [rows, in]
      tf.matMul(tf.transpose(saved[0]) as Tensor2D, dy as Tensor2D), // [in, out]
    ],
  };
});

/** `x W + b` with `x: [rows, in]`, `W: [in, out]`. */
export function linear(x: Tensor2D, weight: Tensor, bias?: Tensor): Tensor2D {
  const y = matMulFastGrad(x, weight) as Tensor2D;
  return bias ? (tf.add(y, bias) as Tensor2D) : y;
}

/**
 * Layer norm over the last axis (biased variance, as torch.nn.LayerNorm) with its gradient
 * written out: fewer kernels than autodiff through `moments`, and no host-made tensor (tfjs's own
 * Mean gradient uploads a ones tensor of the input's shape, twice per call — that dominated a
 * webgpu training step before `ensureGradients` replaced it).
 */
const layerNormWithGrad = tf.customGrad((...args: Array<Tensor | tf.GradSaveFunc>) => {
  const [x, gamma, beta, eps, save] = args as [Tensor2D, Tensor1D, Tensor1D, Tensor, tf.GradSaveFunc];
  const { mean, variance } = tf.moments(x, -1, true);
  const invStd = tf.rsqrt(tf.add(variance, eps)); // [rows, 1]
  const normalized = tf.mul(tf.sub(x, mean), invStd); // [rows, w]
  save([normalized, invStd, gamma]);
  return {
    value: tf.add(tf.mul(normalized, gamma), beta),
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
      const [xHat, inv, g] = saved;
      const grad = dy as Tensor2D;
      const dxHat = tf.mul(grad, g);
      const centred = tf.sub(dxHat, tf.mean(dxHat, -1, true));
      const dx = tf.mul(tf.sub(centred, tf.mul(xHat, tf.mean(tf.mul(dxHat, xHat), -1, true))), inv);
      return [dx, tf.sum(tf.mul(grad, xHat), 0), tf.sum(grad, 0), tf.zerosLike(eps)];
    },
  };
});

/** Layer norm over the last axis (biased variance, as torch.nn.LayerNorm). */
export function layerNorm(x: Tensor2D, gamma: Variable, beta: Variable, eps: number): Tensor2D {
  return tf.tidy(() => layerNormWithGrad(x, gamma, beta, tf.scalar(eps)) as Tensor2D);
}

/**
 * `[1, …]` repeated `b` times along the first axis, with the gradient one sum over that axis:
 * tfjs's Tile gradient is one slice and one add per repetition (two dispatches per image on webgpu).
 */
export function repeatOverBatch(row: Tensor, b: number): Tensor {
  const reps = [b, ...row.shape.slice(1).map(() => 1)];
  const repeat = tf.customGrad((...args: Array<Tensor | tf.GradSaveFunc>) => {
    const [r] = args as [Tensor];
    return { value: tf.tile(r, reps), gradFunc: (dy: Tensor | Tensor[]) => tf.sum(dy as Tensor, 0, true) };
  });
  return repeat(row);
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

function geluTanh(x: Tensor): Tensor {
  // 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))
  // x·x² rather than pow(x, 3): tfjs-wasm's Pow calls the C library's pow per element, and it
  // was 7 % of a GPT-2-small forward (profile of the 1,024-token forward, issue 19)
  const inner = tf.mul(tf.add(x, tf.mul(tf.mul(x, tf.square(x)), 0.044715)), SQRT_2_OVER_PI);
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

const ACTIVATIONS: Record<ActivationName, (x: Tensor) => Tensor> = {
  gelu: (x) => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)),
  gelu_python: (x) => ACTIVATIONS.gelu(x),
  gelu_new: geluTanh,
  gelu_pytorch_tanh: geluTanh,
  gelu_fast: geluTanh,
  quick_gelu: (x) => tf.mul(x, tf.sigmoid(tf.mul(x, 1.702))),
  relu: (x) => tf.relu(x),
  silu: (x) => tf.mul(x, tf.sigmoid(x)),
  swish: (x) => tf.mul(x, tf.sigmoid(x)),
  tanh: (x) => tf.tanh(x),
};

/** The activation function named as in Hugging Face's `ACT2FN`. */
export function activation(name: string): (x: Tensor2D) => Tensor2D {
  const fn = ACTIVATIONS[name as ActivationName];
  if (!fn) {
    throw new SwapformerError('invalid-config', `unknown activation "${name}". Supported: ${Object.keys(ACTIVATIONS).join(', ')}.`);
  }
  return (x) => tf.tidy(() => fn(x) as Tensor2D);
}

/**
 * Embedding lookup `table[ids]` as a gather, with the gradient computed as a one-hot product:
 * tfjs's own gather gradient needs UnsortedSegmentSum, which the wasm backend lacks.
 */
export function embeddingLookup(table: Variable, ids: Tensor1D): Tensor2D {
  const vocab = table.shape[0];
  const lookup = tf.customGrad((...args: Array<Tensor | tf.GradSaveFunc>) => {
    const [t, save] = args as [Tensor, tf.GradSaveFunc];
    save([ids]);
    return {
      value: tf.gather(t, ids),
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
        const oneHotT = tf.transpose(tf.cast(tf.oneHot(saved[0] as Tensor1D, vocab), 'float32')) as Tensor2D; // [vocab, rows]
        return [tf.matMul(oneHotT, dy as Tensor2D)];
      },
    };
  });
  return lookup(table) as Tensor2D;
}

/** `[b·n, h·d]` → `[b, h, n, d]`. */
export function splitHeads(x: Tensor2D, batch: number, n: number, heads: number): tf.Tensor4D {
  const d = x.shape[1] / heads;
  if (heads === 1) return tf.reshape(x, [batch, 1, n, d]);
  return tf.transpose(tf.reshape(x, [batch, n, heads, d]), [0, 2, 1, 3]) as tf.Tensor4D;
}

/** `[b, h, n, d]` → `[b·n, h·d]`. */
export function mergeHeads(x: tf.Tensor4D): Tensor2D {
  const [b, h, n, d] = x.shape;
  if (h === 1) return tf.reshape(x, [b * n, d]);
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [b * n, h * d]) as Tensor2D;
}

/**
 * RMS norm over the last axis (Zhang & Sennrich 2019; Llama's `LlamaRMSNorm`):
 * `x · rsqrt(mean(x²) + eps) · gamma`, no centring and no bias.
 */
export function rmsNorm(x: Tensor2D, gamma: Variable, eps: number): Tensor2D {
  return tf.tidy(() => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), gamma) as Tensor2D);
}
