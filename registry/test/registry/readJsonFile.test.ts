import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SwapformerError } from '@swapformer/core';
import { readJsonFile } from '@swapformer/registry';

function errorReading(text: string | Buffer, maxBytes?: number): SwapformerError {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-json-')), 'config.json');
  fs.writeFileSync(file, text);
  try {
    readJsonFile(file, maxBytes);
  } catch (error) {
    if (SwapformerError.is(error)) return error;
    throw error;
  }
  throw new Error('did not throw');
}

describe('readJsonFile', () => {
  it('should give the line and column of a syntax error, not a character offset', () => {
    const e = errorReading('{\n  "attention": {\n    "name": "exact",\n    "options": {,}\n  }\n}\n');
    expect(e.kind).to.equal('invalid-config');
    expect(e.message).to.include('line 4, column 17').and.not.match(/position \d+/);
  });

  it('should point at a trailing comma and at an unterminated document by line and column', () => {
    expect(errorReading('{"a": 1,\n}').message).to.include('line 2, column 1');
    expect(errorReading('{"a": [1, 2\n').message).to.match(/line 2, column 1/);
  });

  it('should count columns in characters, after a byte-order mark and multi-byte text', () => {
    expect(errorReading('\ufeff{"é€": 1 x}').message).to.include('line 1, column 10');
  });

  it('should locate an error past nesting too deep for a recursive parser, without a stack overflow', () => {
    const e = errorReading('['.repeat(200000));
    expect(e.kind).to.equal('invalid-config');
    expect(e.message).to.match(/line 1, column \d+/);
  });

  it('should keep refusing comments (configs are plain JSON) and say where', () => {
    expect(errorReading('{\n  // a comment\n  "a": 1\n}').message).to.include('line 2, column 3');
  });

  it('should still parse what JSON.parse parses, and keep the empty-file and size messages', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-json-')), 'ok.json');
    fs.writeFileSync(file, '{"a": [1, 2.5e3, "\\u00e9", null, true], "b": {"__proto__": 1}}');
    expect(readJsonFile(file)).to.deep.equal(JSON.parse(fs.readFileSync(file, 'utf8')));
    expect(errorReading('  \n').message).to.include('the file is empty');
    expect(errorReading('{"a": 1}', 4).message).to.include('limited to 4 bytes');
  });
});
