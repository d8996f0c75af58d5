/**
 * The Llama family without transformers: config rules and errors, grouped-query attention
 * through the operator contract, kv-cache decoding equal to the full forward, and what a
 * config.json in either transformers form maps to.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { maxAbsDiff } from '@swapformer/core/conformance';
import type { AttentionPlugin } from '@swapformer/core';
import { softmaxAttention } from '@swapformer/kernels';
import { exactPlugin } from '@swapformer/plugin-exact';
import { createOperatorRegistry } from '@swapformer/registry';
import { buildModel, fromHfConfig, generate, loadCheckpointWithReport, normalizeModelConfig, rotaryInverseFrequencies, saveCheckpoint, toHfConfig, type LlamaModel, type ModelConfigInput } from '@swapformer/models';
import { referenceLlamaForward } from './llamaReference';
import { errorOf, idsFixture } from './modelFixtures';

const LLAMA: ModelConfigInput = { model: 'llama', vocabSize: 40, hiddenSize: 32, intermediateSize: 48, numLayers: 2, numHeads: 4, numKeyValueHeads: 2, maxPositionEmbeddings: 64, initializerRange: 0.2, seed: 3 };

/** Exact softmax attention that does not declare groupedKeyValues: the model must repeat k/v for it. */
const ungroupedExact: AttentionPlugin = {
  ...exactPlugin,
  meta: { ...exactPlugin.meta, name: 'ungrouped' },
  capabilities: { ...exactPlugin.capabilities, groupedKeyValues: false },
  create: (options, services, geometry) => {
    if ((geometry.kvHeads ?? geometry.heads) !== geometry.heads) throw new Error('created with fewer k/v heads although it does not declare groupedKeyValues');
    const inner = exactPlugin.create(options as never, services, geometry);
    return { ...inner, name: 'ungrouped', forward: (q: Tensor4D, k: Tensor4D, v: Tensor4D, ctx) => (k.shape[1] !== q.shape[1] ? (() => { throw new Error('got grouped k/v'); })() : softmaxAttention(services.kernels, q, k, v, { scale: ctx.scale, causal: ctx.causal })) };
  },
};

function registry() {
  const r = createOperatorRegistry();
  r.register(exactPlugin);
  r.register(ungroupedExact);
  return r;
}

describe('Llama family', () => {
  describe('having bad configs', () => {
    it('should refuse query heads not divisible by key/value heads, naming both', () => {
      expect(errorOf(() => normalizeModelConfig({ ...LLAMA, numKeyValueHeads: 3 })).message).to.include('numHeads 4 is not a multiple of numKeyValueHeads 3');
      const hf = { model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: 32, num_attention_heads: 4, num_key_value_heads: 3, intermediate_size: 48, num_hidden_layers: 1, vocab_size: 40 };
      expect(errorOf(() => fromHfConfig(hf)).message).to.include('num_attention_heads 4 is not a multiple of num_key_value_heads 3');
    });

    it('should refuse an unknown rope scaling type in either config form, naming the supported ones', () => {
      const hf = { model_type: 'llama', hidden_size: 32, num_attention_heads: 4, intermediate_size: 48, num_hidden_layers: 1, vocab_size: 40 };
      for (const form of [{ rope_scaling: { rope_type: 'yarn', factor: 2 } }, { rope_scaling: { type: 'longrope', factor: 2 } }, { rope_parameters: { rope_type: 'yarn', rope_theta: 1e4, factor: 2 } }]) {
        expect(errorOf(() => fromHfConfig({ ...hf, ...form })).message).to.match(/rope scaling type "(yarn|longrope)" is not supported\. Supported: default, linear, dynamic, llama3/);
      }
      expect(errorOf(() => normalizeModelConfig({ ...LLAMA, rope: { type: 'llama3', theta: 1e4, factor: 8 } })).message).to.include('rope type "llama3" needs rope.lowFreqFactor');
    });

    it('should name the supported families for an unknown "model"', () => {
      expect(errorOf(() => normalizeModelConfig({ model: 'mamba' })).message).to.include('"vit", "gpt", "llama"');
    });

    it('should refuse inputs longer than a sliding window instead of attending beyond it', () => {
      const model = buildModel({ ...LLAMA, variant: 'mistral', slidingWindow: 8 }, undefined, registry()) as LlamaModel;
      expect(model.contextLength).to.equal(8);
      expect(errorOf(() => model.forward(idsFixture(1, 9, 40))).message).to.include('sliding window of 8');
      model.dispose();
    });
  });

  describe('having a float64 reference of transformers\' Llama math', () => {
    const variants: Array<[string, Record<string, unknown>]> = [
      ['GQA, untied', { numKeyValueHeads: 2 }],
      ['MQA, tied, theta 500', { numKeyValueHeads: 1, tieWordEmbeddings: true, rope: { type: 'default', theta: 500 } }],
      ['llama3 rope', { rope: { type: 'llama3', theta: 10000, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 16 } }],
      ['explicit head_dim 12, linear rope, all attention biases', { hiddenSize: 40, headDim: 12, attentionBias: true, outputBias: true, mlpBias: true, rope: { type: 'linear', theta: 10000, factor: 2 } }],
      ['dynamic rope beyond the context', { maxPositionEmbeddings: 6, rope: { type: 'dynamic', theta: 10000, factor: 2 } }],
      ['bare model', { lmHead: false }],
    ];
    for (const [label, extra] of variants) {
      it(`should match it to 1e-4 (${label})`, () => {
        const model = buildModel({ ...LLAMA, ...extra }, undefined, registry()) as LlamaModel;
        // norms and biases away from their initial 1 and 0, so a misplaced one shows
        for (const p of model.parameters()) {
          if (p.name.endsWith('norm.weight')) p.variable.assign(tf.add(1, tf.mul(0.2, tf.randomNormal(p.variable.shape, 0, 1, 'float32', 5))));
          if (p.name.endsWith('.bias')) p.variable.assign(tf.mul(0.1, tf.randomNormal(p.variable.shape, 0, 1, 'float32', 6)));
        }
        const ids = [[1, 5, 9, 13, 2, 7, 30, 39, 3], [4, 4, 8, 15, 16, 23, 0, 1, 2]];
        const x = tf.tensor2d(ids, [2, 9], 'int32');
        const ours = model.forward(x);
        expect(maxAbsDiff(ours, referenceLlamaForward(model, ids).flat(2))).to.be.below(1e-4);
        tf.dispose([x, ours]);
        model.dispose();
      });
    }
  });

  describe('having grouped-query attention', () => {
    for (const kvHeads of [2, 1]) {
      it(`should give the same logits whether the operator takes ${kvHeads} k/v head(s) itself or gets them repeated (recorded)`, () => {
        const r = registry();
        const built: string[][] = [];
        r.hooks.modelBuilt.tap('test', (e) => void built.push([...(e.repeatedKeyValueHeads ?? []).map(String)]));
        const native = buildModel({ ...LLAMA, numKeyValueHeads: kvHeads }, { name: 'exact' }, r) as LlamaModel;
        const repeated = buildModel({ ...LLAMA, numKeyValueHeads: kvHeads }, { name: 'ungrouped' }, r) as LlamaModel;
        expect(native.layers.map((l) => l.keyValueHeads)).to.deep.equal([0, 1].map(() => ({ heads: 4, kvHeads, repeated: false })));
        expect(repeated.layers.map((l) => l.keyValueHeads?.repeated)).to.deep.equal([true, true]);
        expect(built).to.deep.equal([[], ['0', '1']]);
        const ids = idsFixture(2, 7, 40);
        const [a, b] = [native.forward(ids), repeated.forward(ids)];
        expect(maxAbsDiff(a, b)).to.be.below(1e-5);
        tf.dispose([a, b, ids]);
        native.dispose();
        repeated.dispose();
      });
    }

    it('should decode with a kv-cache holding only the k/v heads, equal to the full forward', () => {
      // (not dynamic scaling: there cached keys keep the rotation of their step, in transformers too)
      const model = buildModel({ ...LLAMA, numKeyValueHeads: 1, rope: { type: 'linear', theta: 100, factor: 2 } }, undefined, registry()) as LlamaModel;
      const ids = idsFixture(2, 9, 40);
      const full = model.forward(ids);
      let state = model.initDecoding(2);
      const steps: tf.Tensor[] = [];
      for (const [from, size] of [[0, 5], [5, 1], [6, 3]]) {
        const chunk = tf.slice(ids, [0, from], [2, size]);
        const { logits, state: next } = model.step(chunk, state);
        model.disposeDecoding(state, next);
        state = next;
        steps.push(logits);
        chunk.dispose();
      }
      const cacheHeads = state.layers.flatMap((s) => s.tensors.map((t) => t.shape[1]));
      expect(cacheHeads).to.deep.equal([1, 1, 1, 1]);
      const stepped = tf.concat(steps, 1);
      expect(maxAbsDiff(stepped, full)).to.be.below(1e-4);
      model.disposeDecoding(state);
      tf.dispose([full, stepped, ...steps, ids]);
      model.dispose();
    });

    it('should generate the same tokens with the kv-cache as by recomputing the prefix', () => {
      const model = buildModel({ ...LLAMA, tieWordEmbeddings: true }, undefined, registry()) as LlamaModel;
      const cached = generate(model, [[1, 2, 3], [4, 5, 6]], { maxNewTokens: 8, temperature: 0 });
      const recomputed = generate(model, [[1, 2, 3], [4, 5, 6]], { maxNewTokens: 8, temperature: 0, decoding: 'recompute' });
      expect(cached.decoding).to.equal('kv-cache');
      expect(cached.tokens).to.deep.equal(recomputed.tokens);
      model.dispose();
    });
  });

  describe('having Hugging Face configs', () => {
    const base = { hidden_size: 32, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 48, num_hidden_layers: 1, vocab_size: 40, max_position_embeddings: 64 };

    it('should read the 4.x (rope_theta + rope_scaling) and 5.x (rope_parameters) forms alike', () => {
      const v4 = fromHfConfig({ model_type: 'llama', ...base, rope_theta: 5e5, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 } });
      const v5 = fromHfConfig({ model_type: 'llama', ...base, rope_parameters: { rope_type: 'llama3', rope_theta: 5e5, factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 } });
      expect(v4.config).to.deep.equal(v5.config);
      expect((v4.config as { rope: unknown }).rope).to.deep.equal({ type: 'llama3', theta: 5e5, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 16 });
      const legacy = fromHfConfig({ model_type: 'llama', ...base, rope_scaling: { type: 'linear', factor: 2 } });
      expect((legacy.config as { rope: unknown }).rope).to.deep.equal({ type: 'linear', theta: 10000, factor: 2 });
    });

    it('should map Qwen2 to q/k/v biases without an output bias, and Llama attention_bias to both', () => {
      const qwen = fromHfConfig({ model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], ...base }).config as { attentionBias: boolean; outputBias: boolean; variant: string };
      expect([qwen.variant, qwen.attentionBias, qwen.outputBias]).to.deep.equal(['qwen2', true, false]);
      const llama = fromHfConfig({ model_type: 'llama', ...base, attention_bias: true }).config as { attentionBias: boolean; outputBias: boolean };
      expect([llama.attentionBias, llama.outputBias]).to.deep.equal([true, true]);
      const bare = fromHfConfig({ model_type: 'mistral', architectures: ['MistralModel'], ...base, sliding_window: null });
      expect([bare.architecture, (bare.config as { lmHead: boolean }).lmHead, (bare.config as { slidingWindow?: number }).slidingWindow]).to.deep.equal(['MistralModel', false, undefined]);
    });

    it('should write a config.json that reads back to the same config', () => {
      const config = normalizeModelConfig({ ...LLAMA, variant: 'qwen2', attentionBias: true, rope: { type: 'linear', theta: 1e6, factor: 4 }, headDim: 12 });
      const again = fromHfConfig(toHfConfig(config, { name: 'exact' }));
      expect(again.config).to.deep.equal(config);
      expect(again.architecture).to.equal('Qwen2ForCausalLM');
    });
  });

  describe('having a saved checkpoint', () => {
    it('should reload with the same logits and generate the same tokens through swapformer generate', function () {
      this.timeout(120000);
      const model = buildModel({ ...LLAMA, variant: 'qwen2', attentionBias: true, numKeyValueHeads: 1 }, undefined, registry()) as LlamaModel;
      const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-llama-')), 'ckpt');
      saveCheckpoint(model, dir);
      const { model: again, report } = loadCheckpointWithReport(dir, registry());
      expect([report.family, report.architecture, report.renamed.length, report.ignored.length]).to.deep.equal(['llama', 'Qwen2ForCausalLM', 0, 0]);
      const ids = idsFixture(1, 6, 40);
      const [a, b] = [model.forward(ids), again.forward(ids)];
      expect(maxAbsDiff(a, b)).to.equal(0);
      const prompt = Array.from(ids.dataSync());
      const api = generate(model, [prompt], { maxNewTokens: 10, temperature: 0 }).tokens[0];
      const cli = path.resolve(__dirname, '../../../cli/bin/swapformer.js');
      const r = spawnSync(process.execPath, [cli, 'generate', '--checkpoint', dir, '--prompt-ids', prompt.join(','), '--max-new-tokens', '10', '--temperature', '0', '--json'], { encoding: 'utf8' });
      expect(r.status, r.stderr).to.equal(0);
      expect(JSON.parse(r.stdout).tokens).to.deep.equal(api);
      const text = spawnSync(process.execPath, [cli, 'generate', '--checkpoint', dir, '--prompt', 'hi'], { encoding: 'utf8' });
      expect(text.status).to.equal(1);
      expect(text.stderr).to.include('--prompt-ids');
      tf.dispose([a, b, ids]);
      model.dispose();
      again.dispose();
    });
  });

  describe('having rotary scaling', () => {
    it('should scale frequencies as transformers does (linear divides, llama3 keeps the short wavelengths, dynamic only beyond the context)', () => {
      const plain = rotaryInverseFrequencies({ type: 'default', theta: 10000 }, 8, 16, 10);
      expect([...plain].map((f) => +f.toPrecision(6))).to.deep.equal([1, 0.1, 0.01, 0.001]);
      expect([...rotaryInverseFrequencies({ type: 'linear', theta: 10000, factor: 2 }, 8, 16, 10)]).to.deep.equal([...plain].map((f) => f / 2));
      const llama3 = rotaryInverseFrequencies({ type: 'llama3', theta: 10000, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 16 }, 8, 64, 10);
      // wavelengths 2π/f = 6.3, 63, 628, 6283 against 16/4 = 4 and 16/1 = 16: the first is smoothed, the rest divided
      const smooth = (16 / ((2 * Math.PI) / plain[0]) - 1) / (4 - 1);
      expect(llama3[0]).to.be.closeTo((1 - smooth) * (plain[0] / 8) + smooth * plain[0], 1e-12);
      expect([...llama3].slice(1)).to.deep.equal([...plain].slice(1).map((f) => f / 8));
      expect([...rotaryInverseFrequencies({ type: 'llama3', theta: 10000, factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 32 }, 8, 64, 10)][0]).to.equal(plain[0]); // 6.3 < 32/4: kept
      expect([...rotaryInverseFrequencies({ type: 'dynamic', theta: 10000, factor: 2 }, 8, 16, 16)]).to.deep.equal([...plain]);
      expect(rotaryInverseFrequencies({ type: 'dynamic', theta: 10000, factor: 2 }, 8, 16, 24)[1]).to.be.below(plain[1]);
    });
  });
});
