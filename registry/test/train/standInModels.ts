/**
 * Tiny stand-ins for the registry's ViT and GPT (same `SwapformerModel` contract), used to test
 * the training loop and the main job without the real graphs: a linear classifier over
 * pixels, and a bigram character model. Saved in the HF layout (config.json +
 * model.safetensors) through the optimizer-state codec.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { createSeededRandom } from '@swapformer/core';
import type { AttentionSpec } from '../../src/config/attentionSelections';
import type { NamedVariable, SwapformerModel } from '../../src/models/SwapformerModel';
import type { ModelFactory } from '../../src/train/ModelFactory';
import { readTensorFile, writeTensorFile, type HostTensor } from '../../src/train/tensorFile';

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

/** A stand-in model; `attention` is only recorded (it has no attention). */
export function createStandInModel(config: StandInConfig, seed: number, attention?: AttentionSpec): SwapformerModel & { readonly attention?: AttentionSpec } {
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
    forward(input) {
      return tf.tidy(() => {
        if (config.model_type === 'vit') {
          const flat = tf.reshape(input, [input.shape[0], -1]);
          return tf.add(tf.matMul(flat, get('classifier.weight')), get('classifier.bias'));
        }
        const [b, t] = input.shape;
        // oneHot · matMul, not gather: the wasm backend has no UnsortedSegmentSum (gather's gradient).
        const table = get('transformer.wte.weight');
        const rows = tf.matMul(tf.oneHot(tf.reshape(tf.cast(input, 'int32'), [-1]), table.shape[0]), table);
        return tf.reshape(tf.add(rows, get('lm_head.bias')), [b, t, -1]);
      });
    },
    parameters: () => params,
    dispose: () => params.forEach((p) => p.variable.dispose()),
  };
}

/** Saves a stand-in in the HF layout. */
export function saveStandIn(model: SwapformerModel, dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(model.config));
  const tensors = new Map<string, HostTensor>(model.parameters().map((p) => [p.name, { shape: p.variable.shape, data: p.variable.dataSync() as Float32Array }]));
  writeTensorFile(path.join(dir, 'model.safetensors'), tensors);
}

export function loadStandIn(dir: string, attention?: AttentionSpec): SwapformerModel & { readonly attention?: AttentionSpec } {
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as StandInConfig;
  const model = createStandInModel(config, 0, attention);
  const saved = readTensorFile(path.join(dir, 'model.safetensors'));
  for (const p of model.parameters()) {
    const value = tf.tensor(saved.get(p.name)!.data, p.variable.shape);
    p.variable.assign(value);
    value.dispose();
  }
  return model;
}

/** A `ModelFactory` over stand-ins that records every attention spec it was asked for. */
export function createStandInFactory(config: StandInConfig): ModelFactory & { readonly requested: Array<AttentionSpec | undefined> } {
  const requested: Array<AttentionSpec | undefined> = [];
  return {
    requested,
    create(attention, seed) {
      requested.push(attention);
      return createStandInModel(config, seed, attention);
    },
    load(dir, attention) {
      requested.push(attention);
      return loadStandIn(dir, attention);
    },
    save: (model, dir) => saveStandIn(model, dir),
  };
}
