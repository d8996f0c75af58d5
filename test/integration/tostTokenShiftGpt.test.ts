import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { buildModel, generate, type GptModel } from '@swapformer/models';
import { createOperatorRegistry } from '@swapformer/registry';
import { exactPlugin } from '@swapformer/plugin-exact';
import { tostPlugin } from '@swapformer/plugin-tost';

/** Logits of a full forward over `ids`, last position only. */
function fullLastLogits(model: GptModel, ids: number[]): Float32Array {
  return tf.tidy(() => {
    const logits = model.forward(tf.tensor2d([ids], [1, ids.length], 'int32'));
    return tf.slice(logits, [0, ids.length - 1, 0], [1, 1, model.modelConfig.vocabSize]).dataSync() as Float32Array;
  });
}

describe('a char-GPT on TOST with tokenShift', () => {
  it('should generate through the recurrent state (prefix statistics plus the last s raw w) with the logits of full recomputation', () => {
    const registry = createOperatorRegistry();
    registry.register(exactPlugin);
    registry.register(tostPlugin);
    const config = { model: 'gpt', vocabSize: 19, nPositions: 24, hiddenSize: 16, numLayers: 2, numHeads: 2, seed: 4 } as const;
    const model = buildModel(config, { name: 'tost', options: { tokenShift: 2 } }, registry, { training: true }) as GptModel;
    // move the shift kernels off their initial ramp so every tap matters
    for (const p of model.parameters().filter((q) => q.name.endsWith('token_shift'))) {
      tf.tidy(() => (p.variable as tf.Variable).assign(tf.randomNormal(p.variable.shape, 0, 0.8, 'float32', 11)));
    }
    expect(model.parameters().filter((p) => p.name.endsWith('token_shift')).map((p) => p.variable.shape)).to.deep.equal([
      [3, 2, 8],
      [3, 2, 8],
    ]);
    const prompt = [3, 1, 4, 1, 5, 9];
    const steps: Float32Array[] = [];
    const result = generate(model, [prompt], { maxNewTokens: 8, temperature: 0.8, seed: 2, onStep: (_s, logits) => void steps.push(logits.slice()) });
    expect(result.decoding).to.equal('recurrent-state');
    const sequence = [...prompt];
    steps.forEach((logits, step) => {
      const full = fullLastLogits(model, sequence);
      let worst = 0;
      for (let i = 0; i < full.length; i++) worst = Math.max(worst, Math.abs(full[i] - logits[i]));
      expect(worst, `step ${step}`).to.be.below(1e-4);
      sequence.push(result.tokens[0][step]);
    });
    model.dispose();
  });
});
