import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { createSeededRandom, useBackend } from '@swapformer/core';
import { createDeviceUploadCache } from '@swapformer/kernels';
import { webGpuSuiteCheck } from '@swapformer/core/conformance';

const suiteBackend = (process.env.SWAPFORMER_BACKEND ?? 'wasm') as 'wasm';

/** A maker of seeded values that counts its calls. */
function counted(seed: number, length: number): { make: () => Float32Array; calls: () => number; values: Float32Array } {
  const values = createSeededRandom(seed).fillUniform(new Float32Array(length), -1, 1);
  let calls = 0;
  return {
    make: () => {
      calls++;
      return values.slice();
    },
    calls: () => calls,
    values,
  };
}

describe('createDeviceUploadCache: seeded host inputs kept on the device between calls (lavapipe in CI)', function () {
  before(webGpuSuiteCheck({ restore: suiteBackend, required: process.env.SWAPFORMER_REQUIRE_WEBGPU === '1' }));
  after(async () => {
    await useBackend(suiteBackend);
  });

  it('should make and upload a key once, give its values every call, and leave no tfjs tensor behind', async () => {
    await useBackend('webgpu');
    const uploads = createDeviceUploadCache();
    const [a, b] = [counted(1, 1000), counted(2, 1000)];
    const before = tf.memory().numTensors;
    // queued readers of both keys, interleaved, more than one tfjs submit batch (15 dispatches)
    const outputs = Array.from({ length: 40 }, (_, i) => {
      const x = i % 2 === 0 ? uploads.tensor('a', [10, 100], a.make) : uploads.tensor('b', [10, 100], b.make);
      const y = tf.mul(x, 2);
      x.dispose();
      return y;
    });
    expect([a.calls(), b.calls(), uploads.size]).to.deep.equal([1, 1, 2]);
    for (const [i, y] of outputs.entries()) {
      const want = i % 2 === 0 ? a.values : b.values;
      const got = (await y.data()) as Float32Array;
      expect(got.every((value, j) => value === Math.fround(2 * want[j])), `call ${i}`).to.equal(true);
      y.dispose();
    }
    // the cached buffers are the cache's, not tfjs tensors: nothing counted once the outputs are gone
    expect(tf.memory().numTensors).to.equal(before);
    uploads.clear();
    const again = uploads.tensor('a', [10, 100], a.make);
    expect(a.calls(), 'made again after clear()').to.equal(2);
    expect(Array.from(await again.data())).to.deep.equal(Array.from(a.values));
    again.dispose();
  });

  it('should keep at most its entry count, the least recently used leaving first', async () => {
    await useBackend('webgpu');
    const uploads = createDeviceUploadCache(2);
    const makers = [counted(3, 8), counted(4, 8), counted(5, 8)];
    const touch = (i: number) => uploads.tensor(`k${i}`, [8], makers[i].make).dispose();
    touch(0);
    touch(1);
    touch(0); // k0 now the most recent: k1 leaves when k2 comes
    touch(2);
    touch(0);
    touch(1);
    expect(makers.map((m) => m.calls())).to.deep.equal([1, 2, 1]);
    expect(uploads.size).to.equal(2);
  });

  it('should refuse values that do not fill the shape, naming the key, and upload every call off webgpu', async () => {
    await useBackend('webgpu');
    const uploads = createDeviceUploadCache();
    expect(() => uploads.tensor('short', [2, 3], () => new Float32Array(5))).to.throw('DeviceUploadCache: 5 values for shape [2, 3] (key short)');
    await useBackend('cpu');
    const maker = counted(6, 3);
    for (let i = 0; i < 2; i++) {
      const x = uploads.tensor('a', [3], maker.make);
      expect(Array.from(await x.data())).to.deep.equal(Array.from(maker.values));
      x.dispose();
    }
    expect([maker.calls(), uploads.size]).to.deep.equal([2, 0]);
  });
});
