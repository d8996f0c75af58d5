import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { expectTensorsClose } from '@swapformer/core/conformance';
import { ensureGradients } from '../../src/models/ensureGradients';
import { bytesUploadedDuring } from './modelFixtures';

const shape: [number, number, number] = [3, 4, 5];
const cases = [
  { op: 'sum', axis: [1], keepDims: false },
  { op: 'sum', axis: [0, 2], keepDims: true },
  { op: 'mean', axis: [2], keepDims: false },
  { op: 'mean', axis: [1, 2], keepDims: true },
] as const;

/** dy broadcast back over the reduced axes (÷ their size for a mean), written out with loops. */
function expectedGradient(dy: Float32Array, axis: readonly number[], mean: boolean): number[] {
  const kept = shape.map((s, i) => (axis.includes(i) ? 1 : s));
  const count = axis.reduce((n, a) => n * shape[a], 1);
  const out: number[] = [];
  for (let i = 0; i < shape[0]; i++)
    for (let j = 0; j < shape[1]; j++)
      for (let k = 0; k < shape[2]; k++) {
        const [a, b, c] = [i, j, k].map((v, d) => (kept[d] === 1 ? 0 : v));
        out.push(dy[(a * kept[1] + b) * kept[2] + c] / (mean ? count : 1));
      }
  return out;
}

describe('reduction gradients after ensureGradients', () => {
  let x: tf.Tensor3D;
  before(async () => {
    await ensureGradients();
    x = tf.randomNormal(shape, 0, 1, 'float32', 9) as tf.Tensor3D;
  });
  after(() => x.dispose());

  for (const c of cases) {
    it(`should give ${c.op} over axes [${c.axis}] (keepDims ${c.keepDims}) the broadcast gradient, with no input-sized upload`, () => {
      const reduce = (t: tf.Tensor) => (c.op === 'sum' ? tf.sum(t, [...c.axis], c.keepDims) : tf.mean(t, [...c.axis], c.keepDims));
      const outShape = tf.tidy(() => reduce(x).shape);
      const dy = tf.randomNormal(outShape, 0, 1, 'float32', 10);
      const baseline = tf.memory().numTensors;
      let grad: tf.Tensor | undefined;
      const uploaded = bytesUploadedDuring(() => {
        grad = tf.grad(reduce)(x, dy);
      });
      expect(grad!.shape).to.deep.equal(shape);
      expect(tf.memory().numTensors).to.equal(baseline + 1); // the gradient only
      expect(uploaded).to.be.below(x.size); // bytes; the input is 4 · x.size
      tf.tidy(() => expectTensorsClose(grad!, tf.tensor(expectedGradient(dy.dataSync() as Float32Array, c.axis, c.op === 'mean'), shape), { atol: 1e-7, rtol: 1e-6 }));
      tf.dispose([grad!, dy]);
    });
  }
});
