/**
 * KDEformer on the webgpu backend (lavapipe in CI): hashing, the bucket sort, the draws and the
 * attention on the device must give the host path's output for the same seeds, and the same
 * error statistics against exact attention. Skips without a webgpu adapter unless
 * SWAPFORMER_REQUIRE_WEBGPU=1.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { throwIfWebGpuFailed, useBackend, createKernelContext } from '@swapformer/core';
import { createDeviceUploadCache } from '@swapformer/kernels';
import { randomAttentionInputs, referenceAttention, toFloat64, webGpuSuiteCheck } from '@swapformer/core/conformance';
import { causalKdeformerAttention, deviceKdeformerAttention, kdeformerAttention, type KdeformerAttentionOptions } from '../src';

/** The kernel settings and resources these tests run with (what a plugin gets as services.kernels). */
const kernels = createKernelContext();

const suiteBackend = (process.env.SWAPFORMER_BACKEND ?? 'wasm') as 'wasm';

interface Case {
  readonly label: string;
  readonly shape: { batch: number; heads: number; nq: number; nk: number; dk: number; dv?: number };
  readonly options: KdeformerAttentionOptions;
  readonly qkScale: number;
}

/** Host output, then device output, of the same seeded call (the device's twice, through one upload cache as the operator calls it: the same both times). */
async function hostAndDevice(c: Case): Promise<{ host: Float32Array; device: Float32Array; inputs: Float32Array[]; shapes: Array<[number, number, number, number]> }> {
  const { q, k, v } = randomAttentionInputs(c.shape, c.shape.nk + c.shape.nq, c.qkScale);
  const host = kdeformerAttention(kernels, q, k, v, c.options);
  const result = { host: (await host.data()) as Float32Array, inputs: [await q.data(), await k.data(), await v.data()] as Float32Array[], shapes: [q.shape, k.shape, v.shape] };
  tf.dispose([q, k, v, host]);
  try {
    await useBackend('webgpu');
    const [qd, kd, vd] = result.inputs.map((x, i) => tf.tensor(x, result.shapes[i]) as Tensor4D);
    const before = tf.memory().numTensors;
    const uploads = createDeviceUploadCache();
    const out = deviceKdeformerAttention(qd, kd, vd, c.options, uploads);
    const device = (await out.data()) as Float32Array;
    const again = deviceKdeformerAttention(qd, kd, vd, c.options, uploads);
    expect(Array.from(await again.data()), 'the second call, on cached draws').to.deep.equal(Array.from(device));
    expect(uploads.size).to.equal(1);
    tf.dispose([out, again]);
    await throwIfWebGpuFailed('the device KDEformer');
    expect(tf.memory().numTensors, 'tensors left on webgpu').to.equal(before);
    tf.dispose([qd, kd, vd]);
    return { ...result, device };
  } finally {
    await useBackend(suiteBackend);
  }
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('KDEformer on webgpu (device hashing, sort, draws and attention)', function () {
  before(webGpuSuiteCheck({ restore: suiteBackend, required: process.env.SWAPFORMER_REQUIRE_WEBGPU === '1' }));

  const cases: Case[] = [
    { label: 'T2T layer-1 settings 1×4×1024×64 (b 32, m 64, r 7)', shape: { batch: 1, heads: 4, nq: 1024, nk: 1024, dk: 64 }, options: { blockSize: 32, samples: 64, projections: 7, seed: 3 }, qkScale: 1 },
    { label: 'n mod b ≠ 0, cross lengths 2×3×200×300, dv 24 (b 64, m 128, r 5)', shape: { batch: 2, heads: 3, nq: 200, nk: 300, dk: 16, dv: 24 }, options: { blockSize: 64, samples: 128, projections: 5, seed: 4, sampleSeed: 9 }, qkScale: 2 },
    { label: 'block part only, 1×2×600×600 across tiles (b 48, m 0, r 8)', shape: { batch: 1, heads: 2, nq: 600, nk: 600, dk: 32 }, options: { blockSize: 48, samples: 0, projections: 8, seed: 5 }, qkScale: 2 },
    { label: 'head dims 10 / 6, not multiples of 4 (scalar loads) 1×2×150×150 (b 32, m 32, r 4)', shape: { batch: 1, heads: 2, nq: 150, nk: 150, dk: 10, dv: 6 }, options: { blockSize: 32, samples: 32, projections: 4, seed: 7 }, qkScale: 1 },
    { label: 'one block of every key, m 0: exact attention 1×2×100×100', shape: { batch: 1, heads: 2, nq: 100, nk: 100, dk: 8 }, options: { blockSize: 128, samples: 0, projections: 3, seed: 6 }, qkScale: 1 },
  ];
  for (const c of cases) {
    it(`should give the host path's output for the same seeds (${c.label})`, async () => {
      const { host, device } = await hostAndDevice(c);
      expect(maxAbsDiff(host, device) / maxAbs(host)).to.be.below(1e-4);
    });
  }

  for (const nq of [1024, 300]) {
    it(`should give the host path's causal split for the same seeds (nk 1024, nq ${nq}, exactBlock 128, b 32, m 64)`, async () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq, nk: 1024, dk: 16 }, 31, 1);
      const options = { blockSize: 32, samples: 64, projections: 6, seed: 2, exactBlock: 128 };
      const hostOut = causalKdeformerAttention(kernels, q, k, v, options);
      const host = (await hostOut.data()) as Float32Array;
      const inputs = [await q.data(), await k.data(), await v.data()] as Float32Array[];
      const shapes = [q.shape, k.shape, v.shape];
      tf.dispose([q, k, v, hostOut]);
      try {
        await useBackend('webgpu');
        const [qd, kd, vd] = inputs.map((x, i) => tf.tensor(x, shapes[i]) as Tensor4D);
        const before = tf.memory().numTensors;
        const uploads = createDeviceUploadCache();
        const out = causalKdeformerAttention(kernels, qd, kd, vd, options, uploads);
        const device = (await out.data()) as Float32Array;
        const again = causalKdeformerAttention(kernels, qd, kd, vd, options, uploads);
        expect(Array.from(await again.data()), 'the second call, on cached draws').to.deep.equal(Array.from(device));
        tf.dispose([out, again]);
        await throwIfWebGpuFailed('the device causal KDEformer');
        expect(tf.memory().numTensors, 'tensors left on webgpu').to.equal(before);
        tf.dispose([qd, kd, vd]);
        expect(maxAbsDiff(host, device) / maxAbs(host)).to.be.below(1e-4);
      } finally {
        await useBackend(suiteBackend);
      }
    });
  }

  it('should lower the mean relative error over seeds as m grows (0, 64, 256, 1024), as on the host', async () => {
    const shape = { batch: 1, heads: 2, nq: 128, nk: 128, dk: 8 };
    const errors: number[] = [];
    for (const samples of [0, 64, 256, 1024]) {
      let total = 0;
      for (let seed = 0; seed < 8; seed++) {
        const { device, inputs, shapes } = await hostAndDevice({ label: '', shape, options: { blockSize: 16, samples, projections: 7, seed }, qkScale: 1 });
        const [q, k, v] = inputs.map((x, i) => tf.tensor(x, shapes[i]) as Tensor4D);
        const reference = referenceAttention(toFloat64(q), toFloat64(k), toFloat64(v)).data;
        tf.dispose([q, k, v]);
        let num = 0;
        let den = 0;
        for (let i = 0; i < device.length; i++) {
          num += (device[i] - reference[i]) ** 2;
          den += reference[i] ** 2;
        }
        total += Math.sqrt(num / den) / 8;
      }
      errors.push(total);
    }
    for (let i = 1; i < errors.length; i++) expect(errors[i], errors.map((e) => e.toFixed(3)).join(' → ')).to.be.below(errors[i - 1]);
    expect(errors[3]).to.be.below(errors[0] / 3);
  });
});
