import { expect } from 'chai';
import { createGpt2Tokenizer, loadGpt2Tokenizer } from '@swapformer/models';

describe('loadGpt2Tokenizer', () => {
  it('should encode and decode exactly as the synchronous GPT-2 tokenizer', async () => {
    const [lazy, eager] = [await loadGpt2Tokenizer(), createGpt2Tokenizer()];
    const text = 'Hello world — the state of the Union is strong.';
    expect(lazy.encode('Hello world')).to.deep.equal([15496, 995]);
    expect(lazy.encode(text)).to.deep.equal(eager.encode(text));
    expect(lazy.decode(lazy.encode(text))).to.equal(text);
    expect(lazy.vocabSize).to.equal(eager.vocabSize);
  });
});
