import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { createSeededRandom, useBackend } from '@swapformer/core';
import { uploadFloat32 } from '@swapformer/kernels';
import { webGpuSuiteCheck } from '@swapformer/core/conformance';

const suiteBackend = (process.env.SWAPFORMER_BACKEND ?? 'wasm') as 'wasm';

describe('uploadFloat32: host values into a pooled webgpu buffer by queue.writeBuffer (lavapipe in CI)', function () {
  before(webGpuSuiteCheck({ restore: suiteBackend, required: process.env.SWAPFORMER_REQUIRE_WEBGPU === '1' }));
  after(async () => {
    await useBackend(suiteBackend);
  });

  it('should give every call its own values while pooled buffers are reused under queued readers', async () => {
    await useBackend('webgpu');
    const before = tf.memory().numTensors;
    // more calls than tfjs batches a submit (15 dispatches), each read by a queued op before the
    // next upload takes a freed buffer of the same size: a write that overtook a pending read,
    // or landed in a buffer still in use, would show as another call's values
    const inputs = Array.from({ length: 40 }, (_, i) => createSeededRandom(i).fillUniform(new Float32Array(1000), -1, 1));
    const outputs = inputs.map((values) => {
      const x = uploadFloat32(values, [10, 100]);
      const y = tf.add(x, 1);
      x.dispose();
      return y;
    });
    for (const [i, y] of outputs.entries()) {
      expect(y.shape).to.deep.equal([10, 100]);
      const got = (await y.data()) as Float32Array;
      expect(got.every((value, j) => value === Math.fround(inputs[i][j] + 1)), `call ${i}`).to.equal(true);
      y.dispose();
    }
    expect(tf.memory().numTensors).to.equal(before);
  });

  it('should refuse values that do not fill the shape, and be tf.tensor off webgpu', async () => {
    await useBackend('webgpu');
    expect(() => uploadFloat32(new Float32Array(5), [2, 3])).to.throw('uploadFloat32: 5 values for shape [2, 3]');
    await useBackend('cpu');
    const x = uploadFloat32(Float32Array.of(1, 2, 3), [3]);
    expect(Array.from(await x.data())).to.deep.equal([1, 2, 3]);
    x.dispose();
  });
});
