/**
 * Autoregressive generation for decoder graphs (GPT-2, Llama family). With every layer's operator offering a decoding
 * state (exact's kv-cache, a recurrent state), each new token costs one step over that token
 * only; the logits equal those of a full forward over the prefix. Operators without one force
 * recomputing the whole prefix per token — only when the config allows it
 * (`decoding: "recompute"`), and the result says so.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createSeededRandom, SwapformerError } from '@swapformer/core';
import type { DecoderModel, DecoderState } from '../models/DecoderModel';
import { sampleToken, type SamplingOptions } from './sampleToken';

export interface GenerateOptions extends SamplingOptions {
  readonly maxNewTokens: number;
  /** Seed of the sampler (same seed, same tokens). Default 0. */
  readonly seed?: number;
  /** Overrides the model config's `decoding` policy. */
  readonly decoding?: 'incremental' | 'recompute';
  /** Stop a sequence after this token (it is kept in the output). */
  readonly stopToken?: number;
  /** Called with the logits `[batch, vocab]` used to pick each new token (step 0 = after the prompt). */
  readonly onStep?: (step: number, logits: Float32Array, vocab: number) => void;
}

export interface GenerateResult {
  /** Generated ids per sequence (without the prompt). */
  readonly tokens: number[][];
  /** How the steps ran: through the operators' decoding states, or by recomputing the prefix. */
  readonly decoding: 'kv-cache' | 'recurrent-state' | 'mixed' | 'recompute';
  /** Set when recomputation was used, saying which layers lack a decoding state. */
  readonly note?: string;
}

function lastRow(logits: tf.Tensor3D): Float32Array {
  const [b, t, v] = logits.shape;
  if (t === 1) return logits.dataSync() as Float32Array;
  // the typed array is read after the tidy: a tidy walks what it returns, here every element
  const row = tf.tidy(() => tf.slice(logits, [0, t - 1, 0], [b, 1, v]));
  try {
    return row.dataSync() as Float32Array;
  } finally {
    row.dispose();
  }
}

/**
 * Generates up to `maxNewTokens` tokens after each prompt (all prompts the same length).
 *
 * @example const { tokens } = generate(gpt, [tokenizer.encode('To be')], { maxNewTokens: 20, temperature: 0.8, topK: 10, seed: 1 });
 */
export function generate(model: DecoderModel, prompts: readonly (readonly number[])[], options: GenerateOptions): GenerateResult {
  const config = model.modelConfig;
  if (!config.lmHead) throw new SwapformerError('unsupported', `generate needs a decoder with an LM head (GPT2LMHeadModel, LlamaForCausalLM, …); this "${model.kind}" model is a bare decoder.`);
  const batch = prompts.length;
  const length = prompts[0]?.length ?? 0;
  if (batch === 0 || length === 0 || prompts.some((p) => p.length !== length)) {
    throw new SwapformerError('invalid-input', 'generate needs at least one non-empty prompt, all of the same length.');
  }
  if (!Number.isInteger(options.maxNewTokens) || options.maxNewTokens < 0) throw new SwapformerError('invalid-input', `maxNewTokens must be a non-negative integer, got ${options.maxNewTokens}.`);
  if (length + options.maxNewTokens > model.contextLength + 1) {
    throw new SwapformerError('invalid-input', `a prompt of ${length} tokens plus ${options.maxNewTokens} new ones exceeds the ${model.contextLength}-position context.`);
  }
  const support = model.decodingSupport();
  const policy = options.decoding ?? config.decoding;
  if (support.mode === null && policy !== 'recompute') model.initDecoding(batch); // throws, naming the layers without a state
  const rng = createSeededRandom(options.seed ?? 0);
  const vocab = config.vocabSize;
  const tokens: number[][] = prompts.map(() => []);
  const done = prompts.map(() => false);
  const pick = (step: number, logits: Float32Array): number[] => {
    options.onStep?.(step, logits, vocab);
    return tokens.map((_, i) => sampleToken(logits.subarray(i * vocab, (i + 1) * vocab), options, rng));
  };
  const accept = (next: number[]): boolean => {
    next.forEach((id, i) => {
      if (done[i]) return;
      tokens[i].push(id);
      if (id === options.stopToken) done[i] = true;
    });
    return done.every(Boolean);
  };
  if (options.maxNewTokens === 0) return { tokens, decoding: support.mode ?? 'recompute' };

  if (support.mode === null) {
    const sequences = prompts.map((p) => [...p]);
    for (let step = 0; step < options.maxNewTokens; step++) {
      const logits = tf.tidy(() => model.forward(tf.tensor2d(sequences, [batch, sequences[0].length], 'int32')) as tf.Tensor3D);
      const next = pick(step, lastRow(logits));
      logits.dispose();
      if (accept(next)) break;
      next.forEach((id, i) => sequences[i].push(id));
    }
    const note = `recomputed the whole prefix for every token: ${support.missing.map((m) => `layer ${m.layer} ("${m.operator}")`).join(', ')} ${support.missing.length === 1 ? 'has' : 'have'} no decoding state.`;
    return { tokens, decoding: 'recompute', note };
  }

  let state: DecoderState = model.initDecoding(batch);
  try {
    let input = tf.tensor2d(prompts as number[][], [batch, length], 'int32');
    for (let step = 0; step < options.maxNewTokens; step++) {
      const { logits, state: next } = model.step(input, state, { logits: 'last' });
      input.dispose();
      model.disposeDecoding(state, next);
      state = next;
      const ids = pick(step, lastRow(logits));
      logits.dispose();
      if (accept(ids) || step === options.maxNewTokens - 1) return { tokens, decoding: support.mode };
      input = tf.tensor2d(ids.map((id) => [id]), [batch, 1], 'int32');
    }
    input.dispose();
    return { tokens, decoding: support.mode };
  } finally {
    model.disposeDecoding(state);
  }
}
