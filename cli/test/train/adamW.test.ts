import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'chai';
import { createAdamW, decays, DEFAULT_ADAMW } from '../../src/train/adamW';
import { learningRateAt } from '../../src/train/learningRate';
import type { NamedVariable } from '../../../models/src/models/SwapformerModel';

function param(name: string, values: number[], shape: number[]): NamedVariable {
  const initial = tf.tensor(values, shape);
  const variable = tf.variable(initial, true);
  initial.dispose();
  return { name, variable, trainable: true };
}

describe('createAdamW', () => {
  it('should take the textbook first step: p − lr·(sign(g) + λ·p) for decayed weights', () => {
    const weight = param('layer.weight', [1, -2, 3, 4], [2, 2]);
    const bias = param('layer.bias', [0.5, 0.5], [2]);
    const opt = createAdamW({ ...DEFAULT_ADAMW, weightDecay: 0.1, clipNorm: 0 });
    const grads = { [weight.variable.name]: tf.tensor([0.1, 0.2, -0.3, 0], [2, 2]), [bias.variable.name]: tf.tensor([1, -1]) };
    opt.step([weight, bias], grads, 0.01).dispose();
    // After one step m̂ = g and v̂ = g², so the Adam direction is g/(|g| + ε) ≈ sign(g).
    const w = Array.from(weight.variable.dataSync());
    const expected = [1 - 0.01 * (1 + 0.1 * 1), -2 - 0.01 * (1 + 0.1 * -2), 3 - 0.01 * (-1 + 0.1 * 3), 4 - 0.01 * (0 + 0.1 * 4)];
    w.forEach((x, i) => expect(x).to.be.closeTo(expected[i], 1e-5));
    // The bias is not decayed.
    Array.from(bias.variable.dataSync()).forEach((x, i) => expect(x).to.be.closeTo([0.49, 0.51][i], 1e-6));
    opt.dispose();
    weight.variable.dispose();
    bias.variable.dispose();
  });

  it('should clip to the global norm and report the norm before clipping', () => {
    const a = param('a.weight', [0, 0], [1, 2]);
    const opt = createAdamW({ ...DEFAULT_ADAMW, weightDecay: 0, clipNorm: 1 });
    const norm = opt.step([a], { [a.variable.name]: tf.tensor([[3, 4]]) }, 0.1);
    expect(norm.dataSync()[0]).to.be.closeTo(5, 1e-5);
    norm.dispose();
    // The clipped gradient is (0.6, 0.8): the first moment holds (1 − β1)·g.
    const m = opt.state().get('a.weight')!.m.dataSync();
    expect(m[0]).to.be.closeTo(0.1 * 0.6, 1e-5);
    expect(m[1]).to.be.closeTo(0.1 * 0.8, 1e-5);
    opt.dispose();
    a.variable.dispose();
  });

  it('should release every intermediate tensor', () => {
    const a = param('a.weight', [1, 2, 3, 4], [2, 2]);
    const opt = createAdamW(DEFAULT_ADAMW);
    opt.step([a], { [a.variable.name]: tf.ones([2, 2]) }, 0.1).dispose();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) opt.step([a], { [a.variable.name]: tf.ones([2, 2]) }, 0.1).dispose();
    expect(tf.memory().numTensors).to.equal(before);
    opt.dispose();
    a.variable.dispose();
  });

  it('should keep a parameter\'s moments by name when the parameter set changes (warm-start model swap)', () => {
    const gradOf = (p: NamedVariable, step: number) => ({ [p.variable.name]: tf.tensor([0.3 * step - 0.5, 0.2], [1, 2]) });
    // b alone all along, versus b first next to a, then (a new model) next to c.
    const alone = param('b.weight', [1, 2], [1, 2]);
    const optAlone = createAdamW({ ...DEFAULT_ADAMW, clipNorm: 0 });
    for (let s = 1; s <= 4; s++) optAlone.step([alone], gradOf(alone, s), 0.05).dispose();
    const a = param('a.weight', [5, 6], [1, 2]);
    const b = param('b.weight', [1, 2], [1, 2]);
    const c = param('c.weight', [7], [1, 1]);
    const opt = createAdamW({ ...DEFAULT_ADAMW, clipNorm: 0 });
    for (let s = 1; s <= 2; s++) opt.step([a, b], { ...gradOf(a, s), ...gradOf(b, s) }, 0.05).dispose();
    const b2 = param('b.weight', Array.from(b.variable.dataSync()), [1, 2]);
    for (let s = 3; s <= 4; s++) opt.step([c, b2], { [c.variable.name]: tf.ones([1, 1]), ...gradOf(b2, s) }, 0.05).dispose();
    Array.from(b2.variable.dataSync()).forEach((x, i) => expect(x).to.be.closeTo(alone.variable.dataSync()[i], 1e-6));
    expect(opt.state().get('b.weight')!.v.dataSync()[0]).to.be.closeTo(optAlone.state().get('b.weight')!.v.dataSync()[0], 1e-7);
    expect([...opt.state().keys()]).to.have.members(['c.weight', 'b.weight']);
    opt.dispose();
    optAlone.dispose();
    for (const p of [alone, a, b, b2, c]) p.variable.dispose();
  });
});

describe('decays', () => {
  const v = (shape: number[]) => ({ rank: shape.length }) as tf.Variable;
  it('should decay weight matrices and embeddings only', () => {
    expect(decays({ name: 'vit.encoder.layer.0.attention.query.weight', variable: v([4, 4]) })).to.equal(true);
    expect(decays({ name: 'transformer.wte.weight', variable: v([8, 4]) })).to.equal(true);
    expect(decays({ name: 'vit.encoder.layer.0.layernorm_before.weight', variable: v([4]) })).to.equal(false);
    expect(decays({ name: 'transformer.h.0.ln_1.weight', variable: v([4]) })).to.equal(false);
    expect(decays({ name: 'transformer.h.0.attn.operator.denom_bias', variable: v([4, 512]) })).to.equal(false);
    expect(decays({ name: 'transformer.h.0.attn.operator.temperature', variable: v([4, 1]) })).to.equal(false);
    expect(decays({ name: 'vit.embeddings.position_embeddings', variable: v([1, 50, 128]) })).to.equal(false);
    expect(decays({ name: 'vit.pixel_stage.embeddings.cls_token', variable: v([1, 1, 32]) })).to.equal(false);
    expect(decays({ name: 'transformer.wpe.weight', variable: v([512, 128]) })).to.equal(true);
  });
});

describe('learningRateAt', () => {
  const scheduleFixture = { peak: 1e-3, warmupSteps: 10, totalSteps: 110, minRatio: 0.1 };
  it('should rise linearly to the peak during warmup', () => {
    expect(learningRateAt(scheduleFixture, 0)).to.be.closeTo(1e-4, 1e-12);
    expect(learningRateAt(scheduleFixture, 9)).to.be.closeTo(1e-3, 1e-12);
  });
  it('should follow a half cosine down to minRatio · peak', () => {
    expect(learningRateAt(scheduleFixture, 10)).to.be.closeTo(1e-3, 1e-12);
    expect(learningRateAt(scheduleFixture, 60)).to.be.closeTo(0.55e-3, 1e-12);
    expect(learningRateAt(scheduleFixture, 110)).to.be.closeTo(1e-4, 1e-12);
    expect(learningRateAt(scheduleFixture, 500)).to.be.closeTo(1e-4, 1e-12);
  });
});
