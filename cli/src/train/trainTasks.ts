/**
 * The two training tasks behind one interface: Fashion-MNIST classification (ViT) and
 * next-character prediction on State of the Union addresses (GPT).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Scalar, Tensor } from '@tensorflow/tfjs-core';
import { deriveSeed } from '@swapformer/core';
import type { SwapformerModel } from '@swapformer/models';
import { charTokenizerConfig, createCharVocabulary, type CharVocabulary } from '../data/charVocabulary';
import { loadFashionMnist, sliceImageSet, type ImageSet } from '../data/fashionMnist';
import { joinSpeeches, loadSotuSpeeches, splitSpeeches } from '../data/sotu';
import { FASHION_MNIST_MEAN, FASHION_MNIST_STD, imageBatchIndices, imageLabels, imagePixels, stepsPerEpoch, textBatch, textEvalWindows } from './batches';
import { evaluateAccuracy, evaluateTextLoss } from './evaluate';
import { crossEntropy } from './losses';
import type { TrainConfig } from './trainConfig';

export interface TrainTask {
  /** What one example is, for throughput ("img", "char"). */
  readonly unit: string;
  /** Examples (images or characters) consumed per step. */
  readonly unitsPerStep: number;
  /** The validation metric and whether larger is better. */
  readonly metric: { readonly name: string; readonly higherIsBetter: boolean };
  readonly totalSteps: number;
  /** Input and target tensors of batch `step` (the caller disposes them). */
  batch(step: number): { input: Tensor; target: Tensor };
  loss(model: SwapformerModel, input: Tensor, target: Tensor, seed: number): Scalar;
  validate(model: SwapformerModel): Promise<number>;
  /** Files that belong next to the weights (image preprocessing). */
  saveExtras(dir: string): void;
  /** What the data fixes in the model config (the char tokenizer and vocabSize). */
  readonly modelConfigPatch: Readonly<Record<string, unknown>>;
}

/**
 * Fashion-MNIST: augmented, seeded batches; validation accuracy on held-out train images.
 *
 * @example const task = createImageTask(train, validation, config);
 */
export function createImageTask(train: ImageSet, validation: ImageSet, config: TrainConfig): TrainTask {
  const perEpoch = stepsPerEpoch(train.count, config.batchSize);
  const cache = { epoch: -1, perm: new Int32Array(0) };
  return {
    modelConfigPatch: {},
    unit: 'img',
    unitsPerStep: config.batchSize,
    metric: { name: 'val_accuracy', higherIsBetter: true },
    totalSteps: config.schedule.steps ?? Math.max(1, Math.round((config.schedule.epochs ?? 1) * perEpoch)),
    batch(step) {
      const indices = imageBatchIndices(train.count, config.batchSize, config.seed, step, cache);
      const pixels = imagePixels(train, indices, config.data.augment, deriveSeed(config.seed, 'augment', step));
      return { input: tf.tensor4d(pixels, [indices.length, 1, train.height, train.width]), target: tf.tensor1d(imageLabels(train, indices), 'int32') };
    },
    loss: (model, input, target, seed) => crossEntropy(model.forward(input, { training: true, seed }), target, config.labelSmoothing),
    validate: async (model) => (validation.count === 0 ? NaN : (await evaluateAccuracy(model, validation, { batchSize: config.eval.batchSize, seed: config.seed })).accuracy),
    saveExtras(dir) {
      const pre = { do_rescale: true, rescale_factor: 1 / 255, do_normalize: true, image_mean: [FASHION_MNIST_MEAN], image_std: [FASHION_MNIST_STD], size: { height: train.height, width: train.width } };
      fs.writeFileSync(path.join(dir, 'preprocessor_config.json'), `${JSON.stringify(pre, null, 2)}\n`);
    },
  };
}

/**
 * SOTU characters: random windows of the training text; validation bits per character on
 * fixed windows of the validation addresses.
 */
export function createTextTask(trainTokens: Int32Array, validationTokens: Int32Array, vocab: CharVocabulary, config: TrainConfig): TrainTask {
  const length = config.data.contextLength;
  const windows = textEvalWindows(validationTokens, length, config.data.validationWindows);
  return {
    modelConfigPatch: { vocabSize: vocab.size, tokenizer: charTokenizerConfig(vocab) },
    unit: 'char',
    unitsPerStep: config.batchSize * length,
    metric: { name: 'val_bpc', higherIsBetter: false },
    totalSteps: config.schedule.steps ?? 1,
    batch(step) {
      const { inputs, targets } = textBatch(trainTokens, config.batchSize, length, config.seed, step);
      return { input: tf.tensor2d(inputs, [config.batchSize, length], 'int32'), target: tf.tensor2d(targets, [config.batchSize, length], 'int32') };
    },
    loss: (model, input, target, seed) => crossEntropy(model.forward(input, { training: true, seed }), target),
    validate: async (model) => (windows.length === 0 ? NaN : (await evaluateTextLoss(model, windows, { batchSize: config.eval.batchSize, seed: config.seed })).bitsPerChar),
    saveExtras: () => undefined,
  };
}

/** Loads the data a config names and builds its task (reads the apt package or npm corpus). */
export function loadTrainTask(config: TrainConfig): TrainTask {
  if (config.task === 'fashion-mnist') {
    const all = loadFashionMnist('train', config.data.dir);
    const cut = all.count - config.data.validationSize;
    return createImageTask(sliceImageSet(all, 0, cut), sliceImageSet(all, cut, all.count), config);
  }
  const splits = splitSpeeches(loadSotuSpeeches(config.data.dir), config.data.heldOutFraction);
  const trainText = joinSpeeches(splits.train);
  const vocab = createCharVocabulary(trainText);
  return createTextTask(vocab.encode(trainText), vocab.encode(joinSpeeches(splits.validation)), vocab, config);
}
