import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHfTokenizer } from '@swapformer/models';
import { errorOf } from '../models/modelFixtures';

const FIXTURES = path.resolve(__dirname, '../fixtures/tokenizers');

interface ReferenceCase {
  readonly text: string;
  readonly ids: number[];
  readonly tokens: string[];
  readonly ids_no_special: number[];
  readonly decoded: string;
  readonly decoded_skip_special: string;
}

/** Encodings from Python `tokenizers` (generate_fixtures.py, run once on the GPU machine). */
const reference = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'tokenizers.expected.json'), 'utf8')) as {
  meta: { tokenizers: string };
  tokenizers: Record<string, { vocab_size: number; cases: ReferenceCase[] }>;
};
const readTokenizerJson = (name: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.tokenizer.json`), 'utf8')) as Record<string, unknown>;

describe(`tokenizer.json tokenizers against Python tokenizers ${reference.meta.tokenizers}`, () => {
  const names = Object.keys(reference.tokenizers);

  it('should cover byte-level BPE (GPT-2, Llama 3 regex split), SentencePiece BPE with byte fallback, WordPiece and Unigram', () => {
    expect(names).to.have.members(['gpt2-bytelevel', 'llama3-bytelevel', 'llama-spm', 'bert-wordpiece', 't5-unigram']);
    expect(reference.tokenizers['llama-spm'].cases.some((c) => c.tokens.some((t) => /^<0x[0-9A-F]{2}>$/.test(t)))).to.equal(true); // byte fallback exercised
  });

  for (const name of names) {
    describe(name, () => {
      const tokenizer = createHfTokenizer(readTokenizerJson(name), `${name}.tokenizer.json`);
      const { cases, vocab_size: vocabSize } = reference.tokenizers[name];

      it('should have the vocabulary size Python reports', () => expect(tokenizer.vocabSize).to.equal(vocabSize));

      for (const c of cases) {
        it(`should encode and decode ${JSON.stringify(c.text).slice(0, 48)} as Python does`, () => {
          const encoded = tokenizer.encodeWithTokens(c.text);
          expect(encoded.ids, 'ids').to.deep.equal(c.ids);
          expect(encoded.tokens, 'tokens').to.deep.equal(c.tokens);
          expect(tokenizer.encode(c.text), 'encode').to.deep.equal(c.ids);
          expect(tokenizer.encodeWithTokens(c.text, { addSpecialTokens: false }).ids, 'without special tokens').to.deep.equal(c.ids_no_special);
          expect(tokenizer.decode(c.ids), 'decode').to.equal(c.decoded);
          expect(tokenizer.decode(c.ids, { skipSpecialTokens: true }), 'decode, special tokens skipped').to.equal(c.decoded_skip_special);
        });
      }
    });
  }
});

describe('tokenizer.json files that cannot be read faithfully', () => {
  const gpt2 = () => readTokenizerJson('gpt2-bytelevel');

  it('should refuse a model type other than BPE, WordPiece and Unigram, naming it and the supported ones', () => {
    const error = errorOf(() => createHfTokenizer({ ...gpt2(), model: { type: 'WordLevel', vocab: { a: 0 }, unk_token: 'a' } }, 'x/tokenizer.json'));
    expect(error.kind).to.equal('unsupported');
    expect(error.message).to.include('x/tokenizer.json: tokenizer model type "WordLevel" is not supported (supported: BPE, WordPiece, Unigram)');
  });

  it('should refuse a Split behaviour the JS port would silently treat as Isolated', () => {
    const split = { type: 'Split', pattern: { Regex: '\\s+' }, behavior: 'MergedWithPrevious', invert: false };
    const error = errorOf(() => createHfTokenizer({ ...gpt2(), pre_tokenizer: { type: 'Sequence', pretokenizers: [split] } }));
    expect(error.message).to.include('Split pre-tokenizer with behavior "MergedWithPrevious" is not supported');
  });

  it('should refuse unknown components and non-tokenizer JSON with one message each', () => {
    expect(errorOf(() => createHfTokenizer({ ...gpt2(), normalizer: { type: 'Shout' } })).message).to.include('Unknown Normalizer type: Shout');
    expect(errorOf(() => createHfTokenizer({ hello: 1 }, 'cfg.json')).message).to.include('cfg.json: not a tokenizer.json');
  });

  it('should infer the model type of files saved without one, and check ids before decoding', () => {
    const json = gpt2();
    const { type, ...untyped } = json.model as Record<string, unknown>;
    expect(type).to.equal('BPE');
    const tokenizer = createHfTokenizer({ ...json, model: untyped });
    expect(tokenizer.encode('hello world')).to.deep.equal(createHfTokenizer(gpt2()).encode('hello world'));
    expect(tokenizer.decode([])).to.equal('');
    expect(errorOf(() => tokenizer.decode([5, 99999])).message).to.include('token id 99999 is outside the vocabulary');
  });
});
