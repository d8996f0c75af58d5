import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { splitSlices } from '@swapformer/kernels';

describe('splitSlices', () => {
  for (const count of [1, 5, 17, 40]) {
    it(`should give the same slices as unstack for ${count} slice(s), in order`, () => {
      const x = tf.tidy(() => tf.reshape(tf.range(0, count * 6), [count, 2, 3]));
      const parts = splitSlices(x, count);
      expect(parts).to.have.length(count);
      parts.forEach((p, i) => {
        expect(p.shape).to.deep.equal([2, 3]);
        expect(Array.from(p.dataSync())).to.deep.equal(Array.from({ length: 6 }, (_, j) => i * 6 + j));
      });
      tf.dispose([x, ...parts]);
    });
  }

  it('should be differentiable, also for a single slice', () => {
    for (const count of [1, 2, 20, 26]) {
      const x = tf.ones([count, 2, 2]);
      const g = tf.grad((t: tf.Tensor) => splitSlices(t, count).map((s, i) => tf.mul(tf.sum(s), i + 1)).reduce((a, b) => tf.add(a, b)))(x);
      const expected = Array.from({ length: count * 4 }, (_, j) => Math.floor(j / 4) + 1);
      expect(Array.from(g.dataSync())).to.deep.equal(expected);
      tf.dispose([x, g]);
    }
  });
});
