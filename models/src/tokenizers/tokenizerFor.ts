import { SwapformerError } from '@swapformer/core';
import type { GptModelConfig } from '../models/modelConfig';
import { createCharTokenizer } from './charTokenizer';
import { createGpt2Tokenizer, GPT2_VOCAB_SIZE } from './gpt2Tokenizer';
import type { Tokenizer } from './Tokenizer';

/**
 * The tokenizer a GPT config names (`tokenizer`), else GPT-2 BPE for a GPT-2-sized vocabulary.
 *
 * @example const tokenizer = tokenizerFor(model.modelConfig);
 */
export function tokenizerFor(config: GptModelConfig): Tokenizer {
  const t = config.tokenizer;
  if (t?.type === 'char') return createCharTokenizer(t.vocab);
  if (t?.type === 'gpt2' || config.vocabSize === GPT2_VOCAB_SIZE) return createGpt2Tokenizer();
  throw new SwapformerError(
    'invalid-config',
    `this GPT (vocabSize ${config.vocabSize}) names no tokenizer, and its vocabulary is not GPT-2's (${GPT2_VOCAB_SIZE}).\n  Add "tokenizer": {"type": "char", "vocab": "..."} to its config, or pass token ids instead of text.`,
  );
}
