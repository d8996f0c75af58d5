/**
 * The webgpu backend, run for real: Dawn (the `webgpu` package) on whatever Vulkan driver the
 * machine has — in CI the software rasteriser lavapipe (`.ci/run` installs it), on a GPU machine
 * the GPU. Every operator that lists webgpu among its tested backends must give the cpu backend's
 * model outputs, and a training step (forward, backward, clipped AdamW) must give the cpu step's
 * loss and parameters: WebGPU-only failures (shader limits, invalid pipelines, synchronous reads)
 * show up here, not on the GPU machine.
 *
 * With no adapter the suite skips, unless SWAPFORMER_REQUIRE_WEBGPU=1 (set by `.ci/run`): then a
 * missing adapter fails it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'chai';
import { createProfiler, createSeededRandom, createSwapformerHooks, prefetchValues, throwIfWebGpuFailed, useBackend, createKernelContext } from '@swapformer/core';
import { DEFAULT_CHUNK_THRESHOLD, fusedWebGpuAttention, softmaxAttention } from '@swapformer/kernels';
import { exactAttention } from '../../plugins/exact/src/exactAttention';
import { createOperatorRegistry, registerInstalledPlugins, type AttentionSpec } from '@swapformer/registry';
import { buildModel } from '@swapformer/models';
import { tssa, type TostForm } from '@swapformer/plugin-tost';
import { performerAttention } from '@swapformer/plugin-performer';
import { levAttention } from '@swapformer/plugin-levattention';
import { createAdamW, DEFAULT_ADAMW } from '../../cli/src/train/adamW';
import { crossEntropy } from '../../cli/src/train/losses';
import { ensureGradients } from '../../models/src/models/ensureGradients';
import { pipelinedCalls, tfjsRunner } from '../../cli/src/bench/contenders/forceResult';
import { denseSoftmaxAttention, scoreBlockBytes } from '../../kernels/src/softmaxAttention';
import { selectTopPicks } from '../../plugins/levattention/src/chunkedTopK';
import { compareOperators } from '../../cli/src/compare/compareOperators';

/** The kernel settings and resources these tests run the kernels with (defaults: core-count threads). */
const kernels = createKernelContext();

const registry = createOperatorRegistry();
registerInstalledPlugins(registry);

const vitConfig = { model: 'vit', imageSize: 8, patchSize: 4, numChannels: 1, numLabels: 3, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 32 } as const;
const gptConfig = { model: 'gpt', vocabSize: 11, nPositions: 24, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 32, activation: 'gelu_new' } as const;

function inputs(kind: 'vit' | 'gpt'): { x: tf.Tensor; y: tf.Tensor } {
  if (kind === 'vit') {
    const x = tf.tensor4d(Float32Array.from({ length: 3 * 64 }, (_, i) => Math.sin(i * 0.7)), [3, 1, 8, 8]);
    return { x, y: tf.tensor1d([0, 2, 1], 'int32') };
  }
  const ids = Int32Array.from({ length: 2 * 24 }, (_, i) => (i * 7 + 3) % 11);
  return { x: tf.tensor2d(ids, [2, 24], 'int32'), y: tf.tensor2d(ids.map((t) => (t + 1) % 11), [2, 24], 'int32') };
}

/** Logits of a seeded model with `attention` in every layer, read asynchronously. */
async function logits(kind: 'vit' | 'gpt', attention: AttentionSpec): Promise<Float32Array> {
  const model = buildModel({ ...(kind === 'vit' ? vitConfig : gptConfig), seed: 3 }, attention, registry);
  const { x, y } = inputs(kind);
  try {
    const out = model.forward(x, { seed: 5 });
    const values = (await out.data()) as Float32Array;
    out.dispose();
    return values;
  } finally {
    tf.dispose([x, y]);
    model.dispose();
  }
}

/** Loss of each of two clipped AdamW steps and the parameters after them. */
async function twoTrainingSteps(kind: 'vit' | 'gpt'): Promise<{ losses: number[]; params: Float32Array[] }> {
  await ensureGradients();
  const model = buildModel({ ...(kind === 'vit' ? vitConfig : gptConfig), seed: 3 }, { name: 'exact' }, registry, { training: true });
  const params = model.parameters().filter((p) => p.trainable);
  const optimizer = createAdamW({ ...DEFAULT_ADAMW, clipNorm: 0.5 });
  const { x, y } = inputs(kind);
  const losses: number[] = [];
  for (let step = 0; step < 2; step++) {
    const { value, grads } = tf.variableGrads(() => crossEntropy(model.forward(x, { training: true, seed: step }), y), params.map((p) => p.variable));
    optimizer.step(params, grads, 0.01).dispose();
    losses.push((await value.data())[0]);
    value.dispose();
  }
  await prefetchValues(params.map((p) => p.variable));
  const values = await Promise.all(params.map(async (p) => (await p.variable.data()) as Float32Array));
  tf.dispose([x, y]);
  optimizer.dispose();
  model.dispose();
  return { losses, params: values };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).to.equal(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe('the webgpu backend (Dawn; lavapipe in CI)', function () {
  let available = false;
  before(async function () {
    try {
      await useBackend('webgpu');
      available = true;
    } catch (error) {
      if (process.env.SWAPFORMER_REQUIRE_WEBGPU === '1') throw error;
      console.log(`      (skipped: ${(error as Error).message.split('\n')[0]})`);
      this.skip();
    } finally {
      await useBackend((process.env.SWAPFORMER_BACKEND ?? 'wasm') as 'wasm');
    }
  });

  /** Runs `fn` on webgpu; the suite's backend is restored. */
  async function runOnWebgpu<T>(fn: () => Promise<T>): Promise<T> {
    try {
      await useBackend('webgpu');
      return await fn();
    } finally {
      await useBackend((process.env.SWAPFORMER_BACKEND ?? 'wasm') as 'wasm');
    }
  }

  /** Runs `fn` on cpu, then on webgpu, and returns both results; the suite's backend is restored. */
  async function onCpuAndWebgpu<T>(fn: () => Promise<T>): Promise<[T, T]> {
    try {
      await useBackend('cpu');
      const cpu = await fn();
      await useBackend('webgpu');
      const before = tf.memory().numTensors;
      const gpu = await fn();
      expect(tf.memory().numTensors, 'tensors left on webgpu').to.equal(before);
      return [cpu, gpu];
    } finally {
      await useBackend((process.env.SWAPFORMER_BACKEND ?? 'wasm') as 'wasm');
    }
  }

  const onWebgpu = registry.list().filter((r) => r.capabilities.testedBackends?.includes('webgpu'));

  it('should have the reference operator among the operators tested on webgpu', () => {
    expect(onWebgpu.map((r) => r.meta.name)).to.include('exact');
  });

  for (const record of onWebgpu) {
    it(`should give the cpu backend's ViT logits with ${record.meta.name} in every layer`, async () => {
      if (!available) return;
      const [cpu, gpu] = await onCpuAndWebgpu(() => logits('vit', { name: record.meta.name }));
      expect(maxAbsDiff(cpu, gpu)).to.be.lessThan(1e-3);
    });
    if (record.capabilities.causal === 'native') {
      it(`should give the cpu backend's GPT logits with ${record.meta.name} in every layer (causal)`, async () => {
        if (!available) return;
        const [cpu, gpu] = await onCpuAndWebgpu(() => logits('gpt', { name: record.meta.name }));
        expect(maxAbsDiff(cpu, gpu)).to.be.lessThan(1e-3);
      });
    }
  }

  for (const record of registry.list().filter((r) => !r.capabilities.testedBackends?.includes('webgpu'))) {
    it(`should refuse ${record.meta.name} (not tested on webgpu) with an error naming the backend and the ones to use`, async () => {
      if (!available) return;
      const [, gpu] = await onCpuAndWebgpu(async () => {
        try {
          await logits('vit', { name: record.meta.name });
          return null;
        } catch (error) {
          return error as Error;
        }
      });
      expect(gpu, 'it ran: list webgpu in its tested backends').to.be.an('error');
      expect(gpu!.message).to.match(/backend 'webgpu' cannot[\s\S]*use backend 'wasm' or 'cpu'/);
    });
  }

  /** Runs `fn` with the backend's program dispatches counted into `counter.dispatches`. */
  async function countingDispatches<T>(counter: { dispatches: number }, fn: () => Promise<T>): Promise<T> {
    const backend = tf.backend() as unknown as { runWebGPUProgram?: (...args: unknown[]) => unknown };
    const original = backend.runWebGPUProgram;
    if (original) {
      backend.runWebGPUProgram = function (this: unknown, ...args: unknown[]) {
        counter.dispatches += 1;
        return original.apply(this, args);
      };
    }
    try {
      return await fn();
    } finally {
      if (original) backend.runWebGPUProgram = original;
    }
  }

  /** Relative max-abs error of webgpu against cpu, and the dispatches webgpu took, for `attend` on seeded normal tensors. */
  async function againstCpu(shapes: number[][], attend: (inputs: tf.Tensor[]) => tf.Tensor): Promise<{ error: number; dispatches: number }> {
    // seeded normal values: keys of full rank, so leverage scores have no near-ties for float rounding to flip
    const arrays = shapes.map((shape, j) => createSeededRandom(j + 1).fillNormal(new Float32Array(shape.reduce((x, y) => x * y, 1))));
    const counter = { dispatches: 0 };
    const [cpu, gpu] = await onCpuAndWebgpu(() =>
      countingDispatches(counter, async () => {
        const inputs = arrays.map((values, j) => tf.tensor(values, shapes[j]));
        try {
          const y = attend(inputs);
          const values = (await y.data()) as Float32Array;
          y.dispose();
          return values;
        } finally {
          tf.dispose(inputs);
        }
      }),
    );
    const scale = cpu.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    return { error: maxAbsDiff(cpu, gpu) / scale, dispatches: counter.dispatches };
  }

  it('should run non-causal TSSA (TOST) as 4 WebGPU programs (3 in the paper form) with the cpu op path\'s output', async () => {
    if (!available) return;
    // several token chunks, a head dim that is not a power of 2, one head, several batches
    const cases: Array<[number, number, number, number, TostForm]> = [
      [1, 4, 1024, 64, 'code'],
      [3, 2, 600, 24, 'code'],
      [2, 1, 785, 32, 'paper'],
    ];
    for (const [b, h, n, p, form] of cases) {
      const { error, dispatches } = await againstCpu([[b, h, n, p], [h]], ([w, temp]) => tssa(kernels, w as tf.Tensor4D, { temp: temp as tf.Tensor1D }, { form }));
      expect(dispatches, `${form} [${b}, ${h}, ${n}, ${p}]`).to.equal(form === 'code' ? 4 : 3);
      expect(error, `${form} [${b}, ${h}, ${n}, ${p}]`).to.be.lessThan(1e-5);
    }
  });

  it('should take the tfjs-op composition with kernel setting webGpuPrograms: false, with the same output', async () => {
    if (!available) return;
    const shapes = [[2, 2, 300, 16], [2]];
    const attendWith = (settings: typeof kernels) => ([w, temp]: tf.Tensor[]) => tssa(settings, w as tf.Tensor4D, { temp: temp as tf.Tensor1D }, { form: 'code' });
    const programs = await againstCpu(shapes, attendWith(kernels));
    const ops = await againstCpu(shapes, attendWith(createKernelContext({ webGpuPrograms: false })));
    expect(ops.dispatches).to.be.above(2 * programs.dispatches);
    expect(ops.error).to.be.lessThan(1e-5);
    // the other context's setting did not leak into this one
    expect((await againstCpu(shapes, attendWith(kernels))).dispatches).to.equal(programs.dispatches);
  });

  it('should run non-causal Performer in 10-11 WebGPU dispatches with the cpu op path\'s output', async () => {
    if (!available) return;
    // [b, h, n, d, m features, dv]: m and dv + 1 not multiples of 4 (padded for vec4 products) nor
    // of the workgroup sizes; n = 300 pads the key rows, n = 2500 sums three chunks of φ(k)ᵀ·v
    for (const [b, h, n, d, m, dv] of [[1, 4, 1024, 64, 256, 64], [2, 3, 300, 16, 42, 25], [1, 2, 2500, 64, 266, 64]]) {
      const { error, dispatches } = await againstCpu([[b, h, n, d], [b, h, n, d], [b, h, n, dv], [m, d]], ([q, k, v, omega]) =>
        performerAttention(kernels, q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, omega as tf.Tensor2D, { epsilon: 1e-4, chunkSize: 128 }),
      );
      expect(dispatches, `[${b}, ${h}, ${n}, ${d}] m ${m}`).to.equal(n > 1024 ? 11 : 10);
      expect(error, `[${b}, ${h}, ${n}, ${d}] m ${m}`).to.be.lessThan(1e-5);
    }
  });

  it('should run non-causal top-k LevAttention in 5-6 WebGPU dispatches with the float64 host path\'s output', async () => {
    if (!available) return;
    // [b, h, n, dk, dv, topK, keepFirst, key rank]: n = 2500 takes a second round of the chunked
    // top-k; rank-16 keys are where float32 Newton–Schulz (the device op path) picks other keys
    const cases: Array<[number, number, number, number, number, number, boolean, number]> = [
      [1, 4, 1024, 64, 64, 32, true, 64],
      [2, 3, 2500, 16, 24, 20, false, 16],
      [1, 2, 1024, 64, 64, 32, true, 16],
    ];
    for (const [b, h, n, dk, dv, topK, keepFirst, rank] of cases) {
      const options = { selection: 'top-k' as const, topK, epsilon: 0.1, keepFirst, ridge: 1e-6 };
      const { error, dispatches } = await againstCpu([[b, h, n, dk], [b, h, n, rank], [rank, dk], [b, h, n, dv]], ([q, coefficients, basis, v]) =>
        tf.tidy(() => {
          const k = rank === dk ? coefficients : tf.matMul(coefficients, tf.broadcastTo(basis, [b, h, rank, dk]));
          return levAttention(kernels, q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, options); // cpu: the host path
        }),
      );
      expect(dispatches, `[${b}, ${h}, ${n}, ${dk}] rank ${rank}`).to.equal((rank === dk ? 0 : 2) + (n > 1024 ? 6 : 5));
      expect(error, `[${b}, ${h}, ${n}, ${dk}] rank ${rank}`).to.be.lessThan(1e-5);
    }
  });

  it('should pick the top u of each slice like tf.topk on cpu (ties: lower index first) in rounds of 1,024-score chunks', async () => {
    if (!available) return;
    const [slices, m, u] = [3, 40000, 32]; // 40 chunks of 32 picks → a second round of 2 chunks → a third
    const rng = createSeededRandom(4);
    const scores = Float32Array.from(rng.fillNormal(new Float32Array(slices * m)), (x) => Math.round(x * 4) / 4); // many ties
    const counter = { dispatches: 0 };
    const [cpu, gpu] = await onCpuAndWebgpu(async () => {
      const x = tf.tensor2d(scores, [slices, m]);
      try {
        if (tf.getBackend() !== 'webgpu') {
          const { values, indices } = tf.topk(x, u);
          const result = [Array.from(await values.data()), Array.from(await indices.data())];
          tf.dispose([values, indices]);
          return result;
        }
        const picks = await countingDispatches(counter, async () => selectTopPicks(x, slices, m, u));
        const pairs = Array.from(await picks.data());
        picks.dispose();
        return [pairs.filter((_, i) => i % 2 === 0), pairs.filter((_, i) => i % 2 === 1)];
      } finally {
        x.dispose();
      }
    });
    expect(counter.dispatches).to.equal(3);
    expect(gpu[0]).to.deep.equal(cpu[0]);
    expect(gpu[1]).to.deep.equal(cpu[1]);
  });

  it('should run the opt-in fused exact-attention program with the cpu kernel\'s output (causal, masked, nq ≠ nk)', async () => {
    if (!available) return;
    // [b, h, nq, nk, d, causal]: rows past the 64-row block, keys past the 32-key tile
    const cases: Array<[number, number, number, number, number, boolean]> = [
      [2, 2, 100, 100, 16, false],
      [1, 3, 70, 90, 32, true],
      [2, 1, 257, 257, 64, true],
    ];
    for (const [b, h, nq, nk, d, causal] of cases) {
      const { error } = await againstCpu([[b, h, nq, d], [b, h, nk, d], [b, h, nk, d], [b, nk]], ([q, k, v, raw]) =>
        tf.tidy(() => {
          const mask = tf.cast(tf.greater(raw, -1), 'float32') as tf.Tensor2D; // ≈ 16 % of the keys hidden
          const args = [q, k, v] as tf.Tensor4D[];
          return tf.getBackend() === 'webgpu' ? fusedWebGpuAttention(args[0], args[1], args[2], { causal, mask }) : softmaxAttention(kernels, args[0], args[1], args[2], { causal, mask });
        }),
      );
      expect(error, `[${b}, ${h}, ${nq}, ${nk}, ${d}] causal ${causal}`).to.be.lessThan(1e-5);
    }
  });

  it('should run exact attention with grouped k/v heads through the flash program unrepeated, with the cpu kernel\'s output', async () => {
    if (!available) return;
    const flashOn = createKernelContext({ webGpuFusedAttention: true });
    const options = { causal: true, path: 'auto', chunkThreshold: DEFAULT_CHUNK_THRESHOLD, queryBlock: 1024, keyBlock: 1024 } as const;
    const { error, dispatches } = await againstCpu([[1, 4, 50, 32], [1, 2, 50, 32], [1, 2, 50, 32]], ([q, k, v]) =>
      exactAttention(tf.getBackend() === 'webgpu' ? flashOn : kernels, q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, options),
    );
    expect(error).to.be.lessThan(1e-5);
    // the flash program alone (n = 50 needs no key split); repeating k/v would add a tile per tensor
    expect(dispatches).to.equal(1);
  });

  it('should give the cpu backend\'s GPT logits with causal LevAttention keeping 4 of 24 keys (device online scores and intervals)', async () => {
    if (!available) return;
    const exact = await runOnWebgpu(() => logits('gpt', { name: 'exact' }));
    for (const options of [{ k: 4 }, { k: 4, keepFirst: true }, { selection: 'threshold', epsilon: 0.5 }]) {
      const [cpu, gpu] = await onCpuAndWebgpu(() => logits('gpt', { name: 'levattention', options }));
      expect(maxAbsDiff(cpu, gpu), JSON.stringify(options)).to.be.lessThan(1e-5); // measured 6e-8
      expect(maxAbsDiff(exact, gpu), `${JSON.stringify(options)}: selective, not exact`).to.be.above(1e-3); // measured 5e-3 – 1.4e-2
    }
  });

  it('should refuse causal LevAttention with a head dim above the device form\'s 256, naming why, the backend, and the ways out', async () => {
    if (!available) return;
    const error = await runOnWebgpu(async () => {
      const [q, k, v] = [0, 1, 2].map(() => tf.zeros([1, 1, 4, 264]) as tf.Tensor4D);
      try {
        levAttention(kernels, q, k, v, { selection: 'top-k', topK: 2, epsilon: 0.1, keepFirst: false, ridge: 1e-6, causal: true }).dispose();
        return null;
      } catch (caught) {
        return caught as Error;
      } finally {
        tf.dispose([q, k, v]);
      }
    });
    expect(error?.message).to.include("causal LevAttention needs synchronous reads of tensor values (its online scores run in JS unless on webgpu with a head dim of at most 256), which backend 'webgpu' cannot do in Node; use backend 'wasm' or 'cpu', or the non-causal form.");
  });

  it('should split exact attention whose scores exceed the device\'s storage-binding limit, and match wasm', async () => {
    if (!available) return;
    const n = 1024;
    const d = 16;
    let b = 0;
    let values: Float32Array[] = [];
    try {
      await useBackend('webgpu');
      b = Math.ceil((1.25 * scoreBlockBytes()) / (4 * n * n)); // scores of the whole batch: 1.25 blocks
      const rng = (seed: number) => Float32Array.from({ length: b * n * d }, (_, i) => Math.sin(i * 0.37 + seed) * 2);
      values = [rng(1), rng(2), rng(3)];
      const run = async () => {
        const [q, k, v] = values.map((x) => tf.tensor4d(x, [b, 1, n, d]));
        const out = denseSoftmaxAttention(kernels, q, k, v, {});
        const result = (await out.data()) as Float32Array;
        tf.dispose([q, k, v, out]);
        return result;
      };
      const gpu = await run();
      await useBackend('wasm');
      const reference = await run();
      expect(maxAbsDiff(gpu, reference)).to.be.lessThan(1e-4);
    } finally {
      await useBackend((process.env.SWAPFORMER_BACKEND ?? 'wasm') as 'wasm');
    }
  });

  it('should turn a device error (a binding over the limit) into a clear error where results are read', async () => {
    if (!available) return;
    await runOnWebgpu(async () => {
      await throwIfWebGpuFailed('the start of this test'); // nothing pending from earlier tests
      const limit = (tf.backend() as unknown as { device: { limits: { maxStorageBufferBindingSize: number } } }).device.limits.maxStorageBufferBindingSize;
      const rows = Math.ceil(Math.sqrt((1.1 * limit) / 4)); // one [rows, rows] product 10 % over the device's binding limit
      const x = tf.zeros([1, rows, 1]);
      const scores = tf.matMul(x, x, false, true);
      const probe = tf.sum(scores);
      await probe.data();
      tf.dispose([x, scores, probe]);
      let thrown: Error | undefined;
      await throwIfWebGpuFailed('the oversized product').catch((error: Error) => (thrown = error));
      expect(thrown?.message).to.match(/webgpu device reported \d+ error\(s\) during the oversized product[\s\S]*binding/i);
      await throwIfWebGpuFailed('the next call'); // reported once, then forgotten
    });
  });

  it('should refuse synchronous profiler timing with a clear error (no synchronous reads in Node)', async () => {
    if (!available) return;
    await runOnWebgpu(async () => {
      expect(() => createProfiler(createSwapformerHooks())).to.throw(/cannot time on the "webgpu" backend[\s\S]*sync: false/);
      expect(() => createProfiler(createSwapformerHooks(), { sync: false }).stop()).not.to.throw();
    });
  });

  it('should time a short benchmark call as a queued run of calls, each one executed, leaving no tensors', async () => {
    if (!available) return;
    await runOnWebgpu(async () => {
      const x = tf.tensor1d([1, 2, 3]);
      const before = tf.memory().numTensors;
      let calls = 0;
      const runner = tfjsRunner(() => {
        calls += 1;
        return tf.tidy(() => tf.add(x, calls));
      });
      await runner.run(); // warm-up: compiles the shaders
      calls = 0;
      const { ms } = await runner.run();
      expect(ms).to.be.above(0);
      expect(calls, 'one call timed alone, then a queued run').to.be.at.least(3);
      expect(pipelinedCalls(1)).to.be.above(1); // the runner queues on this backend
      expect(Array.from((await runner.output())!)).to.deep.equal([1, 2, 3].map((v) => v + calls)); // the last call's output
      runner.dispose();
      expect(tf.memory().numTensors).to.equal(before);
      x.dispose();
    });
  });

  for (const kind of ['vit', 'gpt'] as const) {
    it(`should take the cpu backend's ${kind} training steps (loss, clipped AdamW update of every parameter)`, async () => {
      if (!available) return;
      const [cpu, gpu] = await onCpuAndWebgpu(() => twoTrainingSteps(kind));
      expect(maxAbsDiff(cpu.losses, gpu.losses)).to.be.lessThan(1e-4);
      expect(cpu.params.length).to.be.greaterThan(8); // more tensors than a shader may bind at once
      // Two steps of lr 0.01: Adam's g/√v turns float32 differences of near-zero gradients into
      // up to a few 1e-4 of movement; a wrong update would be off by the step size itself.
      cpu.params.forEach((p, i) => expect(maxAbsDiff(p, gpu.params[i]), `parameter ${i}`).to.be.lessThan(2e-3));
    });
  }

  it('should compare operators on webgpu (the validated call checked asynchronously) with the cpu backend\'s errors', async () => {
    if (!available) return;
    const [cpu, gpu] = await onCpuAndWebgpu(() => compareOperators(registry, { n: 64, heads: 2, dim: 16, operators: ['exact', 'levattention'], repeats: 1 }));
    expect(gpu.rows.map((r) => r.operator)).to.deep.equal(cpu.rows.map((r) => r.operator));
    gpu.rows.forEach((r, i) => expect(Math.abs((r.relativeError ?? 0) - (cpu.rows[i].relativeError ?? 0)), r.operator).to.be.lessThan(1e-4));
  });
});
