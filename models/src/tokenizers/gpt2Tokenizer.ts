import type { Tokenizer } from './Tokenizer';

type Encoding = typeof import('gpt-tokenizer/encoding/r50k_base');

/** GPT-2's vocabulary size (r50k_base: 50 000 merges + 256 bytes + <|endoftext|>). */
export const GPT2_VOCAB_SIZE = 50257;

/**
 * GPT-2 byte-pair encoding (the `r50k_base` encoding of `gpt-tokenizer`, which ships its
 * merge table: works offline). Loaded on first use, since the table takes a moment to parse;
 * Node's module cache keeps the one parsed table for every tokenizer.
 *
 * @example createGpt2Tokenizer().encode('Hello world') // [15496, 995]
 */
export function createGpt2Tokenizer(): Tokenizer {
  const load = (): Encoding => require('gpt-tokenizer/encoding/r50k_base') as Encoding;
  return {
    name: 'gpt2',
    vocabSize: GPT2_VOCAB_SIZE,
    encode: (text) => load().encode(text),
    decode: (ids) => load().decode(ids),
  };
}
