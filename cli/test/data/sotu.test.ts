import { expect } from 'chai';
import { charTokenizerConfig, createCharVocabulary, UNKNOWN_CHAR, vocabularyFromModelConfig } from '../../src/data/charVocabulary';
import { loadCommittedSotuSlice } from '../../src/data/committedData';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { loadSotuSpeeches, normalizeText, SOTU_EXPORT_FILE, splitSpeeches, type Speech } from '../../src/data/sotu';

describe('sotu', () => {
  const speechesFixture: Speech[] = Array.from({ length: 40 }, (_, i) => ({ year: 1900 + i, name: `p${i}`, text: `speech ${i}` }));

  describe('splitSpeeches', () => {
    it('should hold out the last 10 % of years, validation before test', () => {
      const { train, validation, test } = splitSpeeches(speechesFixture);
      expect([train.length, validation.length, test.length]).to.deep.equal([36, 2, 2]);
      expect(train[train.length - 1].year).to.be.lessThan(validation[0].year);
      expect(validation[validation.length - 1].year).to.be.lessThan(test[0].year);
    });
    it('should refuse a fraction outside (0, 1)', () => {
      expect(() => splitSpeeches(speechesFixture, 1)).to.throw(/heldOutFraction must be in \(0, 1\)/);
    });
  });

  describe('loadSotuSpeeches', () => {
    it('should read an exported corpus (for machines without the npm package), normalised and sorted', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sotu-'));
      fs.writeFileSync(path.join(dir, SOTU_EXPORT_FILE), zlib.gzipSync(JSON.stringify([{ year: 1801, name: 'b', text: '\u201cB\u201d' }, { year: 1790, name: 'a', text: 'A' }])));
      expect(loadSotuSpeeches(dir)).to.deep.equal([{ year: 1790, name: 'a', text: 'A' }, { year: 1801, name: 'b', text: '"B"' }]);
      fs.writeFileSync(path.join(dir, SOTU_EXPORT_FILE), 'not gzip');
      expect(() => loadSotuSpeeches(dir)).to.throw(/cannot read the State of the Union export/);
      fs.rmSync(dir, { recursive: true, force: true });
    });
  });

  describe('normalizeText', () => {
    it('should map typographic characters to ASCII and drop the rest', () => {
      expect(normalizeText('\u201cWe\u2019re\u201d \u2014 ok\u0002')).to.equal('"We\'re" -- ok');
    });
  });

  describe('createCharVocabulary', () => {
    it('should round-trip known characters and map unknown ones to id 0', () => {
      const vocab = createCharVocabulary('the union');
      expect(vocab.decode(vocab.encode('tie one'))).to.equal('tie one');
      expect(vocab.encode('z')[0]).to.equal(0);
      expect(vocab.size).to.equal(vocab.chars.length);
      expect(vocab.chars[0]).to.equal(UNKNOWN_CHAR);
      expect(vocabularyFromModelConfig({ tokenizer: charTokenizerConfig(vocab) }).chars).to.equal(vocab.chars);
      expect(vocabularyFromModelConfig({ swapformer: { tokenizer: charTokenizerConfig(vocab) } }).chars).to.equal(vocab.chars);
      expect(() => vocabularyFromModelConfig({})).to.throw(/no char tokenizer/);
    });
  });

  describe('loadCommittedSotuSlice', () => {
    it('should be printable ASCII held-out text', () => {
      const slice = loadCommittedSotuSlice();
      expect(slice.length).to.be.greaterThan(40000);
      expect(/^[\x20-\x7e\n]*$/.test(slice)).to.equal(true);
      expect(slice.startsWith('Madam Speaker')).to.equal(true);
    });
  });
});
