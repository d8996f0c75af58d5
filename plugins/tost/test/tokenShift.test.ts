// tfjs-core's Node entry registers no gradients; the training test needs them.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import { createMemoryLogger, createSwapformerContainer, instantiateOperator, resolveOperatorServices, type AttentionOperator, type OperatorGeometry } from '@swapformer/core';
import { expectTensorsClose, maxAbsDiff, randomAttentionInputs } from '@swapformer/core/conformance';
import { tostPlugin } from '../src';

const createFixture = (geometry: OperatorGeometry, options: Record<string, unknown> = {}): AttentionOperator =>
  instantiateOperator(tostPlugin, options, resolveOperatorServices(createSwapformerContainer({ logger: createMemoryLogger() })), geometry);

/** An operator whose shift kernel and denom_bias are random (not the ramp / zero initialisation). */
function randomisedFixture(heads: number, headDim: number, maxSeqLen: number, tokenShift: number): AttentionOperator {
  const op = createFixture({ heads, headDim, maxSeqLen, layerIndex: 0 }, { tokenShift });
  const byName = new Map(op.parameters().map((p) => [p.name, p.variable as tf.Variable]));
  tf.tidy(() => {
    byName.get('denom_bias')!.assign(tf.randomNormal([heads, maxSeqLen], 0, 0.3, 'float32', 3));
    byName.get('token_shift')!.assign(tf.randomNormal([tokenShift + 1, heads, headDim], 0, 0.7, 'float32', 4));
  });
  return op;
}

/** w with the sign of token `at` flipped: the same squares, the opposite content. */
function flipToken(w: Tensor4D, at: number): Tensor4D {
  return tf.tidy(() => {
    const n = w.shape[2];
    const sign = tf.reshape(tf.tensor1d(Array.from({ length: n }, (_, i) => (i === at ? -1 : 1))), [1, 1, n, 1]);
    return tf.mul(w, sign) as Tensor4D;
  });
}

describe('tostPlugin with tokenShift', () => {
  it('should own a token_shift kernel [s + 1, h, p] starting at the RWKV ramp (w_t·(1 − c/p) + w_{t−1}·c/p)', () => {
    const op = createFixture({ heads: 2, headDim: 4, maxSeqLen: 8 }, { tokenShift: 2 });
    const kernel = op.parameters().find((p) => p.name === 'token_shift')!.variable;
    expect(kernel.shape).to.deep.equal([3, 2, 4]);
    expect(Array.from(kernel.dataSync())).to.deep.equal([1, 0.75, 0.5, 0.25, 1, 0.75, 0.5, 0.25, 0, 0.25, 0.5, 0.75, 0, 0.25, 0.5, 0.75, 0, 0, 0, 0, 0, 0, 0, 0]);
    op.dispose();
    const plain = createFixture({ heads: 2, headDim: 4, maxSeqLen: 8 });
    expect(plain.parameters().map((p) => p.name)).to.deep.equal(['temp', 'denom_bias']);
    plain.dispose();
  });

  it("should move the previous token's content to position t, which plain causal TSSA cannot (it sees only squares)", () => {
    const { q: w } = randomAttentionInputs({ batch: 1, heads: 3, nq: 10, nk: 10, dk: 4 }, 51, 1);
    const flipped = flipToken(w, 6);
    const at7 = (y: Tensor4D) => tf.slice(y, [0, 0, 7, 0], [-1, -1, 1, -1]);
    for (const [tokenShift, changes] of [
      [0, false],
      [1, true],
    ] as const) {
      const op = createFixture({ heads: 3, headDim: 4, maxSeqLen: 10 }, { tokenShift });
      const [a, b] = [op.forward(w, w, w, { causal: true }), op.forward(flipped, flipped, flipped, { causal: true })];
      const [a7, b7] = [at7(a), at7(b)];
      const d = maxAbsDiff(a7, b7);
      if (changes) expect(d, `tokenShift ${tokenShift}`).to.be.above(1e-3);
      else expect(d, `tokenShift ${tokenShift}`).to.equal(0);
      tf.dispose([a, b, a7, b7]);
      op.dispose();
    }
    tf.dispose([w, flipped]);
  });

  it('should equal plain TSSA when the kernel is the identity (κ_0 = 1, the rest 0)', () => {
    const { q: w } = randomAttentionInputs({ batch: 2, heads: 2, nq: 9, nk: 9, dk: 4 }, 52, 1);
    const shifted = createFixture({ heads: 2, headDim: 4, maxSeqLen: 9 }, { tokenShift: 2 });
    const plain = createFixture({ heads: 2, headDim: 4, maxSeqLen: 9 });
    const identity = tf.tidy(() => tf.concat([tf.ones([1, 2, 4]), tf.zeros([2, 2, 4])], 0));
    (shifted.parameters().find((p) => p.name === 'token_shift')!.variable as tf.Variable).assign(identity);
    for (const causal of [true, false]) {
      const [a, b] = [shifted.forward(w, w, w, { causal }), plain.forward(w, w, w, { causal })];
      expect(maxAbsDiff(a, b), `causal ${causal}`).to.equal(0);
      tf.dispose([a, b]);
    }
    tf.dispose([w, identity]);
    shifted.dispose();
    plain.dispose();
  });

  it('should decode in uneven groups exactly like the full causal forward, carrying the last s raw w in an O(h·p·(s + 1)) state', () => {
    const [h, p, n, s] = [3, 4, 13, 2];
    const op = randomisedFixture(h, p, 16, s);
    const { q: w } = randomAttentionInputs({ batch: 2, heads: h, nq: n, nk: n, dk: p }, 53, 1);
    const full = op.forward(w, w, w, { causal: true });
    let state = op.decoder!.initState(2);
    const outs: Tensor4D[] = [];
    for (const [t0, t] of [
      [0, 1],
      [1, 1],
      [2, 4],
      [6, 6],
      [12, 1],
    ]) {
      const part = tf.slice(w, [0, 0, t0, 0], [-1, -1, t, -1]) as Tensor4D;
      const step = op.decoder!.step(part, part, part, state, {});
      op.decoder!.disposeState(state);
      state = step.state;
      outs.push(step.output);
      part.dispose();
      expect(state.tensors.reduce((sum, x) => sum + x.size, 0)).to.equal(2 * h * (p + p + 1) + 2 + 2 * h * s * p);
    }
    const stepped = tf.concat(outs, 2);
    expectTensorsClose(stepped, full, { atol: 1e-6 });
    op.decoder!.disposeState(state);
    tf.dispose([w, full, stepped, ...outs]);
    op.dispose();
  });

  it('should keep hidden tokens out of the shift: changing a masked token changes no output', () => {
    const op = randomisedFixture(2, 4, 12, 3);
    const { q: w } = randomAttentionInputs({ batch: 2, heads: 2, nq: 12, nk: 12, dk: 4 }, 54, 1);
    const hidden = 4;
    const mask = tf.tensor2d([Array(12).fill(1), Array.from({ length: 12 }, (_, i) => (i === hidden ? 0 : 1))]) as Tensor2D;
    // +5 on the hidden token of row 1 only.
    const bump = Array.from({ length: 24 }, (_, i) => (i === 12 + hidden ? 5 : 0));
    const changed = tf.tidy(() => tf.add(w, tf.tensor4d(bump, [2, 1, 12, 1])) as Tensor4D);
    for (const causal of [true, false]) {
      const [a, b] = [op.forward(w, w, w, { causal, mask }), op.forward(changed, changed, changed, { causal, mask })];
      expect(maxAbsDiff(a, b), `causal ${causal}`).to.equal(0);
      tf.dispose([a, b]);
    }
    tf.dispose([w, changed, mask]);
    op.dispose();
  });

  it('should let gradients reach token_shift and leak no tensors in training', () => {
    const op = randomisedFixture(2, 4, 10, 1);
    const { q: w } = randomAttentionInputs({ batch: 2, heads: 2, nq: 10, nk: 10, dk: 4 }, 55, 1);
    const kernel = op.parameters().find((p) => p.name === 'token_shift')!.variable;
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(op.forward(w, w, w, { causal: true }))) as tf.Scalar, [kernel]);
    expect(tf.tidy(() => tf.max(tf.abs(grads[kernel.name])).dataSync()[0])).to.be.above(0);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).to.equal(before);
    w.dispose();
    op.dispose();
  });
});
