import { SwapformerError } from '@swapformer/core';
import type { Tokenizer } from './Tokenizer';

/**
 * The sorted distinct characters (code points) of a corpus: a character vocabulary for the
 * project's own small GPTs.
 *
 * @example charVocabulary('hello') // 'ehlo'
 */
export function charVocabulary(corpus: string): string {
  return [...new Set(corpus)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).join('');
}

/**
 * A character-level tokenizer: the id of a character is its position in `vocab`.
 *
 * @example const t = createCharTokenizer(charVocabulary(text)); t.decode(t.encode('abc')) === 'abc'
 */
export function createCharTokenizer(vocab: string): Tokenizer {
  const chars = [...vocab];
  const ids = new Map(chars.map((c, i) => [c, i]));
  if (ids.size !== chars.length) throw new SwapformerError('invalid-config', 'a character vocabulary must not repeat characters.');
  return {
    name: 'char',
    vocabSize: chars.length,
    encode(text) {
      const out: number[] = [];
      const unknown = new Set<string>();
      for (const c of text) {
        const id = ids.get(c);
        if (id === undefined) unknown.add(c);
        else out.push(id);
      }
      if (unknown.size > 0) {
        throw new SwapformerError('invalid-input', `the text has characters outside the vocabulary: ${[...unknown].slice(0, 10).map((c) => JSON.stringify(c)).join(', ')}${unknown.size > 10 ? ', …' : ''}.\n  The vocabulary has ${chars.length} characters.`);
      }
      return out;
    },
    decode(list) {
      return list
        .map((id) => {
          const c = chars[id];
          if (c === undefined) throw new SwapformerError('invalid-input', `token id ${id} is outside the character vocabulary (0–${chars.length - 1}).`);
          return c;
        })
        .join('');
    },
  };
}
