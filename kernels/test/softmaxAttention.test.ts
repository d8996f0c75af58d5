import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // tfjs-core's Node entry registers no gradients; tsx can load this ESM module
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { denseSoftmaxAttention } from '@swapformer/kernels';
import { createKernelContext } from '@swapformer/core';

/** The kernel settings and resources these tests run the kernels with (defaults: core-count threads). */
const kernels = createKernelContext();

describe('denseSoftmaxAttention', () => {
  describe('having a single (batch, head) slice under a gradient tape', () => {
    it('should give the same query gradient as that slice inside a two-head call', () => {
      const [q, k, otherQ, otherK] = [1, 2, 3, 4].map((seed) => tf.randomNormal([1, 1, 5, 4], 0, 1, 'float32', seed) as Tensor4D);
      const single = tf.grad((x: tf.Tensor) => tf.sum(tf.square(denseSoftmaxAttention(kernels, x as Tensor4D, k, k))))(q);
      const keys = tf.concat([k, otherK], 1) as Tensor4D;
      const firstHeadLoss = (x: tf.Tensor) => tf.sum(tf.square(tf.slice(denseSoftmaxAttention(kernels, x as Tensor4D, keys, keys), [0, 0, 0, 0], [1, 1, -1, -1])));
      const pair = tf.grad(firstHeadLoss)(tf.concat([q, otherQ], 1));
      const firstHead = tf.slice(pair, [0, 0, 0, 0], [1, 1, -1, -1]);
      expect(Math.max(...Array.from(tf.sub(single, firstHead).dataSync()).map(Math.abs))).to.be.below(1e-5);
      tf.dispose([q, k, otherQ, otherK, keys, single, pair, firstHead]);
    });
  });
});
