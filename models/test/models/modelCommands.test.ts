import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { maxAbsDiff } from '@swapformer/core/conformance';
import { validateConfig } from '@swapformer/registry';
import { buildModel, generate, saveCheckpoint, tensorToJson, MODEL_CONFIG_KINDS, type GptModel } from '@swapformer/models';
import { errorOf, gptConfigFixture, pixelsFixture, registryFixture, vitConfigFixture } from './modelFixtures';

const CLI = path.resolve(__dirname, '../../../cli/bin/swapformer.js');
const REPO = path.resolve(__dirname, '../../..');
const temp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-cmd-'));

function swapformer(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: REPO });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('swapformer infer / generate / validate (model configs)', function () {
  this.timeout(120000);

  it('should write the logits the API computes, atomically, for a saved checkpoint', () => {
    const model = buildModel(vitConfigFixture, undefined, registryFixture());
    const dir = temp();
    saveCheckpoint(model, path.join(dir, 'ckpt'));
    const x = pixelsFixture(2, 3, 8);
    fs.writeFileSync(path.join(dir, 'in.json'), JSON.stringify({ pixel_values: tensorToJson(x) }));
    const r = swapformer('infer', '--checkpoint', path.join(dir, 'ckpt'), '--input', path.join(dir, 'in.json'), '--output', path.join(dir, 'out.json'), '--operator', 'exact');
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.include('ViTForImageClassification').and.include('operators exact');
    const written = JSON.parse(fs.readFileSync(path.join(dir, 'out.json'), 'utf8'));
    const logits = model.forward(x);
    expect(written.logits.shape).to.deep.equal([2, 5]);
    expect(maxAbsDiff(written.logits.data, logits)).to.be.below(1e-6);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).to.deep.equal([]);
    tf.dispose([x, logits]);
    model.dispose();
  });

  it('should fail with one readable message on a wrong input key, both --operator and --config, and a damaged checkpoint', () => {
    const model = buildModel(gptConfigFixture, undefined, registryFixture());
    const dir = temp();
    saveCheckpoint(model, dir);
    model.dispose();
    fs.writeFileSync(path.join(dir, 'in.json'), JSON.stringify({ pixel_values: { shape: [1], data: [0] } }));
    const args = ['infer', '--checkpoint', dir, '--input', path.join(dir, 'in.json'), '--output', path.join(dir, 'out.json')];
    const wrongKey = swapformer(...args);
    expect(wrongKey.code).to.equal(1);
    expect(wrongKey.stderr).to.include('a GPT checkpoint needs "input_ids"');
    expect(swapformer(...args, '--operator', 'exact', '--config', 'x.json').stderr).to.include('either --operator or --config');
    const weights = path.join(dir, 'model.safetensors');
    fs.writeFileSync(weights, fs.readFileSync(weights).subarray(0, 200));
    const damaged = swapformer(...args);
    expect(damaged.code).to.equal(1);
    expect(damaged.stderr).to.include('is not a valid safetensors file').and.not.match(/\n\s+at .*\.js:\d+/);
  });

  it('should generate from a character-vocabulary GPT with the kv-cache, as the API does', () => {
    const registry = registryFixture();
    const model = buildModel({ ...gptConfigFixture, tokenizer: { type: 'char', vocab: 'abcdefghijklmnopqrstuvw' } }, undefined, registry) as GptModel;
    const dir = temp();
    saveCheckpoint(model, dir);
    const r = swapformer('generate', '--checkpoint', dir, '--prompt', 'abc', '--max-new-tokens', '6', '--temperature', '0.8', '--seed', '5', '--json');
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout) as { prompt: number[]; tokens: number[]; text: string; decoding: string };
    expect(out.prompt).to.deep.equal([0, 1, 2]);
    expect(out.decoding).to.equal('kv-cache');
    expect(out.tokens).to.deep.equal(generate(model, [[0, 1, 2]], { maxNewTokens: 6, temperature: 0.8, seed: 5 }).tokens[0]);
    expect(out.text).to.have.length(6);
    const plain = swapformer('generate', '--checkpoint', dir, '--prompt', 'abc', '--max-new-tokens', '3', '--temperature', '0');
    expect(plain.stdout.trim()).to.match(/^abc[a-w]{3}$/);
    model.dispose();
  });

  describe('having model configs to validate', () => {
    it('should accept a GPT config and a pixel-stage ViT config on the command line', () => {
      const dir = temp();
      fs.writeFileSync(path.join(dir, 'gpt.json'), JSON.stringify({ ...gptConfigFixture, attention: { default: { name: 'exact' } } }));
      fs.writeFileSync(path.join(dir, 'vit.json'), JSON.stringify({ model: 'vit', imageSize: 28, numChannels: 1, numLabels: 10, hiddenSize: 64, numLayers: 2, numHeads: 4, pixelStage: { layers: 1, hiddenSize: 32, heads: 1, patchMerge: 4 }, attention: { default: { name: 'exact' }, overrides: [{ layers: { first: 1 }, name: 'exact', options: { path: 'chunked' } }] } }));
      const gpt = swapformer('validate', path.join(dir, 'gpt.json'));
      expect(gpt.code, gpt.stderr).to.equal(0);
      expect(gpt.stdout).to.include('valid gpt-model config');
      expect(swapformer('validate', path.join(dir, 'vit.json')).stdout).to.include('valid vit-model config');
    });

    it('should refuse a GPT config selecting a non-causal operator, and overrides past the last layer', () => {
      const registry = registryFixture();
      const causal = errorOf(() => validateConfig({ ...gptConfigFixture, attention: { default: { name: 'exact' }, overrides: [{ layers: 1, name: 'bidirectional' }] } }, registry, MODEL_CONFIG_KINDS));
      expect(causal.message).to.include('invalid gpt-model config').and.include('at /attention/overrides/0').and.include('causal masking');
      const range = errorOf(() => validateConfig({ ...vitConfigFixture, attention: { default: { name: 'exact' }, overrides: [{ layers: { first: 3 }, name: 'exact' }] } }, registry, MODEL_CONFIG_KINDS));
      expect(range.message).to.include('names layer 2, but the model has 2 layers');
      const unknown = errorOf(() => validateConfig({ ...vitConfigFixture, patchsize: 4 }, registry, MODEL_CONFIG_KINDS));
      expect(unknown.message).to.include('unknown key "patchsize"');
    });
  });

  it('should register gradients in plain Node through ensureGradients', () => {
    const script = `
      const tf = require('@tensorflow/tfjs-core');
      const r = require(${JSON.stringify(path.resolve(__dirname, '../../dist'))});
      require('@swapformer/core').useBackend('cpu').then(() => r.ensureGradients()).then(() => {
        const w = tf.variable(tf.tensor2d([[1, 2], [3, 4]]));
        const g = tf.variableGrads(() => tf.sum(tf.tanh(tf.matMul(tf.ones([1, 2]), w))), [w]);
        process.stdout.write(JSON.stringify({ registered: r.gradientsRegistered(), grads: Object.keys(g.grads).length }));
      });`;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: REPO });
    expect(run.status, run.stderr).to.equal(0);
    expect(JSON.parse(run.stdout.slice(run.stdout.indexOf('{')))).to.deep.equal({ registered: true, grads: 1 });
  });
});
