/**
 * Thinformer on the webgpu backend (lavapipe in CI): the coreset built on the device must be the
 * host path's, and the operator must keep its accuracy there. Skips without a webgpu adapter
 * unless SWAPFORMER_REQUIRE_WEBGPU=1.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor3D } from '@tensorflow/tfjs-core';
import { createMemoryLogger, createSeededRandom, createKernelContext, createSwapformerContainer, deriveSeed, instantiateOperator, resolveOperatorServices } from '@swapformer/core';
import { createDeviceUploadCache, denseSoftmaxAttention } from '@swapformer/kernels';
import { randomAttentionInputs } from '@swapformer/core/conformance';
import { compressPlan, coresetPositions, deviceCoresetOfRange, deviceThinformerAttention, thinformerAttention, thinformerPlugin } from '../src';
import { PARITY_CASES } from './fixtures/parityCases';
import referenceParity from './fixtures/referenceParity.json';
import { causalOnHostAndDevice, onWebgpu, read } from './onWebgpu';

/** The kernel settings and resources these tests run with (what a plugin gets as services.kernels). */
const kernels = createKernelContext();

function rms(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s / a.length);
}

describe('Thinformer on webgpu (device coreset)', function () {
  before(async function () {
    try {
      await onWebgpu(async () => undefined);
    } catch (error) {
      if (process.env.SWAPFORMER_REQUIRE_WEBGPU === '1') throw error;
      console.log(`      (skipped: ${(error as Error).message.split('\n')[0]})`);
      this.skip();
    }
  });

  describe('having the reference algorithm', () => {
    PARITY_CASES.forEach((c, i) => {
      it(`should pick the NumPy reference's positions given the same draws (${c.label})`, async () => {
        const { k, v } = randomAttentionInputs({ batch: c.batch, heads: c.heads, nq: 1, nk: c.nk, dk: c.d }, c.inputSeed, c.qkScale);
        const [kd, vd] = [await k.data(), await v.data()];
        tf.dispose([k, v]);
        const indices = await onWebgpu(async () => {
          const slices = c.batch * c.heads;
          const [ks, vs] = [tf.tensor3d(kd, [slices, c.nk, c.d]), tf.tensor3d(vd, [slices, c.nk, c.d])];
          const before = tf.memory().numTensors;
          const coreset = deviceCoresetOfRange(ks, vs, 0, c.nk, { g: c.g, delta: 0.5, seed: c.seed, scale: 1 / Math.sqrt(c.d) });
          expect(tf.memory().numTensors - before, 'only the coreset is left').to.equal(1);
          tf.dispose([ks, vs]);
          return read(coreset.indices);
        });
        expect(indices).to.deep.equal(referenceParity.cases[i].indices);
      });
    });
  });

  describe('having smooth low-rank data (n 4096, d 4, q and k scaled by 0.5, 4 heads)', () => {
    it('should give the host path\'s output for every seed and beat uniform subsampling (g 2)', async () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 4, nq: 4096, nk: 4096, dk: 4 }, 4, 0.5);
      const shapes = [q.shape, k.shape, v.shape] as const;
      const data = [await q.data(), await k.data(), await v.data()];
      const exact = await read(denseSoftmaxAttention(kernels, q, k, v));
      const host = [];
      const uniform = [];
      const nOut = compressPlan(4096, 2, 0.5).nOut;
      for (const seed of [0, 1, 2, 3]) {
        host.push(await read(thinformerAttention(kernels, q, k, v, { g: 2, delta: 0.5, seed })));
        // the baseline: exact attention against nOut keys drawn uniformly without replacement
        const rng = createSeededRandom(1000 + seed);
        const perm = Int32Array.from({ length: 4096 }, (_, i) => i);
        for (let i = 0; i < nOut; i++) {
          const j = i + rng.int(4096 - i);
          [perm[i], perm[j]] = [perm[j], perm[i]];
        }
        const idx = tf.tensor1d(perm.slice(0, nOut), 'int32');
        uniform.push(await read(tf.tidy(() => denseSoftmaxAttention(kernels, q, tf.gather(k, idx, 2), tf.gather(v, idx, 2)))));
        idx.dispose();
      }
      tf.dispose([q, k, v]);
      const device = await onWebgpu(async () => {
        const [qd, kd, vd] = data.map((x, i) => tf.tensor4d(x as Float32Array, shapes[i] as [number, number, number, number]));
        // through an upload cache (as the operator calls it): each seed's draws made once, then reused
        const uploads = createDeviceUploadCache();
        const out = [];
        for (const seed of [0, 1, 2, 3]) out.push(await read(deviceThinformerAttention(kernels, qd, kd, vd, { g: 2, delta: 0.5, seed }, uploads)));
        const before = tf.memory().numTensors;
        const repeated = [];
        for (const seed of [2, 0]) repeated.push(await read(deviceThinformerAttention(kernels, qd, kd, vd, { g: 2, delta: 0.5, seed }, uploads)));
        expect(tf.memory().numTensors, 'no tensor leaks with cached draws').to.equal(before);
        expect(uploads.size, 'one entry a seed').to.equal(4);
        expect(repeated, 'cached draws give the first call\'s output').to.deep.equal([out[2], out[0]]);
        tf.dispose([qd, kd, vd]);
        return out;
      });
      for (let s = 0; s < host.length; s++) expect(rms(device[s], host[s]), `seed ${s}`).to.be.below(1e-5);
      // same error as the host path, under uniform subsampling's (the host test measures 0.83 of it over 8 seeds)
      const mean = (outs: number[][]) => outs.reduce((sum, out) => sum + rms(out, exact), 0) / outs.length;
      expect(Math.abs(mean(device) - mean(host)) / mean(host)).to.be.below(1e-3);
      expect(mean(device) / mean(uniform)).to.be.below(0.95);
    });
  });

  describe('through the operator (create, forward, dispose)', () => {
    it('should give the seeded device output on repeated inference calls, and a new seed a call with a call index', async () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 256, nk: 1024, dk: 8 }, 12, 0.5);
      const data = [await q.data(), await k.data(), await v.data()];
      const shapes = [q.shape, k.shape, v.shape];
      tf.dispose([q, k, v]);
      await onWebgpu(async () => {
        const [qd, kd, vd] = data.map((x, i) => tf.tensor4d(x as Float32Array, shapes[i] as [number, number, number, number]));
        const services = resolveOperatorServices(createSwapformerContainer({ logger: createMemoryLogger() }));
        const operator = instantiateOperator(thinformerPlugin, { g: 1, seed: 4 }, services, { heads: 2, headDim: 8, layerIndex: 2 });
        const before = tf.memory().numTensors;
        const seedOf = (call: number) => deriveSeed(4, 'layer', 2, 'call', call);
        const direct = async (call: number) => read(deviceThinformerAttention(kernels, qd, kd, vd, { g: 1, delta: 0.5, seed: seedOf(call), scale: 1 / Math.sqrt(8) }));
        const first = await read(operator.forward(qd, kd, vd, { causal: false }));
        const second = await read(operator.forward(qd, kd, vd, { causal: false }));
        const training = await read(operator.forward(qd, kd, vd, { causal: false, callIndex: 1 }));
        expect(first).to.deep.equal(await direct(0));
        expect(second, 'the repeated call, on kept draws').to.deep.equal(first);
        expect(training, 'call index 1 draws anew').to.deep.equal(await direct(1));
        expect(training).to.not.deep.equal(first);
        operator.dispose();
        expect(tf.memory().numTensors, 'no tensor leaks').to.equal(before);
        tf.dispose([qd, kd, vd]);
      });
    });
  });

  describe('having a causal request (n 2048, exactBlock 256, g 1, kv-cache layout too)', () => {
    for (const nq of [2048, 300]) {
      it(`should give the host path's causal output (nq ${nq})`, async () => {
        const { host, device } = await causalOnHostAndDevice(kernels, nq, 6, { g: 1, delta: 0.5, seed: 3, exactBlock: 256 });
        expect(rms(device, host)).to.be.below(1e-5);
      });
    }
  });

  describe('having buckets of more pairs than threads (g 4: 1,024-point buckets)', () => {
    it('should give the host path\'s coreset', async () => {
      const { k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 1, nk: 4096, dk: 16 }, 9, 0.5);
      const data = [await k.data(), await v.data()];
      const host = Array.from(coresetPositions(kernels, k, v, { g: 4, delta: 0.5, seed: 2 }).indices);
      tf.dispose([k, v]);
      const device = await onWebgpu(async () => {
        const [ks, vs] = data.map((x) => tf.tensor3d(x as Float32Array, [2, 4096, 16])) as Tensor3D[];
        const { indices } = deviceCoresetOfRange(ks, vs, 0, 4096, { g: 4, delta: 0.5, seed: 2, scale: 0.25 });
        tf.dispose([ks, vs]);
        return read(indices);
      });
      expect(device).to.deep.equal(host);
    });
  });
});
