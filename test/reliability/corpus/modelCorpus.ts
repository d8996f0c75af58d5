/**
 * Malformed model configs (ViT and GPT): head counts that do not divide the width, patches that
 * do not tile the image, negative and huge sizes, sizes whose product would not fit in memory,
 * tokenizers that contradict the vocabulary, overrides beyond the last layer. They go through
 * `validateConfig` (what `swapformer validate` and every command run first), so each must be
 * refused there, before anything is built.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import type { SwapformerErrorKind } from '@swapformer/core';
import { TINY_GPT } from '../support/models';
import { caseCollector, type MalformedCase } from './MalformedCase';

const vit = { model: 'vit', imageSize: 32, patchSize: 8, numChannels: 3, hiddenSize: 64, numLayers: 2, numHeads: 4, numLabels: 10 };
const gpt = { model: 'gpt', vocabSize: 65, nPositions: 64, hiddenSize: 64, numLayers: 2, numHeads: 4 };
const invalid = (...includes: string[]) => ({ kind: 'invalid-config', includes }) as const;
const json = (value: unknown) => ({ form: 'json', value }) as const;

/** Every model-config case (they apply once the model config kinds exist). */
export function modelConfigCorpus(): MalformedCase[] {
  const divide = caseCollector('model-divisibility');
  divide.add('ViT width 10 over 3 heads', json({ ...vit, hiddenSize: 10, numHeads: 3 }), invalid('hiddenSize 10 is not a multiple of numHeads 3'));
  divide.add('ViT width 64 over 5 heads', json({ ...vit, numHeads: 5 }), invalid('hiddenSize 64 is not a multiple of numHeads 5'));
  divide.add('GPT width 64 over 6 heads', json({ ...gpt, numHeads: 6 }), invalid('hiddenSize 64 is not a multiple of numHeads 6'));
  divide.add('GPT more heads than width', json({ ...gpt, hiddenSize: 8, numHeads: 16 }), invalid('hiddenSize 8 is not a multiple of numHeads 16'));
  divide.add('ViT image 30 in patches of 8', json({ ...vit, imageSize: 30 }), invalid('imageSize 30 is not a multiple of patchSize 8'));
  divide.add('ViT pixel stage width 10 over 4 heads', json({ ...vit, pixelStage: { layers: 1, hiddenSize: 10, heads: 4, patchMerge: 4 } }), invalid('pixelStage.hiddenSize 10 is not a multiple of pixelStage.heads 4'));
  divide.add('ViT image 32 merged by 5', json({ ...vit, pixelStage: { layers: 1, hiddenSize: 8, heads: 2, patchMerge: 5 } }), invalid('imageSize 32 is not a multiple of pixelStage.patchMerge 5'));

  const sizes = caseCollector('model-sizes');
  const at = (title: string, config: object, path: string) => sizes.add(title, json(config), invalid(`at ${path}: must`));
  for (const [key, value] of [['imageSize', -1], ['imageSize', 0], ['imageSize', 1e9], ['patchSize', 0], ['hiddenSize', 0], ['hiddenSize', 1e7], ['numHeads', 0], ['numLayers', -1], ['numLabels', -1], ['numChannels', 1000], ['layerNormEps', 0], ['initializerRange', -1], ['seed', -1], ['imageSize', 2.5]] as const) {
    at(`ViT ${key} ${value}`, { ...vit, [key]: value }, `/${key}`);
  }
  for (const [key, value] of [['vocabSize', 0], ['vocabSize', 1e12], ['nPositions', -5], ['nPositions', 2 ** 40], ['numLayers', 0], ['hiddenSize', -64], ['intermediateSize', 0], ['numHeads', 1.5]] as const) {
    at(`GPT ${key} ${value}`, { ...gpt, [key]: value }, `/${key}`);
  }
  sizes.add('ViT with every size at its maximum (terabytes of weights)', json({ model: 'vit', imageSize: 4096, patchSize: 1, hiddenSize: 65536, numLayers: 4096, numHeads: 4096, numLabels: 1000000 }), invalid('parameters'));
  sizes.add('GPT with every size at its maximum', json({ model: 'gpt', vocabSize: 1000000, nPositions: 1048576, hiddenSize: 65536, numLayers: 4096, numHeads: 4096 }), invalid('parameters'));

  const other = caseCollector('model-semantics');
  other.add('unknown model "bert"', json({ ...vit, model: 'bert' }), invalid('cannot tell what kind of config'));
  other.add('Hugging Face key names', json({ model: 'vit', hidden_size: 768 }), invalid('unknown key "hidden_size"'));
  other.add('ViT unknown activation', json({ ...vit, hiddenAct: 'swiglu' }), invalid('at /hiddenAct: must be one of the allowed values'));
  other.add('ViT pooler with a classifier head', json({ ...vit, pooler: true }), invalid('pooler is for bare encoders only'));
  other.add('ViT without layers or head', json({ ...vit, numLayers: 0, numLabels: 0 }), invalid('the model has no layers'));
  other.add('GPT untied embeddings without an LM head', json({ ...gpt, lmHead: false, tieWordEmbeddings: false }), invalid('tieWordEmbeddings false needs an LM head'));
  other.add('GPT char vocabulary with a repeat', json({ ...gpt, tokenizer: { type: 'char', vocab: 'abca' } }), invalid('tokenizer.vocab repeats a character'));
  other.add('GPT char vocabulary larger than vocabSize', json({ ...gpt, vocabSize: 3, tokenizer: { type: 'char', vocab: 'abcd' } }), invalid('more than vocabSize 3'));
  other.add('GPT-2 tokenizer with a small vocabulary', json({ ...gpt, tokenizer: { type: 'gpt2' } }), invalid('needs vocabSize ≥ 50257'));
  other.add('override beyond the last layer', json({ ...gpt, attention: { default: { name: 'exact' }, overrides: [{ layers: [7], name: 'exact' }] } }), invalid('names layer 7, but the model has 2 layers'));
  other.add('unknown operator in a model', json({ ...vit, attention: { name: 'nope' } }), invalid('unknown attention operator "nope"'));
  other.add('path as operator in a model', json({ ...gpt, attention: { name: '../plugin.js' } }), invalid('at /attention/name: must'));
  return [...divide.cases, ...sizes.cases, ...other.cases];
}

/** A malformed input for a built model. */
export interface ModelInputCase {
  readonly title: string;
  readonly model: 'vit' | 'gpt';
  make(): Tensor;
  readonly kind: SwapformerErrorKind;
  readonly includes: string;
}

const pixels = (shape: number[], poison?: number) => {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.5);
  if (poison !== undefined && data.length) data[3] = poison;
  return tf.tensor(data, shape);
};

export const MODEL_INPUT_CASES: readonly ModelInputCase[] = [
  { title: 'NaN pixel', model: 'vit', make: () => pixels([1, 3, 16, 16], NaN), kind: 'non-finite-input', includes: 'NaN' },
  { title: 'Infinity pixel', model: 'vit', make: () => pixels([1, 3, 16, 16], Infinity), kind: 'non-finite-input', includes: 'NaN or Inf' },
  { title: 'image of the wrong size', model: 'vit', make: () => pixels([1, 3, 8, 8]), kind: 'invalid-input', includes: '16' },
  { title: 'one channel instead of three', model: 'vit', make: () => pixels([1, 1, 16, 16]), kind: 'invalid-input', includes: '3' },
  { title: 'pixels of rank 3', model: 'vit', make: () => pixels([3, 16, 16]), kind: 'invalid-input', includes: 'pixel_values must be [batch, 3, 16, 16]' },
  { title: 'empty batch of images', model: 'vit', make: () => pixels([0, 3, 16, 16]), kind: 'invalid-input', includes: '0' },
  { title: 'int32 pixels', model: 'vit', make: () => tf.zeros([1, 3, 16, 16], 'int32'), kind: 'invalid-input', includes: 'float32' },
  { title: 'token id ≥ vocabSize', model: 'gpt', make: () => tf.tensor2d([[1, 2, TINY_GPT.vocabSize]], undefined, 'int32'), kind: 'invalid-input', includes: `must be in [0, ${TINY_GPT.vocabSize})` },
  { title: 'negative token id', model: 'gpt', make: () => tf.tensor2d([[1, -1]], undefined, 'int32'), kind: 'invalid-input', includes: 'must be in [0,' },
  { title: 'float token ids', model: 'gpt', make: () => tf.tensor2d([[1.5, 2]]), kind: 'invalid-input', includes: 'must be int32' },
  { title: 'more tokens than positions', model: 'gpt', make: () => tf.zeros([1, TINY_GPT.nPositions + 1], 'int32'), kind: 'invalid-input', includes: `exceed the context of ${TINY_GPT.nPositions} positions` },
  { title: 'token ids of rank 1', model: 'gpt', make: () => tf.tensor1d([1, 2], 'int32'), kind: 'invalid-input', includes: 'must be [batch, tokens]' },
  { title: 'zero tokens', model: 'gpt', make: () => tf.zeros([1, 0], 'int32'), kind: 'invalid-input', includes: 'at least one token' },
];
