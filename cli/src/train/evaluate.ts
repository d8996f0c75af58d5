/**
 * Evaluation shared by training (validation) and the main job (test): top-1 accuracy of a ViT
 * on an image set, and bits per character of a char-GPT on held-out text.
 */
import * as tf from '@tensorflow/tfjs-core';
import { throwIfWebGpuFailed } from '@swapformer/core';
import type { SwapformerModel } from '@swapformer/models';
import type { ImageSet } from '../data/fashionMnist';
import { imagePixels } from './batches';
import { countCorrect, crossEntropy } from './losses';

export interface AccuracyResult {
  readonly correct: number;
  readonly count: number;
  readonly accuracy: number;
}

/**
 * Top-1 accuracy over the first `limit` images, in batches; `onBatch` is called after each.
 *
 * @example const { accuracy } = await evaluateAccuracy(vit, loadCommittedTestSubset(), { batchSize: 100, seed: 1 });
 */
export async function evaluateAccuracy(model: SwapformerModel, set: ImageSet, options: { batchSize?: number; seed?: number; limit?: number; onBatch?: (done: number, total: number) => void } = {}): Promise<AccuracyResult> {
  const total = Math.min(set.count, options.limit ?? set.count);
  const batchSize = options.batchSize ?? 100;
  let correct = 0;
  for (let start = 0; start < total; start += batchSize) {
    const indices = Int32Array.from({ length: Math.min(batchSize, total - start) }, (_, i) => start + i);
    const pixels = imagePixels(set, indices);
    const logits = tf.tidy(() => model.forward(tf.tensor4d(pixels, [indices.length, 1, set.height, set.width]), { training: false, seed: options.seed }));
    correct += await countCorrect(logits, Int32Array.from(indices, (i) => set.labels[i]));
    logits.dispose();
    options.onBatch?.(start + indices.length, total);
  }
  await throwIfWebGpuFailed('the accuracy evaluation');
  return { correct, count: total, accuracy: total === 0 ? 0 : correct / total };
}

export interface TextLossResult {
  /** Mean cross-entropy per predicted character, in nats. */
  readonly nats: number;
  /** The same in bits per character. */
  readonly bitsPerChar: number;
  readonly characters: number;
}

/**
 * Mean next-character loss over evaluation windows (each `[length]` inputs and targets).
 *
 * @example const { bitsPerChar } = await evaluateTextLoss(gpt, textEvalWindows(vocab.encode(text), 512, 16));
 */
export async function evaluateTextLoss(model: SwapformerModel, windows: ReadonlyArray<{ inputs: Int32Array; targets: Int32Array }>, options: { batchSize?: number; seed?: number; onBatch?: (done: number, total: number) => void } = {}): Promise<TextLossResult> {
  const batchSize = options.batchSize ?? 4;
  let totalNats = 0;
  let characters = 0;
  for (let start = 0; start < windows.length; start += batchSize) {
    const batch = windows.slice(start, start + batchSize);
    const length = batch[0].inputs.length;
    const inputs = new Int32Array(batch.length * length);
    const targets = new Int32Array(batch.length * length);
    batch.forEach((w, i) => {
      inputs.set(w.inputs, i * length);
      targets.set(w.targets, i * length);
    });
    const loss = tf.tidy(() => crossEntropy(model.forward(tf.tensor2d(inputs, [batch.length, length], 'int32'), { training: false, seed: options.seed }), tf.tensor2d(targets, [batch.length, length], 'int32')));
    totalNats += (await loss.data())[0] * targets.length;
    characters += targets.length;
    loss.dispose();
    options.onBatch?.(start + batch.length, windows.length);
  }
  const nats = characters === 0 ? 0 : totalNats / characters;
  await throwIfWebGpuFailed('the text-loss evaluation');
  return { nats, bitsPerChar: nats / Math.LN2, characters };
}
