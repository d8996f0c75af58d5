import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { createSeededRandom, type AttentionPlugin, createKernelContext } from '@swapformer/core';
import { buildModel, charVocabulary, createCharTokenizer, createGpt2Tokenizer, generate, sampleToken, tokenizerFor, type GptModel } from '@swapformer/models';
import { createGemmEngine, registerFastMatMul } from '@swapformer/kernels';
import { createExactDecoder, exactPlugin } from '@swapformer/plugin-exact';
import { errorOf, gptConfigFixture, registryFixture } from './modelFixtures';

/** The kernel settings and resources these tests run the kernels with (defaults: core-count threads). */
const kernels = createKernelContext();

/** Logits of a full forward over `ids`, last position only: [vocab]. */
function fullLastLogits(model: GptModel, ids: number[]): Float32Array {
  return tf.tidy(() => {
    const logits = model.forward(tf.tensor2d([ids], [1, ids.length], 'int32'));
    return tf.slice(logits, [0, ids.length - 1, 0], [1, 1, model.modelConfig.vocabSize]).dataSync() as Float32Array;
  });
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Exact attention whose decoder declares itself a recurrent state (its state is the kv pairs). */
const recurrentPluginFixture: AttentionPlugin = {
  ...exactPlugin,
  meta: { ...exactPlugin.meta, name: 'recurrent' },
  capabilities: { ...exactPlugin.capabilities, decoding: 'recurrent-state' },
  create: (options, services, geometry) => ({ ...exactPlugin.create(options as never, services, geometry), name: 'recurrent', decoder: createExactDecoder(kernels, options as never) }),
};

describe('generate', () => {
  it('should decode with the kv-cache giving the logits of full recomputation at every step', () => {
    const model = buildModel({ ...gptConfigFixture, numLayers: 3 }, undefined, registryFixture()) as GptModel;
    const prompt = [3, 1, 4, 1, 5];
    const steps: Float32Array[] = [];
    const baseline = tf.memory().numTensors;
    const result = generate(model, [prompt], { maxNewTokens: 8, temperature: 0.9, seed: 7, onStep: (_s, logits) => void steps.push(logits.slice()) });
    expect(tf.memory().numTensors).to.equal(baseline + 1); // the cached transposed embedding
    expect(result.decoding).to.equal('kv-cache');
    expect(result.tokens[0]).to.have.length(8);
    const sequence = [...prompt];
    steps.forEach((logits, step) => {
      expect(maxAbs(logits, fullLastLogits(model, sequence)), `step ${step}`).to.be.below(1e-4);
      sequence.push(result.tokens[0][step]);
    });
    model.dispose();
  });

  it("should give, with logits: 'last', each sequence's last row of the logits of every new token", () => {
    const model = buildModel({ ...gptConfigFixture, numLayers: 2 }, undefined, registryFixture()) as GptModel;
    const ids = tf.tensor2d([[3, 1, 4, 1, 5], [9, 2, 6, 5, 3]], [2, 5], 'int32');
    const before = tf.memory().numTensors;
    const every = model.step(ids, model.initDecoding(2));
    const last = model.step(ids, model.initDecoding(2), { logits: 'last' });
    expect(last.logits.shape).to.deep.equal([2, 1, gptConfigFixture.vocabSize]);
    expect(last.state.length).to.equal(5);
    const expected = tf.tidy(() => tf.slice(every.logits, [0, 4, 0], [2, 1, gptConfigFixture.vocabSize]).dataSync());
    expect(maxAbs(last.logits.dataSync(), expected)).to.be.below(1e-6);
    tf.dispose([every.logits, last.logits]);
    model.disposeDecoding(every.state);
    model.disposeDecoding(last.state);
    expect(tf.memory().numTensors).to.equal(before + 1); // the cached transposed embedding
    ids.dispose();
    model.dispose();
  });

  it("should pick the same tokens with the WASM GEMM's few-row path (weights kept packed) as on tfjs's kernels", function () {
    if (tf.getBackend() !== 'wasm') this.skip();
    const model = buildModel({ ...gptConfigFixture, numLayers: 3 }, undefined, registryFixture()) as GptModel;
    const prompt = [3, 1, 4, 1, 5];
    const run = () => {
      const logits: Float32Array[] = [];
      const { tokens } = generate(model, [prompt], { maxNewTokens: 10, temperature: 0, onStep: (_s, l) => void logits.push(l.slice()) });
      return { tokens: tokens[0], logits };
    };
    const reference = run();
    const before = tf.memory().numTensors;
    const undo = registerFastMatMul({ engine: createGemmEngine(2)!, minWork: 0 }); // every decode product, however small
    let fast: ReturnType<typeof run>;
    try {
      fast = run();
      expect(run().tokens, 'a second run, on the packed weights').to.deep.equal(fast.tokens);
    } finally {
      undo();
    }
    expect(tf.memory().numTensors).to.equal(before);
    expect(fast.tokens).to.deep.equal(reference.tokens);
    fast.logits.forEach((l, step) => expect(maxAbs(l, reference.logits[step]), `step ${step}`).to.be.below(1e-4));
    model.dispose();
  });

  it('should decode a batch of prompts and reproduce its samples from the seed', () => {
    const model = buildModel(gptConfigFixture, undefined, registryFixture()) as GptModel;
    const run = (seed: number) => generate(model, [[1, 2, 3], [4, 5, 6]], { maxNewTokens: 6, temperature: 1.5, topK: 5, seed }).tokens;
    expect(run(3)).to.deep.equal(run(3));
    expect(run(3)).to.not.deep.equal(run(4));
    model.dispose();
  });

  it('should step operators with a recurrent state, and report mixed states', () => {
    const registry = registryFixture();
    registry.register(recurrentPluginFixture);
    const recurrent = buildModel(gptConfigFixture, { name: 'recurrent' }, registry) as GptModel;
    const mixed = buildModel(gptConfigFixture, { default: { name: 'exact' }, overrides: [{ layers: 0, name: 'recurrent' }] }, registry) as GptModel;
    const a = generate(recurrent, [[1, 2]], { maxNewTokens: 4, temperature: 0 });
    const b = generate(mixed, [[1, 2]], { maxNewTokens: 4, temperature: 0 });
    expect([a.decoding, b.decoding]).to.deep.equal(['recurrent-state', 'mixed']);
    expect(a.tokens).to.deep.equal(b.tokens); // same weights (same seed), same function
    recurrent.dispose();
    mixed.dispose();
  });

  describe('having an operator without a decoding state', () => {
    it('should refuse incremental decoding, naming the layer and the way out', () => {
      const model = buildModel(gptConfigFixture, { default: { name: 'exact' }, overrides: [{ layers: 1, name: 'gain' }] }, registryFixture()) as GptModel;
      const e = errorOf(() => generate(model, [[1, 2]], { maxNewTokens: 2 }));
      expect(e.kind).to.equal('unsupported');
      expect(e.message).to.include('layer 1 ("gain") has none').and.include('"decoding": "recompute"');
      model.dispose();
    });

    it('should recompute the prefix when the config allows it, and say so', () => {
      const model = buildModel({ ...gptConfigFixture, decoding: 'recompute' }, { name: 'gain' }, registryFixture()) as GptModel;
      const steps: Float32Array[] = [];
      const result = generate(model, [[1, 2]], { maxNewTokens: 3, temperature: 0, onStep: (_s, l) => void steps.push(l.slice()) });
      expect(result.decoding).to.equal('recompute');
      expect(result.note).to.include('layer 0 ("gain"), layer 1 ("gain") have no decoding state');
      expect(result.tokens[0][0]).to.equal(steps[0].indexOf(Math.max(...steps[0])));
      model.dispose();
    });
  });

  it('should stop after the stop token and refuse prompts beyond the context', () => {
    const model = buildModel(gptConfigFixture, undefined, registryFixture()) as GptModel;
    const greedy = generate(model, [[1, 2]], { maxNewTokens: 5, temperature: 0 }).tokens[0];
    const stopped = generate(model, [[1, 2]], { maxNewTokens: 5, temperature: 0, stopToken: greedy[1] }).tokens[0];
    expect(stopped).to.deep.equal(greedy.slice(0, greedy.indexOf(greedy[1]) + 1));
    expect(errorOf(() => generate(model, [[1, 2, 3]], { maxNewTokens: 15 })).message).to.include('exceeds the 16-position context');
    model.dispose();
  });
});

describe('sampleToken', () => {
  it('should be greedy at temperature 0 and stay within the top k', () => {
    const rng = createSeededRandom(1);
    const logits = new Float32Array([0.1, 3, -2, 2.9, 0]);
    expect(sampleToken(logits, { temperature: 0 }, rng)).to.equal(1);
    const seen = new Set(Array.from({ length: 200 }, () => sampleToken(logits, { temperature: 5, topK: 2 }, rng)));
    expect([...seen].sort()).to.deep.equal([1, 3]);
  });
});

describe('tokenizers', () => {
  it('should round-trip text through a character vocabulary and name unknown characters', () => {
    const tokenizer = createCharTokenizer(charVocabulary('hello world'));
    expect(tokenizer.vocabSize).to.equal(8);
    expect(tokenizer.decode(tokenizer.encode('hello'))).to.equal('hello');
    expect(errorOf(() => tokenizer.encode('help!')).message).to.include('"p", "!"');
  });

  it('should encode GPT-2 BPE offline', () => {
    const tokenizer = createGpt2Tokenizer();
    expect(tokenizer.encode('Hello world')).to.deep.equal([15496, 995]);
    expect(tokenizer.decode([15496, 995])).to.equal('Hello world');
  });

  it('should pick the tokenizer a GPT config names', () => {
    const model = buildModel({ ...gptConfigFixture, tokenizer: { type: 'char', vocab: 'abc' } }, undefined, registryFixture()) as GptModel;
    expect(tokenizerFor(model.modelConfig).name).to.equal('char');
    expect(errorOf(() => tokenizerFor({ ...model.modelConfig, tokenizer: undefined })).message).to.include('names no tokenizer');
    model.dispose();
  });
});
