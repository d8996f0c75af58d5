/**
 * The model-size guard (`assertModelFits`) runs on every build and load path, not only in
 * `validate`: a hostile config (fields each within their schema range, multiplying to 10^14
 * weights) is refused with one invalid-config message before anything is allocated.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { SwapformerError } from '@swapformer/core';
import { buildGpt, buildModel, loadCheckpoint, normalizeModelConfig, saveCheckpoint, type GptModel } from '@swapformer/models';
import { installedRegistry } from './support/registries';
import { runCli } from './support/processes';
import { TINY_GPT } from './support/models';

const registry = installedRegistry();
/** Schema-valid field by field; 65,536 wide × 4,096 layers is about 2 × 10^14 weights. */
const HOSTILE_GPT = { model: 'gpt', vocabSize: 1000, nPositions: 1024, hiddenSize: 65536, numLayers: 4096, numHeads: 4096 } as const;

function refusal(fn: () => unknown): SwapformerError {
  const before = tf.memory().numTensors;
  try {
    fn();
  } catch (error) {
    expect(SwapformerError.is(error), String(error)).to.equal(true);
    expect(tf.memory().numTensors, 'tensors allocated before the refusal').to.equal(before);
    return error as SwapformerError;
  }
  throw new Error('the hostile config was accepted');
}

describe('model-size guard on build and load paths', () => {
  let dir: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-size-'));
    const model = buildModel({ ...TINY_GPT }, undefined, registry);
    saveCheckpoint(model, dir);
    model.dispose();
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, n_embd: 65536, n_layer: 4096, n_head: 4096 }));
    fs.writeFileSync(path.join(dir, 'input.json'), JSON.stringify({ input_ids: { shape: [1, 2], data: [1, 2] } }));
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('should refuse it in normalizeModelConfig', () => {
    const error = refusal(() => normalizeModelConfig({ ...HOSTILE_GPT }));
    expect(error.kind).to.equal('invalid-config');
    expect(error.message).to.include('parameters').and.include('the limit is');
  });

  it('should refuse it in buildModel, allocating nothing', () => {
    expect(refusal(() => buildModel({ ...HOSTILE_GPT }, undefined, registry)).message).to.include('the limit is');
  });

  it('should refuse it in buildGpt given a config that skipped normalization', () => {
    const config = { ...normalizeModelConfig({ ...TINY_GPT }), hiddenSize: 65536, numLayers: 4096, numHeads: 4096 } as unknown as Parameters<typeof buildGpt>[0];
    expect(refusal(() => buildGpt(config, { name: 'exact' }, registry) as GptModel).message).to.include('the limit is');
  });

  it('should refuse a checkpoint whose config.json asks for it, allocating nothing', () => {
    const error = refusal(() => loadCheckpoint(dir, registry));
    expect(error.message).to.include('the limit is');
  });

  it('should make `swapformer infer` exit 1 with one message and no stack trace', function () {
    this.timeout(120000);
    const r = runCli(['infer', '--checkpoint', dir, '--input', path.join(dir, 'input.json'), '--output', path.join(dir, 'out.json')], { timeoutMs: 60000 });
    expect(r.timedOut, 'timed out').to.equal(false);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr).to.include('swapformer: error:').and.include('the limit is');
    expect(r.stderr.match(/swapformer: error:/g)).to.have.length(1);
    expect(r.stderr).to.not.match(/^\s+at .+:\d+:\d+\)?$/m);
    expect(fs.existsSync(path.join(dir, 'out.json'))).to.equal(false);
  });
});
