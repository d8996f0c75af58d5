/**
 * A character vocabulary: id 0 is "unknown" (shown as ¿), ids 1… are the characters of the
 * training text in code-point order. A GPT checkpoint carries it in its config as the
 * tokenizer `{"type": "char", "vocab": "¿…"}` (id = position in the string).
 */
import { SwapformerError } from '@swapformer/core';

/** Id 0's character: unknown characters encode to 0 and decode to this. */
export const UNKNOWN_CHAR = '\u00bf';

export interface CharVocabulary {
  /** Every id's character in id order; `chars[0]` is UNKNOWN_CHAR. */
  readonly chars: string;
  /** Number of ids (the model's vocabSize). */
  readonly size: number;
  encode(text: string): Int32Array;
  decode(ids: ArrayLike<number>): string;
}

function fromIdOrder(chars: string): CharVocabulary {
  const list = [...chars];
  const index = new Map<string, number>(list.map((c, i) => [c, i]));
  return {
    chars,
    size: list.length,
    encode: (t) => Int32Array.from(t, (c) => index.get(c) ?? 0),
    decode: (ids) => Array.from(ids, (id) => list[id] ?? UNKNOWN_CHAR).join(''),
  };
}

/**
 * A vocabulary over the characters of `text` (duplicates removed, code-point order, after id 0).
 *
 * @example const vocab = createCharVocabulary('hello world'); vocab.decode(vocab.encode('hold')) // 'hold'
 */
export function createCharVocabulary(text: string): CharVocabulary {
  return fromIdOrder(UNKNOWN_CHAR + [...new Set(text)].filter((c) => c !== UNKNOWN_CHAR).sort().join(''));
}

/** The tokenizer entry of a GPT model config for this vocabulary. */
export function charTokenizerConfig(vocab: CharVocabulary): { type: 'char'; vocab: string } {
  return { type: 'char', vocab: vocab.chars };
}

/**
 * The vocabulary of a GPT config's char tokenizer: `tokenizer` of a Swapformer model config, or
 * `swapformer.tokenizer` of the HF config.json a checkpoint carries.
 *
 * @example const vocab = vocabularyFromModelConfig(model.config);
 */
export function vocabularyFromModelConfig(config: Readonly<Record<string, unknown>>): CharVocabulary {
  const extension = config.swapformer as { tokenizer?: unknown } | undefined;
  const tokenizer = (config.tokenizer ?? extension?.tokenizer) as { type?: unknown; vocab?: unknown } | undefined;
  if (!tokenizer || tokenizer.type !== 'char' || typeof tokenizer.vocab !== 'string' || tokenizer.vocab.length === 0) {
    throw new SwapformerError('invalid-checkpoint', `the GPT config has no char tokenizer (expected "tokenizer": {"type": "char", "vocab": "..."}, got ${JSON.stringify(tokenizer ?? null)}).`);
  }
  if (new Set(tokenizer.vocab).size !== [...tokenizer.vocab].length) throw new SwapformerError('invalid-checkpoint', 'the char tokenizer vocab repeats a character.');
  return fromIdOrder(tokenizer.vocab);
}
