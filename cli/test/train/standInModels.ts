/**
 * Tiny stand-ins for the registry's ViT and GPT (same `SwapformerModel` contract), used to test
 * the training loop and the main job without the real graphs: a linear classifier over
 * pixels, and a bigram character model. With a registry, one attention layer (layer 0, one
 * head) runs the selected operator through `runAttention` as a residual branch, so hooks and
 * the profiler see it. Saved in the HF layout (config.json + model.safetensors).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { createSeededRandom, runAttention, type AttentionOperator, type OperatorCapabilities } from '@swapformer/core';
import { selectionForLayer, type AttentionSpec } from '../../../registry/src/config/attentionSelections';
import type { OperatorRegistry } from '../../../registry/src/registry/OperatorRegistry';
import type { NamedVariable, SwapformerModel } from '../../../models/src/models/SwapformerModel';
import type { ModelFactory } from '../../src/train/ModelFactory';
import { encodeSafetensors, openSafetensors, writeFileAtomic, type TensorToWrite } from '../../../models/src/hf/safetensors';

export interface StandInConfig {
  readonly model_type: 'vit' | 'gpt2';
  readonly num_labels?: number;
  readonly vocab_size?: number;
  readonly image_size?: number;
}

function randomVariable(shape: number[], std: number, seed: number, name: string): tf.Variable {
  const data = createSeededRandom(seed).fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1)), 0, std);
  const initial = tf.tensor(data, shape);
  const variable = tf.variable(initial, true, `${name}_${seed}_${Math.random().toString(36).slice(2)}`);
  initial.dispose();
  return variable;
}

function zerosVariable(shape: number[]): tf.Variable {
  const initial = tf.zeros(shape);
  const variable = tf.variable(initial, true);
  initial.dispose();
  return variable;
}

/** A stand-in model; without a registry `attention` is only recorded. */
export function createStandInModel(config: StandInConfig, seed: number, attention?: AttentionSpec, registry?: OperatorRegistry): SwapformerModel & { readonly attention?: AttentionSpec } {
  const gpt = config.model_type !== 'vit';
  let layer: { operator: AttentionOperator; capabilities: OperatorCapabilities } | null = null;
  if (registry) {
    const resolved = registry.resolve(selectionForLayer(attention ?? { name: 'exact' }, 0, 1).selection, gpt ? { causal: true } : {}, { layerIndex: 0 });
    layer = { operator: resolved.create({ heads: 1, headDim: gpt ? (config.vocab_size ?? 16) : 16, layerIndex: 0 }), capabilities: resolved.capabilities };
  }
  // [b, 1, n, d] tokens through the layer's operator, residual.
  const attend = (tokens: tf.Tensor4D, seed?: number): tf.Tensor4D =>
    layer ? (tf.add(tokens, runAttention({ hooks: registry!.hooks, operator: layer.operator, capabilities: layer.capabilities, layerIndex: 0 }, tokens, tokens, tokens, { causal: gpt, seed, layerIndex: 0 })) as tf.Tensor4D) : tokens;
  const params: NamedVariable[] = [];
  if (config.model_type === 'vit') {
    const pixels = (config.image_size ?? 28) ** 2;
    const labels = config.num_labels ?? 10;
    params.push({ name: 'classifier.weight', variable: randomVariable([pixels, labels], 0.01, seed, 'w'), trainable: true });
    params.push({ name: 'classifier.bias', variable: zerosVariable([labels]), trainable: true });
  } else {
    const vocab = config.vocab_size ?? 16;
    params.push({ name: 'transformer.wte.weight', variable: randomVariable([vocab, vocab], 0.01, seed, 'wte'), trainable: true });
    params.push({ name: 'lm_head.bias', variable: zerosVariable([vocab]), trainable: true });
  }
  const get = (name: string) => params.find((p) => p.name === name)!.variable;
  return {
    kind: config.model_type === 'vit' ? 'vit' : 'gpt',
    config: { ...config },
    attention,
    forward(input, options) {
      return tf.tidy(() => {
        if (config.model_type === 'vit') {
          const b = input.shape[0];
          const flat = tf.reshape(attend(tf.reshape(input, [b, 1, -1, 16]) as tf.Tensor4D, options?.seed), [b, -1]);
          return tf.add(tf.matMul(flat, get('classifier.weight')), get('classifier.bias'));
        }
        const [b, t] = input.shape;
        // oneHot · matMul, not gather: the wasm backend has no UnsortedSegmentSum (gather's gradient).
        const table = get('transformer.wte.weight');
        const rows = tf.matMul(tf.oneHot(tf.reshape(tf.cast(input, 'int32'), [-1]), table.shape[0]), table);
        const mixed = tf.reshape(attend(tf.reshape(rows, [b, 1, t, -1]) as tf.Tensor4D, options?.seed), [b * t, -1]);
        return tf.reshape(tf.add(mixed, get('lm_head.bias')), [b, t, -1]);
      });
    },
    parameters: () => params,
    dispose: () => {
      params.forEach((p) => p.variable.dispose());
      layer?.operator.dispose();
    },
  };
}

/** Saves a stand-in in the HF layout. */
export function saveStandIn(model: SwapformerModel & { readonly attention?: AttentionSpec }, dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...model.config, ...(model.attention ? { attention: model.attention } : {}) }));
  const tensors = new Map<string, TensorToWrite>(model.parameters().map((p) => [p.name, { shape: p.variable.shape, data: p.variable.dataSync() as Float32Array }]));
  writeFileAtomic(path.join(dir, 'model.safetensors'), encodeSafetensors(tensors));
}

export function loadStandIn(dir: string, attention?: AttentionSpec, registry?: OperatorRegistry): SwapformerModel & { readonly attention?: AttentionSpec } {
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as StandInConfig & { attention?: AttentionSpec };
  const model = createStandInModel(config, 0, attention ?? config.attention, registry);
  const saved = openSafetensors(path.join(dir, 'model.safetensors'));
  for (const p of model.parameters()) {
    const value = tf.tensor(saved.read(p.name), p.variable.shape);
    p.variable.assign(value);
    value.dispose();
  }
  return model;
}

/** A `ModelFactory` over stand-ins that records every attention spec it was asked for. */
export function createStandInFactory(config: StandInConfig, registry?: OperatorRegistry): ModelFactory & { readonly requested: Array<AttentionSpec | undefined> } {
  const requested: Array<AttentionSpec | undefined> = [];
  return {
    requested,
    create(attention, seed) {
      requested.push(attention);
      return createStandInModel(config, seed, attention, registry);
    },
    load(dir, attention) {
      requested.push(attention);
      return loadStandIn(dir, attention, registry);
    },
    save: (model, dir) => saveStandIn(model, dir),
  };
}
