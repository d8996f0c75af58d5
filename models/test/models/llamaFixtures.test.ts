/**
 * Parity with transformers' generation on the fixtures of generate_llama_fixtures.py (every
 * folder whose expected.json holds a "generate" block): greedy decoding with the kv-cache gives
 * transformers' 20 tokens; a Llama-family config rewritten in the transformers 4.x form
 * (rope_theta + rope_scaling) gives the same logits; the rotary frequencies are the ones
 * transformers used. Logits through the API and `swapformer infer` are checked for every
 * fixture folder by hfFixtures.test.ts.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { maxAbsDiff } from '@swapformer/core/conformance';
import { exactPlugin } from '@swapformer/plugin-exact';
import { createOperatorRegistry } from '@swapformer/registry';
import { generate, loadCheckpoint, loadCheckpointWithReport, rotaryInverseFrequencies, tensorFromJson, type DecoderModel, type LlamaModel, type TensorJson } from '@swapformer/models';

const FIXTURES = path.resolve(__dirname, '../fixtures/hf');
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

interface GenerateBlock {
  readonly prompt: number[][];
  readonly tokens: number[][];
  readonly max_new_tokens: number;
}

const withGeneration = fs.existsSync(FIXTURES) ? fs.readdirSync(FIXTURES).filter((d) => fs.existsSync(path.join(FIXTURES, d, 'fixture.json')) && 'generate' in readJson(path.join(FIXTURES, d, 'expected.json'))).sort() : [];
const llamaFamily = fs.existsSync(FIXTURES) ? fs.readdirSync(FIXTURES).filter((d) => fs.existsSync(path.join(FIXTURES, d, 'fixture.json')) && /^(Llama|Mistral|Qwen2)/.test(readJson(path.join(FIXTURES, d, 'fixture.json')).architecture)).sort() : [];

function exactRegistry() {
  const registry = createOperatorRegistry();
  registry.register(exactPlugin);
  return registry;
}

/** The config.json in transformers 4.x form: rope_theta + rope_scaling instead of rope_parameters. */
function asTransformers4(config: Record<string, unknown>): Record<string, unknown> {
  const { rope_parameters: params, ...rest } = config as { rope_parameters?: Record<string, unknown> };
  if (!params) return config;
  const { rope_theta: theta, ...scaling } = params;
  return { ...rest, rope_theta: theta, rope_scaling: scaling.rope_type === 'default' ? null : scaling };
}

describe('transformers generation parity (greedy, kv-cache)', () => {
  if (withGeneration.length === 0) {
    it('should equal transformers for 20 tokens (skipped: no fixtures; run models/test/fixtures/hf/generate_llama_fixtures.py)', function () {
      this.skip();
    });
  }
  for (const name of withGeneration) {
    it(`should generate transformers' greedy tokens for ${name}`, () => {
      const dir = path.join(FIXTURES, name);
      const block = readJson(path.join(dir, 'expected.json')).generate as GenerateBlock;
      const model = loadCheckpoint(dir, exactRegistry()) as unknown as DecoderModel;
      const result = generate(model, block.prompt, { maxNewTokens: block.max_new_tokens, temperature: 0 });
      expect(result.decoding).to.equal('kv-cache');
      expect(result.tokens).to.deep.equal(block.tokens);
      model.dispose();
    });
  }
});

describe('Llama-family fixtures', () => {
  for (const name of llamaFamily) {
    const dir = path.join(FIXTURES, name);
    const meta = readJson(path.join(dir, 'fixture.json'));
    const inputs = readJson(path.join(dir, 'inputs.json')) as Record<string, TensorJson>;
    const expected = readJson(path.join(dir, 'expected.json')) as Record<string, TensorJson>;
    const output = meta.outputs[0] as string;

    describe(`having ${name} (${meta.architecture})`, () => {
      it('should give the same outputs from its config.json rewritten in the transformers 4.x form', () => {
        const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-llama-v4-'));
        for (const f of fs.readdirSync(dir)) fs.copyFileSync(path.join(dir, f), path.join(copy, f));
        fs.writeFileSync(path.join(copy, 'config.json'), JSON.stringify(asTransformers4(readJson(path.join(dir, 'config.json')))));
        const { model, report } = loadCheckpointWithReport(copy, exactRegistry());
        expect(report.repeatedKeyValueHeads).to.deep.equal([]);
        const ids = tensorFromJson(inputs.input_ids, 'int32', 'input_ids');
        const out = model.forward(ids);
        expect(maxAbsDiff(out, expected[output].data)).to.be.at.most(meta.tolerance);
        tf.dispose([ids, out]);
        model.dispose();
      });

      if (Array.isArray(meta.inv_freq_forward)) {
        it('should rotate with the inverse frequencies transformers used', () => {
          const model = loadCheckpoint(dir, exactRegistry()) as LlamaModel;
          const c = model.modelConfig;
          const headDim = c.headDim ?? c.hiddenSize / c.numHeads;
          const ours = rotaryInverseFrequencies(c.rope, headDim, c.maxPositionEmbeddings, inputs.input_ids.shape[1]);
          const theirs = meta.inv_freq_forward as number[];
          expect(ours.length).to.equal(theirs.length);
          ours.forEach((f, i) => expect(f, `frequency ${i}`).to.be.closeTo(theirs[i], 1e-6 * Math.abs(theirs[i]) + 1e-12));
          model.dispose();
        });
      }
    });
  }
});
