/**
 * One Llama-family decoder block (Touvron et al. 2023): pre-norm with RMSNorm, attention with
 * rotary positions and grouped-query k/v heads, and a SwiGLU MLP (Shazeer 2020):
 *
 *   x ← x + Attn(RMS₁(x));   x ← x + W_down (act(W_gate RMS₂(x)) ⊙ W_up RMS₂(x))
 *
 * Shapes: x `[b·n, d]`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D, Variable } from '@tensorflow/tfjs-core';
import type { DecodingState } from '@swapformer/core';
import { activation, linear, rmsNorm } from '../../models/layers';
import type { Init, ParameterStore } from '../../models/parameterStore';
import { createSelfAttention, type CallSettings, type LayerOperator, type SelfAttentionOptions } from '../../models/selfAttention';
import type { TransformerBlock } from '../../models/transformerBlock';

export interface LlamaBlockOptions extends SelfAttentionOptions {
  readonly intermediateSize: number;
  readonly activation: string;
  readonly rmsNormEps: number;
  readonly qkvBias: boolean;
  readonly mlpBias: boolean;
}

/** Checkpoint names of block `index` under `base` ("model." in *ForCausalLM checkpoints). */
export function llamaBlockPrefix(base: string, index: number): string {
  return `${base}layers.${index}`;
}

export function createLlamaBlock(store: ParameterStore, layer: LayerOperator, prefix: string, options: LlamaBlockOptions): TransformerBlock {
  const d = options.hiddenSize;
  const m = options.intermediateSize;
  const eps = options.rmsNormEps;
  const projection = (name: string, rows: number, cols: number, init: Init, bias: boolean): [Variable, Variable | undefined] => [
    store.add(`${name}.weight`, [rows, cols], init, 'linear'),
    bias ? store.add(`${name}.bias`, [cols], 'zeros') : undefined,
  ];
  const norm1 = store.add(`${prefix}.input_layernorm.weight`, [d], 'ones');
  const attention = createSelfAttention(
    store,
    layer,
    { query: `${prefix}.self_attn.q_proj`, key: `${prefix}.self_attn.k_proj`, value: `${prefix}.self_attn.v_proj`, output: `${prefix}.self_attn.o_proj`, operatorPrefix: `${prefix}.self_attn.operator`, layout: 'linear', qkvBias: options.qkvBias },
    options,
  );
  const norm2 = store.add(`${prefix}.post_attention_layernorm.weight`, [d], 'ones');
  const [wGate, bGate] = projection(`${prefix}.mlp.gate_proj`, d, m, options.init, options.mlpBias);
  const [wUp, bUp] = projection(`${prefix}.mlp.up_proj`, d, m, options.init, options.mlpBias);
  const [wDown, bDown] = projection(`${prefix}.mlp.down_proj`, m, d, options.outputInit, options.mlpBias);
  const act = activation(options.activation);
  const mlp = (x: Tensor2D): Tensor2D =>
    tf.tidy(() => {
      const normed = rmsNorm(x, norm2, eps);
      return tf.add(x, linear(tf.mul(act(linear(normed, wGate, bGate)), linear(normed, wUp, bUp)) as Tensor2D, wDown, bDown)) as Tensor2D;
    });
  return {
    attention,
    forward(x: Tensor2D, batch: number, n: number, call: CallSettings) {
      return tf.tidy(() => mlp(tf.add(x, attention.forward(rmsNorm(x, norm1, eps), batch, n, call)) as Tensor2D));
    },
    step(x: Tensor2D, batch: number, t: number, state: DecodingState, call: CallSettings) {
      const normed = rmsNorm(x, norm1, eps);
      const { output, state: next } = attention.step(normed, batch, t, state, call);
      const y = tf.tidy(() => mlp(tf.add(x, output) as Tensor2D));
      tf.dispose([normed, output]);
      return { output: y, state: next };
    },
  };
}
