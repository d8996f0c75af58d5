/** Seeded character sampling from a GPT by recomputing the (windowed) prefix for every token. */
import * as tf from '@tensorflow/tfjs-core';
import { createSeededRandom } from '@swapformer/core';
import type { SwapformerModel } from '@swapformer/models';
import type { CharVocabulary } from '../data/charVocabulary';

export interface GenerateOptions {
  readonly length: number;
  /** 0 picks the most likely character. */
  readonly temperature: number;
  /** Seed of the sampling (and of randomized operators). */
  readonly seed: number;
  /** Longest prefix fed to the model (its context). */
  readonly contextLength: number;
}

/**
 * Continues `prompt` by `length` characters. Works with any operator (no decoding state
 * needed), at the price of one full forward per character.
 *
 * @example const text = await generateText(gpt, vocab, 'Mr. Speaker, ', { length: 80, temperature: 0.7, seed: 1, contextLength: 512 });
 */
export async function generateText(model: SwapformerModel, vocab: CharVocabulary, prompt: string, options: GenerateOptions): Promise<string> {
  const rng = createSeededRandom(options.seed);
  const ids = Array.from(vocab.encode(prompt));
  const generated: number[] = [];
  for (let i = 0; i < options.length; i++) {
    const window = ids.slice(-options.contextLength);
    const probs = tf.tidy(() => {
      const logits = model.forward(tf.tensor2d(window, [1, window.length], 'int32'), { training: false, seed: options.seed }); // [1, t, vocab]
      const last = tf.reshape(tf.slice(logits, [0, window.length - 1, 0], [1, 1, -1]), [-1]);
      return options.temperature > 0 ? tf.softmax(tf.div(last, options.temperature)) : last;
    });
    const p = await probs.data(); // asynchronous: webgpu in Node cannot read synchronously
    probs.dispose();
    let next = 0;
    if (options.temperature > 0) {
      let u = rng.uniform();
      next = p.length - 1;
      for (let j = 0; j < p.length; j++) {
        u -= p[j];
        if (u < 0) {
          next = j;
          break;
        }
      }
    } else {
      for (let j = 1; j < p.length; j++) if (p[j] > p[next]) next = j;
    }
    ids.push(next);
    generated.push(next);
  }
  return vocab.decode(generated);
}
