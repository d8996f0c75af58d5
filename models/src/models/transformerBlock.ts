/**
 * The pre-norm transformer block shared by ViT and GPT:
 *
 *   x ← x + Attn(LN₁(x));   x ← x + W₂ act(W₁ LN₂(x))
 *
 * Names differ per family (`layernorm_before` / `ln_1`, ...), so the block takes them as data.
 * Shapes: x `[b·n, d]`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D, Variable } from '@tensorflow/tfjs-core';
import type { DecodingState } from '@swapformer/core';
import { activation, layerNorm, linear } from './layers';
import type { HfLayout, Init, ParameterStore } from './parameterStore';
import { createSelfAttention, type AttentionNames, type CallSettings, type LayerOperator, type SelfAttention, type SelfAttentionOptions } from './selfAttention';

/** Checkpoint names of one block. */
export interface BlockNames {
  readonly norm1: string;
  readonly norm2: string;
  readonly mlpIn: string;
  readonly mlpOut: string;
  readonly mlpLayout: HfLayout;
  readonly attention: AttentionNames;
}

export interface BlockOptions extends SelfAttentionOptions {
  readonly intermediateSize: number;
  readonly activation: string;
  readonly layerNormEps: number;
}

export interface TransformerBlock {
  readonly attention: SelfAttention;
  forward(x: Tensor2D, batch: number, n: number, call: CallSettings): Tensor2D;
  step(x: Tensor2D, batch: number, t: number, state: DecodingState, call: CallSettings): { output: Tensor2D; state: DecodingState };
}

function norm(store: ParameterStore, name: string, width: number): [Variable, Variable] {
  return [store.add(`${name}.weight`, [width], 'ones'), store.add(`${name}.bias`, [width], 'zeros')];
}

/**
 * @example const block = createTransformerBlock(store, layer, vitBlockNames(0, true), options);
 */
export function createTransformerBlock(store: ParameterStore, layer: LayerOperator, names: BlockNames, options: BlockOptions): TransformerBlock {
  const d = options.hiddenSize;
  const [g1, b1] = norm(store, names.norm1, d);
  const attention = createSelfAttention(store, layer, names.attention, options);
  const [g2, b2] = norm(store, names.norm2, d);
  const w1 = store.add(`${names.mlpIn}.weight`, [d, options.intermediateSize], options.init, names.mlpLayout);
  const c1 = store.add(`${names.mlpIn}.bias`, [options.intermediateSize], 'zeros');
  const w2 = store.add(`${names.mlpOut}.weight`, [options.intermediateSize, d], options.outputInit as Init, names.mlpLayout);
  const c2 = store.add(`${names.mlpOut}.bias`, [d], 'zeros');
  const act = activation(options.activation);
  const eps = options.layerNormEps;
  const mlp = (x: Tensor2D): Tensor2D => tf.tidy(() => tf.add(x, linear(act(linear(layerNorm(x, g2, b2, eps), w1, c1)), w2, c2)));
  return {
    attention,
    forward(x, batch, n, call) {
      return tf.tidy(() => mlp(tf.add(x, attention.forward(layerNorm(x, g1, b1, eps), batch, n, call))));
    },
    step(x, batch, t, state, call) {
      const normed = layerNorm(x, g1, b1, eps);
      const { output, state: next } = attention.step(normed, batch, t, state, call);
      const y = tf.tidy(() => mlp(tf.add(x, output)));
      tf.dispose([normed, output]);
      return { output: y, state: next };
    },
  };
}
