import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { buildGpt, buildVit, generate, normalizeModelConfig, type GptModelConfig, type VitModelConfig } from '@swapformer/models';
import { argmax, OrtGpt2, ortSession } from '../../src/bench/models/ortModelPeer';
import { gpt2OnnxModel, readWeights, vitOnnxModel } from '../../src/bench/models/onnxTransformerGraphs';
import { loadOnnxRuntime, type OrtModule } from '../../src/bench/peers/onnxruntimePeer';
import { maxRelativeDifference } from '../../src/bench/models/logitsAgreement';
import { createCliSession } from '../../src/cli/createCliSession';

const registry = () => createCliSession({ seed: 0 }).registry;

describe('ONNX graphs of whole models (onnxruntime-node peer)', () => {
  const loaded = loadOnnxRuntime();

  it("should give GPT-2 logits equal to Swapformer's, in a full forward and step by step through the past key/values", async function () {
    if (typeof loaded === 'string') this.skip();
    const ort = loaded as OrtModule;
    const config = normalizeModelConfig({ model: 'gpt', vocabSize: 97, nPositions: 64, hiddenSize: 32, numLayers: 2, numHeads: 4, seed: 3 }) as GptModelConfig;
    const model = buildGpt(config, { name: 'exact' }, registry());
    const peer = new OrtGpt2(ort, await ortSession(ort, gpt2OnnxModel(config, readWeights(model.parameters())), 1), config);
    const ids = [5, 17, 3, 96, 0, 42, 8, 8, 61];
    const ours = tf.tidy(() => tf.slice(model.forward(tf.tensor2d([ids], [1, ids.length], 'int32')), [0, ids.length - 1, 0], [1, 1, 97]).dataSync() as Float32Array);
    expect(maxRelativeDifference(await peer.forward(ids), ours)).to.be.below(1e-4);
    // generation: ORT through its own cache vs Swapformer's kv-cache; the first logits and every greedy token agree
    const theirs = await peer.generate(ids, 12);
    let first: Float32Array | null = null;
    const mine = generate(model, [ids], { maxNewTokens: 12, temperature: 0, onStep: (_, logits) => (first ??= logits.slice()) });
    expect(maxRelativeDifference(theirs.firstLogits, first!)).to.be.below(1e-4);
    expect(theirs.tokens).to.deep.equal(mine.tokens[0]);
    expect(argmax(theirs.firstLogits)).to.equal(mine.tokens[0][0]);
    model.dispose();
  });

  it("should give ViT logits equal to Swapformer's for a batch", async function () {
    if (typeof loaded === 'string') this.skip();
    const ort = loaded as OrtModule;
    const config = normalizeModelConfig({ model: 'vit', imageSize: 16, patchSize: 4, numChannels: 3, hiddenSize: 32, numLayers: 2, numHeads: 4, numLabels: 10, seed: 5 }) as VitModelConfig;
    const model = buildVit(config, { name: 'exact' }, registry());
    const session = await ortSession(ort, vitOnnxModel(config, readWeights(model.parameters()), 3), 1);
    const pixels = tf.randomNormal([3, 3, 16, 16], 0, 1, 'float32', 11);
    const ours = tf.tidy(() => model.forward(pixels).dataSync() as Float32Array);
    const out = await session.run({ pixel_values: new ort.Tensor('float32', pixels.dataSync() as Float32Array, [3, 3, 16, 16]) });
    expect(out.logits.dims).to.deep.equal([3, 10]);
    expect(maxRelativeDifference(out.logits.data as Float32Array, ours)).to.be.below(1e-4);
    pixels.dispose();
    model.dispose();
  });
});
