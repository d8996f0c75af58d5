/**
 * The webgpu round programs (deviceWalkPrograms.ts) against the host path: the fused Gram + walk
 * of small buckets, the stored-Gram walk of large ones (one tile and many, round 0 reading no
 * positions), ranges batched as extra slices, and the causal leaves batched as heads. Skips
 * without a webgpu adapter unless SWAPFORMER_REQUIRE_WEBGPU=1.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { createKernelContext, deriveSeed } from '@swapformer/core';
import { randomAttentionInputs } from '@swapformer/core/conformance';
import { compressPlan, coresetOfRange, deviceCoresets, keyValueData } from '../src';
import { fusedChainLength, fusedChainWgsl, FUSED_MAX_PAIRS } from '../src/deviceWalkPrograms';
import { causalOnHostAndDevice, onWebgpu, read } from './onWebgpu';

const kernels = createKernelContext();

/** Keys and values [slices, nk, d] as plain data, drawn on the suite's backend. */
async function seededKeys(slices: number, nk: number, d: number, seed: number): Promise<{ k: Float32Array; v: Float32Array; k4: Tensor4D; v4: Tensor4D }> {
  const { k, v } = randomAttentionInputs({ batch: 1, heads: slices, nq: 1, nk, dk: d }, seed, 0.5);
  return { k: (await k.data()) as Float32Array, v: (await v.data()) as Float32Array, k4: k, v4: v };
}

/** Records the shaderKey of every webgpu program run until stop() (the backend's own method is restored). */
function countPrograms(): { readonly names: string[]; stop(): void } {
  const backend = tf.backend() as unknown as { runWebGPUProgram: (program: { shaderKey?: string }, ...rest: unknown[]) => unknown };
  const original = backend.runWebGPUProgram;
  const names: string[] = [];
  backend.runWebGPUProgram = (program, ...rest) => {
    names.push(String(program.shaderKey ?? ''));
    return original.call(backend, program, ...rest);
  };
  return { names, stop: () => void (backend.runWebGPUProgram = original) };
}

describe('Thinformer webgpu rounds (Gram + walk programs)', function () {
  before(async function () {
    try {
      await onWebgpu(async () => undefined);
    } catch (error) {
      if (process.env.SWAPFORMER_REQUIRE_WEBGPU === '1') throw error;
      console.log(`      (skipped: ${(error as Error).message.split('\n')[0]})`);
      this.skip();
    }
  });

  // `pairs`: M of each round. Rounds with M ≤ FUSED_MAX_PAIRS run as fused chains (one dispatch for
  // consecutive rounds while their survivors fit), larger ones as a Gram dispatch (tiles of 32 pairs)
  // and a walk dispatch; `programs` counts the coreset's dispatches (stats + those)
  const cases = [
    { label: 'fused chains of 8, 16 and of 32, 64', nk: 1024, g: 1, d: 8, seed: 1, pairs: [8, 16, 32, 64], programs: 3 },
    { label: 'fused chain of 32, 64, then stored G of 4 × 4 and 8 × 8 tiles', nk: 4096, g: 2, d: 16, seed: 2, pairs: [32, 64, 128, 256], programs: 6 },
    { label: 'stored G from round 0 (no positions read), stride 2', nk: 2048, g: 3, d: 8, seed: 3, pairs: [128, 256], programs: 5 },
    { label: 'fused chain of 32, 64, then stored G of 4 × 4 tiles in the last round', nk: 1024, g: 2, d: 8, seed: 4, pairs: [32, 64, 128], programs: 4 },
  ];
  for (const c of cases) {
    it(`should give the host path's coreset in ${c.programs} dispatches (${c.label})`, async () => {
      const pairs = compressPlan(c.nk, c.g, 0.5).rounds.map((r) => r.bucketSize / 2);
      expect(pairs, 'the rounds this case is meant to cover').to.deep.equal(c.pairs);
      expect(FUSED_MAX_PAIRS).to.equal(64);
      const { k, v, k4, v4 } = await seededKeys(3, c.nk, c.d, c.seed);
      const options = { g: c.g, delta: 0.5, seed: c.seed, scale: 1 / Math.sqrt(c.d) };
      const host = Array.from(coresetOfRange(kernels, keyValueData(k4, v4), 0, c.nk, options).indices);
      tf.dispose([k4, v4]);
      const { device, programs } = await onWebgpu(async () => {
        const [ks, vs] = [tf.tensor3d(k, [3, c.nk, c.d]), tf.tensor3d(v, [3, c.nk, c.d])];
        const keys = countPrograms();
        const coresets = deviceCoresets(ks, vs, [{ lo: 0, hi: c.nk }], options, () => c.seed);
        keys.stop();
        tf.dispose([ks, vs]);
        const points = await read(coresets.points);
        return { device: points, programs: keys.names.filter((name) => name.startsWith('swapformerThinformer')).length };
      });
      expect(programs).to.equal(c.programs);
      expect(device).to.deep.equal(host);
    });
  }

  it("should keep each fused chain within WebGPU's default 16 KiB of workgroup memory", () => {
    // bytes of a program's workgroup arrays, read from its WGSL (every workgroup variable must be one of these arrays, or the sum would miss it)
    const workgroupBytes = (code: string) => {
      const arrays = [...code.matchAll(/var<workgroup> \w+ : array<(vec2<f32>|f32|i32|u32), (\d+)>/g)];
      expect(arrays.length, 'workgroup variables the sum reads').to.equal(code.split('var<workgroup>').length - 1);
      return arrays.reduce((sum, m) => sum + Number(m[2]) * (m[1] === 'vec2<f32>' ? 8 : 4), 0);
    };
    for (const firstPairs of [2, 4, 8, 16, 32, 64]) {
      for (const rounds of [1, 2]) {
        if (fusedChainLength(firstPairs, rounds) !== rounds) continue;
        expect(workgroupBytes(fusedChainWgsl(firstPairs, rounds, 64, 64)), `fused chain from M = ${firstPairs}, ${rounds} round(s)`).to.be.at.most(16384);
      }
    }
  });

  it('should give each range the host coreset of that range when ranges of one thinned size run as one batch', async () => {
    // lengths 1100, 2500 and 1024 all thin to n = 1024, with strides 1, 2 and 1
    const ranges = [{ lo: 90, hi: 1190 }, { lo: 1300, hi: 3800 }, { lo: 3000, hi: 4024 }];
    const [slices, nk, d] = [2, 4096, 8];
    const { k, v, k4, v4 } = await seededKeys(slices, nk, d, 7);
    const options = { g: 2, delta: 0.5, scale: 0.3 };
    const seedOf = (r: number) => deriveSeed(11, 'range', r);
    const data = keyValueData(k4, v4);
    const host = ranges.map(({ lo, hi }, r) => Array.from(coresetOfRange(kernels, data, lo, hi, { ...options, seed: seedOf(r) }).indices));
    tf.dispose([k4, v4]);
    const points = await onWebgpu(async () => {
      const [ks, vs] = [tf.tensor3d(k, [slices, nk, d]), tf.tensor3d(v, [slices, nk, d])];
      const coresets = deviceCoresets(ks, vs, ranges, { ...options, seed: 0 }, seedOf);
      tf.dispose([ks, vs]);
      return read(coresets.points);
    });
    const nOut = compressPlan(1024, 2, 0.5).nOut;
    expect(points.length).to.equal(ranges.length * slices * nOut);
    // row r·s + slice holds range r of that slice, as key positions
    ranges.forEach((_, r) => expect(points.slice(r * slices * nOut, (r + 1) * slices * nOut), `range ${r}`).to.deep.equal(host[r]));
  });

  it('should only stride-thin each range when n < 4^(g+1) (784 and 900 keys, g 4 → 256 keys, strides 3 and 3)', async () => {
    const points = await onWebgpu(async () => {
      const k = tf.zeros([2, 2000, 4]) as tf.Tensor3D;
      const coresets = deviceCoresets(k, k, [{ lo: 0, hi: 784 }, { lo: 1000, hi: 1900 }], { g: 4, delta: 0.5, seed: 0, scale: 0.5 }, () => 0);
      k.dispose();
      return read(coresets.points);
    });
    const expected = [0, 1000].flatMap((lo) => [0, 1].flatMap(() => Array.from({ length: 256 }, (_, j) => lo + 3 * j)));
    expect(points).to.deep.equal(expected);
  });

  it('should name the fix when a batch mixes thinned sizes', () => {
    const k = tf.zeros([1, 4096, 4]) as tf.Tensor3D;
    expect(() => deviceCoresets(k, k, [{ lo: 0, hi: 1024 }, { lo: 0, hi: 4096 }], { g: 2, delta: 0.5, seed: 0, scale: 0.5 }, () => 0)).to.throw(RangeError, /same n, got 1024, 4096/);
    k.dispose();
  });

  describe('having causal leaves batched as heads (g 2, n 2048, exactBlock 256)', () => {
    // nq 2048 and 1024: every leaf whole, so one attention call; nq 900 cuts a leaf, so one call per leaf
    for (const nq of [2048, 1024, 900]) {
      it(`should give the host path's causal output (nq ${nq})`, async () => {
        const { host, device } = await causalOnHostAndDevice(kernels, nq, 12, { g: 2, delta: 0.5, seed: 5, exactBlock: 256 });
        let s = 0;
        for (let i = 0; i < host.length; i++) s += (device[i] - host[i]) ** 2;
        expect(Math.sqrt(s / host.length)).to.be.below(1e-5);
      });
    }
  });
});
