/**
 * GPT-2 (with past key/values, as Hugging Face's `decoder_with_past` exports) and ViT as ONNX
 * graphs built from a Swapformer model's own parameters, for the onnxruntime-node peer of the
 * model benches. The graphs compute what the Swapformer graphs compute (buildGpt, buildVit):
 * pre-norm blocks, softmax attention, tanh-GELU (GPT-2) or erf-GELU (ViT), the LM head tied to
 * the token embedding. Linear weights are stored `[in, out]` in both, so they go in unchanged.
 */
import { SwapformerError } from '@swapformer/core';
import type { GptModelConfig, ModelParameter, VitModelConfig } from '@swapformer/models';
import { OnnxGraph } from './onnxGraph';

type Weights = ReadonlyMap<string, { readonly data: Float32Array; readonly shape: readonly number[] }>;

/** Every parameter's values, read once (dataSync: the wasm and cpu backends). */
export function readWeights(parameters: readonly ModelParameter[]): Weights {
  return new Map(parameters.map((p) => [p.name, { data: p.variable.dataSync() as Float32Array, shape: p.variable.shape }]));
}

function w(g: OnnxGraph, weights: Weights, name: string): string {
  const p = weights.get(name);
  if (!p) throw new SwapformerError('invalid-config', `ONNX export: the model has no parameter "${name}".`);
  return g.weight(name, p.shape, p.data);
}

interface BlockNames {
  readonly ln1: string;
  readonly ln2: string;
  readonly qkv: readonly string[]; // one fused [d, 3d] projection, or query, key, value
  readonly out: string;
  readonly up: string;
  readonly down: string;
}

interface BlockShape {
  readonly d: number;
  readonly heads: number;
  readonly eps: number;
  readonly activation: 'gelu' | 'gelu_new';
}

function layerNorm(g: OnnxGraph, weights: Weights, x: string, prefix: string, eps: number): string {
  return g.op(
    'LayerNormalization',
    [x, w(g, weights, `${prefix}.weight`), w(g, weights, `${prefix}.bias`)],
    [
      { name: 'axis', int: -1 },
      { name: 'epsilon', float: eps },
    ],
  );
}

function linear(g: OnnxGraph, weights: Weights, x: string, prefix: string): string {
  return g.op('Add', [g.op('MatMul', [x, w(g, weights, `${prefix}.weight`)]), w(g, weights, `${prefix}.bias`)]);
}

function gelu(g: OnnxGraph, x: string, kind: BlockShape['activation']): string {
  const half = g.op('Mul', [x, g.float([0.5])]);
  if (kind === 'gelu') return g.op('Mul', [half, g.op('Add', [g.op('Erf', [g.op('Mul', [x, g.float([Math.SQRT1_2])])]), g.float([1])])]);
  const cube = g.op('Mul', [g.op('Mul', [x, x]), x]);
  const inner = g.op('Mul', [g.op('Add', [x, g.op('Mul', [cube, g.float([0.044715])])]), g.float([Math.sqrt(2 / Math.PI)])]);
  return g.op('Mul', [half, g.op('Add', [g.op('Tanh', [inner]), g.float([1])])]);
}

/** `[b, t, d]` → `[b, heads, t, d / heads]`. */
function splitHeads(g: OnnxGraph, x: string, s: BlockShape): string {
  return g.op('Transpose', [g.op('Reshape', [x, g.int64([0, 0, s.heads, s.d / s.heads])])], [{ name: 'perm', ints: [0, 2, 1, 3] }]);
}

/** One pre-norm block on `x` `[b, t, d]`; with `past`, keys and values are appended to the cache and returned as `present`. */
function block(g: OnnxGraph, weights: Weights, x: string, names: BlockNames, s: BlockShape, cache?: { past: [string, string]; present: [string, string]; bias: string }): string {
  const h = layerNorm(g, weights, x, names.ln1, s.eps);
  let [q, k, v] =
    names.qkv.length === 1 ? g.ops('Split', [linear(g, weights, h, names.qkv[0]), g.int64([s.d, s.d, s.d])], 3, [{ name: 'axis', int: -1 }]) : names.qkv.map((n) => linear(g, weights, h, n));
  [q, k, v] = [q, k, v].map((t) => splitHeads(g, t, s));
  if (cache) {
    k = g.op('Concat', [cache.past[0], k], [{ name: 'axis', int: 2 }], cache.present[0]);
    v = g.op('Concat', [cache.past[1], v], [{ name: 'axis', int: 2 }], cache.present[1]);
  }
  let scores = g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [k], [{ name: 'perm', ints: [0, 1, 3, 2] }])]), g.float([1 / Math.sqrt(s.d / s.heads)])]);
  if (cache) scores = g.op('Add', [scores, cache.bias]);
  const o = g.op('MatMul', [g.op('Softmax', [scores], [{ name: 'axis', int: -1 }]), v]);
  const merged = g.op('Reshape', [g.op('Transpose', [o], [{ name: 'perm', ints: [0, 2, 1, 3] }]), g.int64([0, 0, s.d])]);
  const x1 = g.op('Add', [x, linear(g, weights, merged, names.out)]);
  const m = linear(g, weights, gelu(g, linear(g, weights, layerNorm(g, weights, x1, names.ln2, s.eps), names.up), s.activation), names.down);
  return g.op('Add', [x1, m]);
}

/**
 * GPT-2 with a kv-cache. Inputs: `input_ids`, `position_ids` int64 `[batch, t]`; `attention_bias`
 * `[t, past + t]` (0 where a query may look, −∞ where not: the caller makes the causal mask);
 * `past_key_<i>`, `past_value_<i>` `[batch, heads, past, headDim]` (past = 0 for the prompt).
 * Outputs: `logits` `[batch, t, vocab]`, `present_key_<i>`, `present_value_<i>`.
 */
export function gpt2OnnxModel(config: GptModelConfig, weights: Weights): Uint8Array {
  if (!config.tieWordEmbeddings || !config.lmHead || config.scaleAttnByInverseLayerIdx || !config.scaleAttnWeights || (config.activation !== 'gelu_new' && config.activation !== 'gelu')) {
    throw new SwapformerError('unsupported', 'ONNX export covers GPT-2 as configured by default (tied LM head, scaled attention, gelu or gelu_new).');
  }
  const g = new OnnxGraph();
  const s: BlockShape = { d: config.hiddenSize, heads: config.numHeads, eps: config.layerNormEps, activation: config.activation };
  const hd = s.d / s.heads;
  const ids = g.input('input_ids', ['batch', 't'], true);
  const positions = g.input('position_ids', ['batch', 't'], true);
  const bias = g.input('attention_bias', ['t', 'total']);
  const wte = w(g, weights, 'transformer.wte.weight');
  let x = g.op('Add', [g.op('Gather', [wte, ids]), g.op('Gather', [w(g, weights, 'transformer.wpe.weight'), positions])]);
  for (let i = 0; i < config.numLayers; i++) {
    const p = `transformer.h.${i}`;
    const past: [string, string] = [g.input(`past_key_${i}`, ['batch', s.heads, 'past', hd]), g.input(`past_value_${i}`, ['batch', s.heads, 'past', hd])];
    const present: [string, string] = [`present_key_${i}`, `present_value_${i}`];
    x = block(g, weights, x, { ln1: `${p}.ln_1`, ln2: `${p}.ln_2`, qkv: [`${p}.attn.c_attn`], out: `${p}.attn.c_proj`, up: `${p}.mlp.c_fc`, down: `${p}.mlp.c_proj` }, s, { past, present, bias });
    for (const name of present) g.output(name, ['batch', s.heads, 'total', hd]);
  }
  const final = layerNorm(g, weights, x, 'transformer.ln_f', s.eps);
  g.op('MatMul', [final, g.op('Transpose', [wte], [{ name: 'perm', ints: [1, 0] }])], [], 'logits');
  g.output('logits', ['batch', 't', config.vocabSize]);
  return g.finish('gpt2_with_past');
}

/** ViT for image classification at a fixed batch: `pixel_values` `[batch, c, H, W]` → `logits` `[batch, labels]`. */
export function vitOnnxModel(config: VitModelConfig, weights: Weights, batch: number): Uint8Array {
  if (config.pixelStage || config.numLabels === 0 || config.pooler || !config.qkvBias || (config.hiddenAct !== 'gelu' && config.hiddenAct !== 'gelu_new')) {
    throw new SwapformerError('unsupported', 'ONNX export covers the standard ViT classifier (no pixel stage, no pooler, q/k/v biases, gelu).');
  }
  const g = new OnnxGraph();
  const s: BlockShape = { d: config.hiddenSize, heads: config.numHeads, eps: config.layerNormEps, activation: config.hiddenAct };
  const p = config.patchSize;
  const c = config.numChannels;
  const grid = config.imageSize / p;
  const pixels = g.input('pixel_values', [batch, c, config.imageSize, config.imageSize]);
  // Swapformer keeps the patch projection as [c·p·p, d] (rows in channel, y, x order): Conv2d wants [d, c, p, p]
  const flat = weights.get('vit.embeddings.patch_embeddings.projection.weight')!.data;
  const conv = new Float32Array(flat.length);
  for (let r = 0; r < c * p * p; r++) for (let o = 0; o < s.d; o++) conv[o * c * p * p + r] = flat[r * s.d + o];
  const patches = g.op(
    'Conv',
    [pixels, g.weight('patch_conv.weight', [s.d, c, p, p], conv), w(g, weights, 'vit.embeddings.patch_embeddings.projection.bias')],
    [
      { name: 'kernel_shape', ints: [p, p] },
      { name: 'strides', ints: [p, p] },
    ],
  );
  const tokens = g.op('Transpose', [g.op('Reshape', [patches, g.int64([batch, s.d, grid * grid])])], [{ name: 'perm', ints: [0, 2, 1] }]);
  const cls = g.op('Expand', [w(g, weights, 'vit.embeddings.cls_token'), g.int64([batch, 1, s.d])]);
  let x = g.op('Add', [g.op('Concat', [cls, tokens], [{ name: 'axis', int: 1 }]), w(g, weights, 'vit.embeddings.position_embeddings')]);
  for (let i = 0; i < config.numLayers; i++) {
    const l = `vit.encoder.layer.${i}`;
    const a = `${l}.attention.attention`;
    x = block(
      g,
      weights,
      x,
      {
        ln1: `${l}.layernorm_before`,
        ln2: `${l}.layernorm_after`,
        qkv: [`${a}.query`, `${a}.key`, `${a}.value`],
        out: `${l}.attention.output.dense`,
        up: `${l}.intermediate.dense`,
        down: `${l}.output.dense`,
      },
      s,
    );
  }
  const clsRow = g.op('Gather', [x, g.int64([0], true)], [{ name: 'axis', int: 1 }]);
  g.op('Add', [g.op('MatMul', [layerNorm(g, weights, clsRow, 'vit.layernorm', s.eps), w(g, weights, 'classifier.weight')]), w(g, weights, 'classifier.bias')], [], 'logits');
  g.output('logits', [batch, config.numLabels]);
  return g.finish('vit_classifier');
}
