import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { expectTensorsClose } from '@swapformer/core/conformance';
import { ensureGradients } from '../../src/models/ensureGradients';
import { layerNorm, repeatOverBatch } from '../../src/models/layers';
import { bytesUploadedDuring } from './modelFixtures';

/** tfjs's own composition, differentiated by tfjs: the reference for the hand-written gradient. */
function layerNormByAutodiff(x: tf.Tensor2D, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta) as tf.Tensor2D;
}

describe('model layers', () => {
  const rows = 37;
  const width = 24;
  const eps = 1e-5;
  let x: tf.Tensor2D;
  let gamma: tf.Variable;
  let beta: tf.Variable;
  let weights: tf.Tensor2D;
  before(async () => {
    await ensureGradients();
    x = tf.randomNormal([rows, width], 0.5, 2, 'float32', 1) as tf.Tensor2D;
    gamma = tf.variable(tf.randomNormal([width], 1, 0.3, 'float32', 2));
    beta = tf.variable(tf.randomNormal([width], 0, 0.3, 'float32', 3));
    weights = tf.randomNormal([rows, width], 0, 1, 'float32', 4) as tf.Tensor2D;
  });
  after(() => tf.dispose([x, gamma, beta, weights]));

  describe('layerNorm', () => {
    const lossWith = (norm: typeof layerNorm) => (input: tf.Tensor) => tf.sum(tf.mul(tf.sin(norm(input as tf.Tensor2D, gamma, beta, eps)), weights)) as tf.Scalar;

    it('should give the same values and the same gradients (input, gain, bias) as tfjs autodiff of the moments composition', () => {
      tf.tidy(() => {
        expectTensorsClose(layerNorm(x, gamma, beta, eps), layerNormByAutodiff(x, gamma, beta, eps), { atol: 1e-6, rtol: 1e-6 });
        const ours = tf.variableGrads(() => lossWith(layerNorm)(x), [gamma, beta]);
        const reference = tf.variableGrads(() => lossWith(layerNormByAutodiff)(x), [gamma, beta]);
        expectTensorsClose(tf.grad(lossWith(layerNorm))(x), tf.grad(lossWith(layerNormByAutodiff))(x), { atol: 1e-5, rtol: 1e-4 });
        expectTensorsClose(ours.grads[gamma.name], reference.grads[gamma.name], { atol: 1e-5, rtol: 1e-4 });
        expectTensorsClose(ours.grads[beta.name], reference.grads[beta.name], { atol: 1e-5, rtol: 1e-4 });
      });
    });

    it('should compute its gradient without uploading input-sized host data', () => {
      const uploaded = bytesUploadedDuring(() => tf.tidy(() => tf.grad((input: tf.Tensor) => layerNorm(input as tf.Tensor2D, gamma, beta, eps))(x, weights)));
      expect(uploaded).to.be.below((rows * width * 4) / 4);
    });

    it('should leave no tensors behind', () => {
      const baseline = tf.memory().numTensors;
      tf.dispose(tf.grad(lossWith(layerNorm))(x));
      expect(tf.memory().numTensors).to.equal(baseline);
    });
  });

  describe('repeatOverBatch', () => {
    it('should equal tf.tile forward, and its gradient the sum over the batch, in a number of kernels independent of the batch', async () => {
      const row = tf.randomNormal([1, 1, 5], 0, 1, 'float32', 5);
      const kernelsFor = async (b: number) => {
        const dy = tf.randomNormal([b, 1, 5], 0, 1, 'float32', 6);
        const loss = (r: tf.Tensor) => tf.sum(tf.mul(repeatOverBatch(r, b), dy)) as tf.Scalar;
        tf.tidy(() => {
          expectTensorsClose(repeatOverBatch(row, b), tf.tile(row, [b, 1, 1]), { atol: 0, rtol: 0 });
          expectTensorsClose(tf.grad(loss)(row), tf.sum(dy, 0, true), { atol: 1e-6, rtol: 1e-6 });
        });
        const info = await tf.profile(() => tf.grad(loss)(row));
        dy.dispose();
        return info.kernels.length;
      };
      const [few, many] = [await kernelsFor(3), await kernelsFor(40)];
      expect(many).to.equal(few);
      row.dispose();
    });
  });
});
