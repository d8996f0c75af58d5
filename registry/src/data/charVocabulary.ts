/**
 * A character vocabulary: id 0 is "unknown", ids 1… are the characters of the training text in
 * code-point order. Saved as `vocab.json` next to a GPT checkpoint.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SwapformerError } from '@swapformer/core';

/** The file name of a char vocabulary inside a checkpoint directory. */
export const VOCAB_FILE = 'vocab.json';

/** Shown for id 0 when decoding. */
export const UNKNOWN_CHAR = '\u00bf';

export interface CharVocabulary {
  /** The characters of ids 1…size-1, in order. */
  readonly chars: string;
  /** Number of ids, including the unknown id 0. */
  readonly size: number;
  encode(text: string): Int32Array;
  decode(ids: ArrayLike<number>): string;
}

/**
 * A vocabulary over the given characters (duplicates removed, code-point order).
 *
 * @example const vocab = createCharVocabulary('hello world'); vocab.decode(vocab.encode('hold')) // 'hold'
 */
export function createCharVocabulary(text: string): CharVocabulary {
  const chars = [...new Set(text)].sort().join('');
  const index = new Map<string, number>([...chars].map((c, i) => [c, i + 1]));
  return {
    chars,
    size: chars.length + 1,
    encode: (t) => Int32Array.from(t, (c) => index.get(c) ?? 0),
    decode: (ids) => Array.from(ids, (id) => (id >= 1 && id <= chars.length ? chars[id - 1] : UNKNOWN_CHAR)).join(''),
  };
}

/** Writes `vocab.json` into a checkpoint directory. */
export function saveCharVocabulary(vocab: CharVocabulary, dir: string): void {
  const file = path.join(dir, VOCAB_FILE);
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify({ type: 'char', unknown_id: 0, chars: vocab.chars }, null, 2)}\n`);
  fs.renameSync(`${file}.tmp`, file);
}

/**
 * Reads `vocab.json` from a checkpoint directory.
 *
 * @example const vocab = loadCharVocabulary('examples/checkpoints/gpt-sotu-exact');
 */
export function loadCharVocabulary(dir: string): CharVocabulary {
  const file = path.join(dir, VOCAB_FILE);
  let parsed: { type?: unknown; chars?: unknown };
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof parsed;
  } catch (error) {
    throw new SwapformerError('invalid-checkpoint', `cannot read the char vocabulary ${file}: ${(error as Error).message}`, { path: file, cause: error });
  }
  if (parsed.type !== 'char' || typeof parsed.chars !== 'string' || parsed.chars.length === 0) {
    throw new SwapformerError('invalid-checkpoint', `${file} is not a char vocabulary (expected {"type": "char", "chars": "..."}).`, { path: file });
  }
  const vocab = createCharVocabulary(parsed.chars);
  if (vocab.chars !== parsed.chars) throw new SwapformerError('invalid-checkpoint', `${file}: "chars" must be distinct characters in code-point order.`, { path: file });
  return vocab;
}
