import { SwapformerError } from '@swapformer/core';
import type { Tokenizer as HfTokenizerImpl } from '@huggingface/tokenizers' with { 'resolution-mode': 'import' };
import type { Tokenizer } from './Tokenizer';

/** Token models we hand to `@huggingface/tokenizers`; others (WordLevel, unknown) are refused. */
export const SUPPORTED_TOKENIZER_MODELS = ['BPE', 'WordPiece', 'Unigram'] as const;

/**
 * Split behaviours the JS port reproduces. It treats the other ones (`MergedWithPrevious`,
 * `MergedWithNext`, `Contiguous`) as `Isolated`, which would silently tokenize differently.
 */
const SUPPORTED_SPLIT_BEHAVIOURS = ['isolated', 'removed'];

/** A tokenizer read from a Hugging Face `tokenizer.json`. */
export interface HfTokenizer extends Tokenizer {
  readonly name: 'tokenizer.json';
  /** Ids and token strings (after the post-processor: BOS/EOS templates included unless `addSpecialTokens` is false). */
  encodeWithTokens(text: string, options?: { readonly addSpecialTokens?: boolean }): { ids: number[]; tokens: string[] };
  /** Like Python `tokenizers`' `Tokenizer.decode`; special tokens are kept unless `skipSpecialTokens`. */
  decode(ids: readonly number[], options?: { readonly skipSpecialTokens?: boolean }): string;
  /** The id of a token string, or undefined. */
  tokenToId(token: string): number | undefined;
}

type TokenizersModule = typeof import('@huggingface/tokenizers', { with: { 'resolution-mode': 'import' } });
/** The package is typed as ESM but ships a CommonJS build for Node's `require` condition. */
const loadTokenizers = (): TokenizersModule => require('@huggingface/tokenizers') as TokenizersModule;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function unsupported(source: string, what: string): SwapformerError {
  return new SwapformerError('unsupported', `${source}: ${what}`, { path: source });
}

/** The model type, inferring it like `tokenizers` does for files written before "type" was saved. */
function modelType(model: Json): string | undefined {
  if (typeof model.type === 'string') return model.type;
  if (Array.isArray(model.vocab)) return 'Unigram';
  if ('merges' in model) return 'BPE';
  if ('continuing_subword_prefix' in model) return 'WordPiece';
  return undefined;
}

/** Refuses Split pre-tokenizers whose behaviour the JS port does not implement (they nest in Sequences). */
function checkPreTokenizer(node: unknown, source: string): void {
  if (!isObject(node)) return;
  if (node.type === 'Sequence' && Array.isArray(node.pretokenizers)) for (const child of node.pretokenizers) checkPreTokenizer(child, source);
  if (node.type === 'Split' && node.invert !== true) {
    const behaviour = String(node.behavior ?? '').toLowerCase();
    if (!SUPPORTED_SPLIT_BEHAVIOURS.includes(behaviour)) {
      throw unsupported(source, `a Split pre-tokenizer with behavior "${String(node.behavior)}" is not supported (supported: Isolated, Removed).`);
    }
  }
}

/**
 * Reads a parsed `tokenizer.json` (BPE — byte-level or SentencePiece-style with byte fallback —,
 * WordPiece or Unigram) with `@huggingface/tokenizers`, a maintained pure-JS port of the Rust
 * library. Only `tokenizer.json` decides how text is split, as in Python `tokenizers`;
 * `tokenizer_config.json` is not consulted, so encodings equal `Tokenizer.from_file(...)`'s.
 *
 * @example const t = createHfTokenizer(JSON.parse(fs.readFileSync('ckpt/tokenizer.json', 'utf8')), 'ckpt/tokenizer.json'); t.encode('Hello')
 */
export function createHfTokenizer(json: unknown, source = 'tokenizer.json'): HfTokenizer {
  if (!isObject(json) || !isObject(json.model)) throw new SwapformerError('invalid-input', `${source}: not a tokenizer.json (no "model" object).`, { path: source });
  const type = modelType(json.model);
  if (type === undefined || !(SUPPORTED_TOKENIZER_MODELS as readonly string[]).includes(type)) {
    throw unsupported(source, `tokenizer model type ${JSON.stringify(type ?? json.model.type)} is not supported (supported: ${SUPPORTED_TOKENIZER_MODELS.join(', ')}).\n  Pass token ids instead (e.g. generate --prompt-ids, infer --input).`);
  }
  checkPreTokenizer(json.pre_tokenizer, source);
  // The port requires every component key to be present; files from older tokenizers omit null ones.
  const complete: Json = { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, added_tokens: [], ...json, model: { ...json.model, type } };
  let impl: HfTokenizerImpl;
  try {
    // clean_up_tokenization_spaces is a transformers (tokenizer_config.json) setting; Python `tokenizers` never applies it.
    impl = new (loadTokenizers().Tokenizer)(complete, { clean_up_tokenization_spaces: false });
  } catch (error) {
    // The port names the unknown component ("Unknown PreTokenizer type: X"); keep its words.
    throw unsupported(source, `${(error as Error).message}.\n  This tokenizer.json uses a component @huggingface/tokenizers does not implement.`);
  }
  // ids may have gaps (added tokens placed past the model vocabulary): the size is one past the largest id
  let vocabSize = 0;
  for (const id of impl.get_vocab(true).values()) vocabSize = Math.max(vocabSize, id + 1);
  const checkIds = (ids: readonly number[]) => {
    const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= vocabSize);
    if (bad !== undefined) throw new SwapformerError('invalid-input', `token id ${bad} is outside the vocabulary of ${source} (0–${vocabSize - 1}).`);
  };
  return {
    name: 'tokenizer.json',
    vocabSize,
    encode: (text) => impl.encode(text).ids,
    encodeWithTokens(text, options = {}) {
      const { ids, tokens } = impl.encode(text, { add_special_tokens: options.addSpecialTokens ?? true });
      return { ids, tokens };
    },
    decode(ids, options = {}) {
      checkIds(ids);
      if (ids.length === 0) return ''; // the port refuses an empty list
      return impl.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? false, clean_up_tokenization_spaces: false });
    },
    tokenToId: (token) => impl.token_to_id(token),
  };
}
