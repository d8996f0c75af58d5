import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { createOperatorRegistry } from '@swapformer/registry';
import { exactPlugin } from '@swapformer/plugin-exact';
import { buildModel, createHfTokenizer, decodeImageFile, loadCheckpoint, openSafetensors, preprocessImage, readImageProcessorConfig, saveCheckpoint, type GptModel } from '@swapformer/models';

const REPO = path.resolve(__dirname, '../../..');
const CLI = path.join(REPO, 'cli/bin/swapformer.js');
const VIT = path.join(REPO, 'examples/checkpoints/vit-fmnist-exact');
const BOOT = path.join(REPO, 'examples/images/fashion-mnist-test-0-ankle-boot.png');
const temp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-real-'));

function swapformer(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: REPO, maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function registry() {
  const r = createOperatorRegistry();
  r.register(exactPlugin);
  return r;
}

/** GPT-2's byte ↔ printable-character table, so any text maps onto the 256 base tokens. */
function byteLevelAlphabet(): string[] {
  const printable = [...Array(256).keys()].filter((b) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174);
  let extra = 0;
  return [...Array(256).keys()].map((b) => String.fromCodePoint(printable.includes(b) ? b : 256 + extra++));
}

/** A small byte-level BPE tokenizer.json in GPT-2's layout (256 bytes, a few merges, one special token). */
function byteLevelTokenizerJson() {
  const vocab: Record<string, number> = {};
  for (const c of byteLevelAlphabet()) vocab[c] = Object.keys(vocab).length;
  const merges = ['Ġ t', 'h e', 'Ġt he', 'Ġ a', 'i n', 'Ġthe m', 'e n', 'Ġa n'];
  for (const m of merges) vocab[m.replace(' ', '')] = Object.keys(vocab).length;
  const special = Object.keys(vocab).length;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: special, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab: { ...vocab, '<|endoftext|>': special }, merges },
  };
}

/** A saved GPT whose vocabulary fits the tokenizer above, with it as tokenizer.json. */
function gptWithTokenizer(): { dir: string; model: GptModel } {
  const dir = temp();
  const model = buildModel({ model: 'gpt', vocabSize: 272, nPositions: 32, hiddenSize: 16, numLayers: 1, numHeads: 2, seed: 5 }, undefined, registry()) as GptModel;
  saveCheckpoint(model, dir);
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(byteLevelTokenizerJson()));
  return { dir, model };
}

describe('swapformer infer / tokenize / generate with real inputs', function () {
  this.timeout(120000);

  it('should classify the committed Fashion-MNIST PNG with the committed ViT, with the logits the API computes', () => {
    const dir = temp();
    const out = path.join(dir, 'logits.json');
    const r = swapformer('infer', '--checkpoint', VIT, '--image', BOOT, '--output', out, '--top-k', '3', '--json');
    expect(r.code, r.stderr).to.equal(0);
    const printed = JSON.parse(r.stdout);
    expect(printed.top).to.have.length(3);
    expect(printed.top[0]).to.include({ id: 9, label: 'LABEL_9' }); // class 9 of Fashion-MNIST: ankle boot
    const model = loadCheckpoint(VIT, registry());
    const pixels = preprocessImage(decodeImageFile(BOOT), readImageProcessorConfig(VIT, 28), { channels: 1, height: 28, width: 28 });
    const x = tf.tensor4d(pixels, [1, 1, 28, 28]);
    const logits = model.forward(x);
    const expected = Array.from(logits.dataSync());
    tf.dispose([x, logits]);
    model.dispose();
    const written = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(written.logits.shape).to.deep.equal([1, 10]);
    expect(Math.max(...expected.map((v, i) => Math.abs(v - written.logits.data[i])))).to.be.below(1e-6);
    expect(printed.top[0].logit).to.be.closeTo(Math.max(...expected), 1e-6);
    const text = swapformer('infer', '--checkpoint', VIT, '--image', BOOT);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout.split('\n')[0]).to.match(/^\s+1\.\s+\d+\.\d+%\s+LABEL_9\s+\(id 9,/);
  });

  it('should refuse an image that does not decode with one message, exit 1 and no output file', () => {
    const dir = temp();
    const bad = path.join(dir, 'broken.png');
    fs.writeFileSync(bad, fs.readFileSync(BOOT).subarray(0, 50));
    const r = swapformer('infer', '--checkpoint', VIT, '--image', bad, '--output', path.join(dir, 'out.json'));
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include(`"${bad}" is not a decodable image`).and.not.match(/\n\s+at .*\.js:\d+/);
    expect(fs.readdirSync(dir)).to.deep.equal(['broken.png']);
    const both = swapformer('infer', '--checkpoint', VIT, '--image', BOOT, '--text', 'x');
    expect(both.code).to.equal(1);
    expect(both.stderr).to.include('give exactly one of --input, --image and --text (got --image and --text)');
  });

  it("should run --text through the checkpoint's tokenizer.json: next-token top-k, and the logits as .npy", () => {
    const { dir, model } = gptWithTokenizer();
    const tokenizer = createHfTokenizer(byteLevelTokenizerJson());
    const text = 'the theme and then';
    const ids = tokenizer.encode(text);
    expect(ids.length).to.be.below(text.length); // merges applied
    const npy = path.join(dir, 'logits.npy');
    const r = swapformer('infer', '--checkpoint', dir, '--text', text, '--output', npy, '--json');
    expect(r.code, r.stderr).to.equal(0);
    const printed = JSON.parse(r.stdout);
    expect(printed.input_ids).to.deep.equal(ids);
    expect(printed.tokens).to.deep.equal(tokenizer.encodeWithTokens(text).tokens);
    const x = tf.tensor2d([ids], [1, ids.length], 'int32');
    const logits = model.forward(x);
    const all = logits.dataSync();
    const last = Array.from(all.subarray((ids.length - 1) * 272));
    const best = last.indexOf(Math.max(...last));
    expect(printed.top[0].id).to.equal(best);
    expect(printed.top[0].label).to.equal(JSON.stringify(tokenizer.decode([best])));
    const bytes = fs.readFileSync(npy);
    const headerEnd = 10 + bytes.readUInt16LE(8);
    expect(bytes.subarray(10, headerEnd).toString('latin1')).to.include(`'shape': (1, ${ids.length}, 272)`);
    const stored = new Float32Array(bytes.buffer.slice(bytes.byteOffset + headerEnd, bytes.byteOffset + bytes.length));
    expect(Math.max(...Array.from(all).map((v, i) => Math.abs(v - stored[i])))).to.be.below(1e-6);
    tf.dispose([x, logits]);
    model.dispose();
  });

  it('should write .safetensors outputs and load from a Hugging Face cache folder (refs/main)', () => {
    const { dir, model } = gptWithTokenizer();
    model.dispose();
    const root = path.join(temp(), 'models--someone--tiny');
    fs.mkdirSync(path.join(root, 'refs'), { recursive: true });
    fs.cpSync(dir, path.join(root, 'snapshots', 'abc123'), { recursive: true });
    fs.writeFileSync(path.join(root, 'refs', 'main'), 'abc123\n');
    const out = path.join(dir, 'out.safetensors');
    const r = swapformer('infer', '--checkpoint', root, '--text', 'the', '--output', out, '--top-k', '0');
    expect(r.code, r.stderr).to.equal(0);
    const file = openSafetensors(out);
    expect(file.entries.get('logits')!.shape[2]).to.equal(272);
    expect(JSON.parse(file.metadata.input_ids)).to.deep.equal(createHfTokenizer(byteLevelTokenizerJson()).encode('the'));
    const tok = swapformer('tokenize', root, '--text', 'the', '--json');
    expect(tok.code, tok.stderr).to.equal(0);
    const pinned = swapformer('generate', '--checkpoint', root, '--revision', 'abc123', '--prompt', 'the', '--max-new-tokens', '1', '--json');
    expect(pinned.code, pinned.stderr).to.equal(0);
    const unknown = swapformer('infer', '--checkpoint', root, '--revision', 'v2', '--text', 'the');
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.include('neither refs/v2 nor snapshots/v2 exists (snapshots present: abc123)');
  });

  it('should print ids and tokens with tokenize, and generate from a --prompt with the same tokenizer', () => {
    const { dir, model } = gptWithTokenizer();
    model.dispose();
    const tokenizer = createHfTokenizer(byteLevelTokenizerJson());
    const text = 'then  the\tthem <|endoftext|> é';
    const r = swapformer('tokenize', dir, '--text', text, '--json');
    expect(r.code, r.stderr).to.equal(0);
    const printed = JSON.parse(r.stdout);
    expect(printed.ids).to.deep.equal(tokenizer.encode(text));
    expect(printed.ids).to.include(264); // <|endoftext|> kept as one special token
    expect(printed.decoded).to.equal(text);
    const plain = swapformer('tokenize', dir, '--text', 'the them');
    expect(plain.stdout.split('\n').slice(0, 2)).to.deep.equal([tokenizer.encode('the them').join(' '), tokenizer.encodeWithTokens('the them').tokens.map((t) => JSON.stringify(t)).join(' ')]);
    const gen = swapformer('generate', '--checkpoint', dir, '--prompt', 'the them', '--max-new-tokens', '4', '--temperature', '0', '--json');
    expect(gen.code, gen.stderr).to.equal(0);
    const result = JSON.parse(gen.stdout);
    expect(result.prompt).to.deep.equal(tokenizer.encode('the them'));
    expect(result.tokens).to.have.length(4);
    expect(result.text).to.equal(tokenizer.decode(result.tokens));
  });

  it('should refuse a tokenizer.json of an unsupported model type with one message and exit 1', () => {
    const { dir, model } = gptWithTokenizer();
    model.dispose();
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify({ ...byteLevelTokenizerJson(), model: { type: 'WordLevel', vocab: { a: 0 }, unk_token: 'a' } }));
    for (const args of [['tokenize', dir, '--text', 'a'], ['generate', '--checkpoint', dir, '--prompt', 'a'], ['infer', '--checkpoint', dir, '--text', 'a']]) {
      const r = swapformer(...args);
      expect(r.code, args[0]).to.equal(1);
      expect(r.stderr, args[0]).to.include('tokenizer model type "WordLevel" is not supported (supported: BPE, WordPiece, Unigram)').and.not.match(/\n\s+at .*\.js:\d+/);
      expect(r.stdout, args[0]).to.equal('');
    }
  });
});
