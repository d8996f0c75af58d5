/**
 * Performer on the webgpu backend (lavapipe in CI) against the cpu backend: `localWindow` runs as
 * tfjs ops there too — never through the window-free WGSL program — and the causal scan takes
 * chunks of at least 1,024 tokens there (fewer dispatches), which must not change the outputs.
 * Skips without a webgpu adapter unless SWAPFORMER_REQUIRE_WEBGPU=1.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { createMemoryLogger, createSwapformerContainer, instantiateOperator, resolveOperatorServices, throwIfWebGpuFailed, useBackend } from '@swapformer/core';
import { randomAttentionInputs } from '@swapformer/core/conformance';
import { performerPlugin } from '../src';

const suiteBackend = (process.env.SWAPFORMER_BACKEND ?? 'wasm') as 'wasm';
const geometry = { heads: 2, headDim: 8, valueDim: 8, maxSeqLen: 64, layerIndex: 1 };

/** Runs `fn` on `backend` (the suite's backend restored after). */
async function onBackend<T>(backend: 'webgpu' | 'cpu', fn: () => Promise<T>): Promise<T> {
  try {
    await useBackend(backend);
    const result = await fn();
    if (backend === 'webgpu') await throwIfWebGpuFailed('the windowed Performer');
    return result;
  } finally {
    await useBackend(suiteBackend);
  }
}

/** The operator's outputs on `backend` for fixed inputs: forward (causal or not) and token-by-token decoding. */
async function outputsOn(backend: 'webgpu' | 'cpu', options: Record<string, unknown>, causal: boolean): Promise<{ forward: number[]; decoded: number[] }> {
  return onBackend(backend, async () => {
    const op = instantiateOperator(performerPlugin, options, resolveOperatorServices(createSwapformerContainer({ logger: createMemoryLogger(), seed: 3 })), geometry);
    const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 20, nk: 20, dk: 8 }, 60, 1);
    const out = op.forward(q, k, v, { causal });
    const forward = Array.from(await out.data());
    let state = op.decoder!.initState(1);
    const rows: Tensor4D[] = [];
    for (const [t0, t] of [
      [0, 7],
      [7, 1],
      [8, 12],
    ]) {
      const sl = (x: Tensor4D) => tf.slice(x, [0, 0, t0, 0], [-1, -1, t, -1]) as Tensor4D;
      const step = op.decoder!.step(sl(q), sl(k), sl(v), state, {});
      op.decoder!.disposeState(state);
      state = step.state;
      rows.push(step.output);
    }
    const decodedTensor = tf.concat(rows, 2);
    const decoded = Array.from(await decodedTensor.data());
    op.decoder!.disposeState(state);
    tf.dispose([q, k, v, out, decodedTensor, ...rows]);
    op.dispose();
    return { forward, decoded };
  });
}

const maxDiff = (a: number[], b: number[]) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

/** Skips the suite (or fails it with SWAPFORMER_REQUIRE_WEBGPU=1) without a webgpu adapter. */
async function requireWebGpu(this: Mocha.Context): Promise<void> {
  try {
    await onBackend('webgpu', async () => undefined);
  } catch (error) {
    if (process.env.SWAPFORMER_REQUIRE_WEBGPU === '1') throw error;
    console.log(`      (skipped: ${(error as Error).message.split('\n')[0]})`);
    this.skip();
  }
}

describe('performer causal scan on webgpu', function () {
  before(requireWebGpu);

  it("should give the cpu backend's outputs over several 1,024-token chunks (n = 2,100)", async () => {
    const run = (backend: 'webgpu' | 'cpu') =>
      onBackend(backend, async () => {
        const op = instantiateOperator(performerPlugin, { features: 16 }, resolveOperatorServices(createSwapformerContainer({ logger: createMemoryLogger(), seed: 5 })), geometry);
        const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 2100, nk: 2100, dk: 8 }, 61, 1);
        const out = op.forward(q, k, v, { causal: true });
        const values = Array.from(await out.data());
        tf.dispose([q, k, v, out]);
        op.dispose();
        return values;
      });
    const [gpu, cpu] = [await run('webgpu'), await run('cpu')];
    expect(maxDiff(gpu, cpu)).to.be.below(1e-4);
  });
});

describe('performer localWindow on webgpu', function () {
  before(requireWebGpu);

  for (const featureMap of ['favor', 'learned']) {
    for (const causal of [false, true]) {
      it(`should give the cpu backend's outputs, forward and decoded (${featureMap}, causal ${causal})`, async () => {
        const options = { featureMap, localWindow: 5, chunkSize: 4 };
        const [gpu, cpu] = [await outputsOn('webgpu', options, causal), await outputsOn('cpu', options, causal)];
        expect(maxDiff(gpu.forward, cpu.forward)).to.be.below(1e-4);
        expect(maxDiff(gpu.decoded, cpu.decoded)).to.be.below(1e-4);
        if (causal) expect(maxDiff(gpu.decoded, gpu.forward)).to.be.below(1e-4);
        // The window is honoured on webgpu: without it (the fused WGSL path, non-causal) the outputs differ.
        const plain = await outputsOn('webgpu', { featureMap, chunkSize: 4 }, causal);
        expect(maxDiff(gpu.forward, plain.forward)).to.be.above(1e-3);
      });
    }
  }
});
