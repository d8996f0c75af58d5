import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // tfjs-core's Node entry registers no gradients; tsx can load this ESM module
import type { Tensor2D } from '@tensorflow/tfjs-core';
import { SwapformerError } from '@swapformer/core';
import { gatherRows } from '@swapformer/kernels';

describe('gatherRows', () => {
  const xFixture = () => tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8]]);

  it('should pick rows in order and give zero rows for −1', () => {
    const x = xFixture();
    const out = gatherRows(x, [2, -1, 0, -1]);
    expect(out.arraySync()).to.deep.equal([[5, 6], [0, 0], [1, 2], [0, 0]]);
    tf.dispose([x, out]);
  });

  it('should send each output row\'s gradient back to its source row (0 for rows not picked) on the active backend', () => {
    const x = xFixture();
    const weights = tf.tensor2d([[1, 10], [100, 1000], [2, 20]]);
    const grad = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(gatherRows(a as Tensor2D, [3, -1, 1]), weights)))(x);
    expect(grad.arraySync()).to.deep.equal([[0, 0], [2, 20], [0, 0], [1, 10]]);
    tf.dispose([x, weights, grad]);
  });

  it('should refuse repeated or out-of-range indices', () => {
    const x = xFixture();
    for (const [indices, text] of [[[1, 1], 'picked twice'], [[4], 'outside [0, 4)']] as const) {
      let caught: unknown;
      try {
        gatherRows(x, indices);
      } catch (error) {
        caught = error;
      }
      expect(SwapformerError.is(caught) && caught.kind === 'invalid-input').to.equal(true);
      expect((caught as Error).message).to.include(text);
    }
    x.dispose();
  });
});
