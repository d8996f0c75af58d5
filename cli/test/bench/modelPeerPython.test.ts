import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { buildGpt, buildVit, normalizeModelConfig, type GptModelConfig, type ModelParameter, type VitModelConfig } from '@swapformer/models';
import { maxRelativeDifference } from '../../src/bench/models/logitsAgreement';
import { defineModelPeer, modelBenchScratch, writeF32 } from '../../src/bench/models/runModelBench';
import { PythonPeerProcess } from '../../src/bench/peers/pythonPeer';
import { createCliSession } from '../../src/cli/createCliSession';

function writeWeights(parameters: readonly ModelParameter[], dir: string) {
  return parameters.map((p, i) => {
    writeF32(path.join(dir, `${i}.f32`), p.variable.dataSync() as Float32Array);
    return { name: p.name, shape: p.variable.shape };
  });
}

function readF32(file: string): Float32Array {
  const bytes = fs.readFileSync(file);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

describe('numpy model peer (bench-models)', () => {
  let proc: PythonPeerProcess | null = null;
  let dir = '';
  before(async function () {
    const started = PythonPeerProcess.start({ threads: 1 });
    if (typeof started === 'string') this.skip();
    proc = started as PythonPeerProcess;
    await defineModelPeer(proc);
    dir = modelBenchScratch();
  });
  after(async () => {
    await proc?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('should compute the same GPT-2 logits as Swapformer from the same weights', async () => {
    const config = normalizeModelConfig({ model: 'gpt', vocabSize: 97, nPositions: 64, hiddenSize: 32, numLayers: 2, numHeads: 4, seed: 3 }) as GptModelConfig;
    const model = buildGpt(config, { name: 'exact' }, createCliSession({ seed: 0 }).registry);
    const ids = [5, 17, 3, 96, 0, 42];
    const ours = tf.tidy(() => tf.slice(model.forward(tf.tensor2d([ids], [1, 6], 'int32')), [0, 5, 0], [1, 1, 97]).dataSync() as Float32Array);
    const loaded = await proc!.request({ op: 'gpt2_load', dir, manifest: writeWeights(model.parameters(), dir), layers: 2, heads: 4, eps: config.layerNormEps });
    expect(loaded.error).to.equal(undefined);
    await proc!.request({ op: 'gpt2_run', ids, path: path.join(dir, 'out.f32') });
    expect(maxRelativeDifference(readF32(path.join(dir, 'out.f32')), ours)).to.be.below(1e-4);
    model.dispose();
  });

  it('should compute the same ViT logits as Swapformer (skipped without scipy, which has the erf GELU)', async function () {
    const config = normalizeModelConfig({ model: 'vit', imageSize: 16, patchSize: 4, numChannels: 3, hiddenSize: 32, numLayers: 2, numHeads: 4, numLabels: 10, seed: 5 }) as VitModelConfig;
    const model = buildVit(config, { name: 'exact' }, createCliSession({ seed: 0 }).registry);
    const pixels = tf.randomNormal([2, 3, 16, 16], 0, 1, 'float32', 11);
    const ours = tf.tidy(() => model.forward(pixels).dataSync() as Float32Array);
    writeF32(path.join(dir, 'pixels.f32'), pixels.dataSync() as Float32Array);
    await proc!.request({ op: 'vit_load', dir, manifest: writeWeights(model.parameters(), dir), layers: 2, heads: 4, eps: config.layerNormEps, patch: 4, pixels: [2, 3, 16, 16] });
    const ran = await proc!.request({ op: 'vit_run', path: path.join(dir, 'out.f32') });
    tf.dispose(pixels);
    model.dispose();
    if (String(ran.error ?? '').includes('scipy')) this.skip();
    expect(ran.error).to.equal(undefined);
    expect(maxRelativeDifference(readF32(path.join(dir, 'out.f32')), ours)).to.be.below(1e-4);
  });
});
