/**
 * Soak: 1,000 forward passes per installed operator through the path a model layer uses
 * (registry → create → runAttention with hooks and finite checks), with a fresh seed per call.
 * The tensor count and tfjs byte count must not move after the first call, and the JS heap may
 * grow by at most SOAK_HEAP_BUDGET between call 100 and call 1,000 (after full collections).
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { runAttention } from '@swapformer/core';
import { randomAttentionInputs } from '@swapformer/core/conformance';
import { SOAK_CALLS, SOAK_HEAP_BUDGET, SOAK_SHAPE, SOAK_TOKENS } from './corpus/soakPlan';
import { heapAfterGc } from './support/memory';
import { MODELS_PENDING, modelsApi, TINY_GPT } from './support/models';
import { installedRegistry } from './support/registries';

const registryFixture = installedRegistry();

describe('soak', () => {
  for (const record of registryFixture.list()) {
    const name = record.meta.name;
    const causal = record.capabilities.causal === 'native';
    it(`should run ${SOAK_CALLS} ${causal ? 'causal ' : ''}forwards of ${name} with a stable tensor count and bounded heap`, function () {
      this.timeout(240000);
      const resolved = registryFixture.resolve({ name }, {}, { layerIndex: 0 });
      const { q, k, v } = randomAttentionInputs(SOAK_SHAPE, 11, 0.5);
      const start = tf.memory().numTensors;
      const operator = resolved.create({ heads: SOAK_SHAPE.heads, headDim: SOAK_SHAPE.dk, valueDim: SOAK_SHAPE.dk, modelDim: SOAK_SHAPE.heads * SOAK_SHAPE.dk, maxSeqLen: SOAK_SHAPE.nq, layerIndex: 0 });
      const site = { hooks: registryFixture.hooks, operator, capabilities: resolved.capabilities, layerIndex: 0 };
      const counts: number[] = [];
      const bytes: number[] = [];
      let heapAt100 = 0;
      let exactHeap = false;
      for (let call = 0; call < SOAK_CALLS; call++) {
        const out = runAttention(site, q, k, v, { causal, seed: call, callIndex: call, layerIndex: 0 });
        if (call % 100 === 0 || call === SOAK_CALLS - 1) {
          const finite = tf.tidy(() => tf.all(tf.isFinite(out)).dataSync()[0]);
          expect(finite, `call ${call} gave a non-finite output`).to.equal(1);
        }
        out.dispose();
        if (call % 100 === 0 || call === SOAK_CALLS - 1) {
          counts.push(tf.memory().numTensors);
          bytes.push(tf.memory().numBytes);
        }
        if (call === 100) ({ bytes: heapAt100, exact: exactHeap } = heapAfterGc());
      }
      const heapGrowth = heapAfterGc().bytes - heapAt100;
      operator.dispose();
      const afterDispose = tf.memory().numTensors;
      tf.dispose([q, k, v]);
      expect(new Set(counts).size, `tensor counts every 100 calls: ${counts.join(', ')}`).to.equal(1);
      expect(new Set(bytes).size, `tfjs bytes every 100 calls: ${bytes.join(', ')}`).to.equal(1);
      expect(afterDispose, 'tensors after operator.dispose()').to.equal(start);
      expect(heapGrowth, `heap grew ${(heapGrowth / 1048576).toFixed(2)} MiB from call 100 to ${SOAK_CALLS}${exactHeap ? '' : ' (no gc available; loose)'}`).to.be.below(exactHeap ? SOAK_HEAP_BUDGET : 8 * SOAK_HEAP_BUDGET);
    });
  }

  it('should generate 1,000 tokens with a stable tensor count and bounded memory', function () {
    this.timeout(300000);
    const api = modelsApi();
    if (!api) {
      process.stderr.write(`    (pending: ${MODELS_PENDING})\n`);
      return this.skip();
    }
    const model = api.buildModel({ ...TINY_GPT }, undefined, registryFixture);
    api.generate(model, [[1]], { maxNewTokens: 2, seed: 3 }); // the first call creates one lazily cached tensor
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    let heapAt100 = 0;
    const { tokens, decoding } = api.generate(model, [[1]], {
      maxNewTokens: SOAK_TOKENS,
      seed: 3,
      temperature: 1,
      onStep: (step) => {
        if (step % 100 === 0) counts.push(tf.memory().numTensors);
        if (step === 100) heapAt100 = heapAfterGc().bytes;
      },
    });
    const heapGrowth = heapAfterGc().bytes - heapAt100;
    expect(tokens[0]).to.have.length(SOAK_TOKENS);
    expect(tokens[0].every((t) => Number.isInteger(t) && t >= 0 && t < TINY_GPT.vocabSize)).to.equal(true);
    expect(new Set(counts).size, `tensor counts every 100 tokens (${decoding}): ${counts.join(', ')}`).to.equal(1);
    expect(tf.memory().numTensors, 'tensors after generation').to.equal(before);
    // the kv-cache holds 2 × layers × 1,000 × width floats (~0.25 MiB here); the JS heap must not grow with the tokens
    expect(heapGrowth, `heap grew ${(heapGrowth / 1048576).toFixed(2)} MiB from token 100 to ${SOAK_TOKENS}`).to.be.below(SOAK_HEAP_BUDGET);
    model.dispose();
  });
});
