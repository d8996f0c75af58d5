import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { createKernelContext, createSwapformerContainer, defaultKernelThreads, resolveOperatorServices, SERVICE_IDS, SwapformerError, useBackend } from '@swapformer/core';

describe('createSwapformerContainer', () => {
  it('should give each container its own hooks and seeded RNG service', () => {
    const a = resolveOperatorServices(createSwapformerContainer({ seed: 1 }));
    const b = resolveOperatorServices(createSwapformerContainer({ seed: 2 }));
    expect(a.hooks).not.to.equal(b.hooks);
    expect(a.rng.derive('x')).not.to.equal(b.rng.derive('x'));
    expect(a.rng.derive('x')).to.equal(resolveOperatorServices(createSwapformerContainer({ seed: 1 })).rng.derive('x'));
  });

  it('should bind the services under Symbol.for ids', () => {
    const container = createSwapformerContainer();
    expect(container.isBound(SERVICE_IDS.Hooks)).to.equal(true);
    expect(SERVICE_IDS.Hooks).to.equal(Symbol.for('swapformer.service.Hooks'));
  });
});

describe('useBackend', () => {
  after(async () => {
    await useBackend((process.env.SWAPFORMER_BACKEND ?? 'wasm') as 'wasm');
  });

  it('should switch between wasm and cpu and report the active backend', async () => {
    const report = await useBackend('cpu');
    expect(report.active).to.equal('cpu');
    expect(tf.getBackend()).to.equal('cpu');
    expect((await useBackend('wasm')).active).to.equal('wasm');
  });

  it('should refuse an unknown backend listing the valid ones', async () => {
    try {
      await useBackend('metal' as 'wasm');
      expect.fail('accepted');
    } catch (error) {
      expect(SwapformerError.is(error)).to.equal(true);
      expect((error as Error).message).to.include('"metal"').and.include('wasm, cpu, webgpu, tensorflow, auto');
    }
  });

  it('should say which package is missing for the tensorflow backend', async function () {
    try {
      require.resolve('@tensorflow/tfjs-node');
      this.skip(); // installed here: nothing to check
    } catch {
      // expected: not installable offline
    }
    try {
      await useBackend('tensorflow');
      expect.fail('accepted');
    } catch (error) {
      expect((error as SwapformerError).kind).to.equal('backend-unavailable');
      expect((error as Error).message).to.include('@tensorflow/tfjs-node');
    }
    expect(tf.getBackend()).to.equal('wasm');
  });

  it('should fail loudly (not fall back) when webgpu has no adapter', async function () {
    this.timeout(60000);
    try {
      const report = await useBackend('webgpu');
      expect(report.active).to.equal('webgpu'); // a machine with a GPU: it really runs
    } catch (error) {
      expect((error as SwapformerError).kind).to.equal('backend-unavailable');
      expect((error as Error).message).to.match(/webgpu/);
    }
  });

  it('should report what auto skipped and which backend ran', async function () {
    this.timeout(60000);
    const report = await useBackend('auto');
    expect(['tensorflow', 'webgpu', 'wasm', 'cpu']).to.include(report.active);
    expect(tf.getBackend()).to.equal(report.active);
    if (report.active === 'wasm') expect(report.skipped.map((s) => s.name)).to.deep.equal(['tensorflow', 'webgpu']);
  });
});

describe('kernel settings', () => {
  it('should default to the core count up to 8, WGSL programs on and the fused WebGPU program off', () => {
    const { kernels } = resolveOperatorServices(createSwapformerContainer());
    expect(kernels.threads).to.equal(defaultKernelThreads());
    expect(defaultKernelThreads()).to.be.within(1, 8);
    expect(kernels.webGpuPrograms).to.equal(true);
    expect(kernels.webGpuFusedAttention).to.equal(true);
  });

  it('should give each container its own settings and its own kernel resources', () => {
    const a = resolveOperatorServices(createSwapformerContainer({ kernels: { threads: 1, webGpuPrograms: false } })).kernels;
    const b = resolveOperatorServices(createSwapformerContainer({ kernels: { threads: 2 } })).kernels;
    expect([a.threads, a.webGpuPrograms, b.threads, b.webGpuPrograms]).to.deep.equal([1, false, 2, true]);
    const key = Symbol('test resource');
    const made = a.resources.obtain(key, () => ({ made: 'a' }));
    expect(a.resources.obtain(key, () => ({ made: 'again' }))).to.equal(made);
    expect(b.resources.obtain(key, () => ({ made: 'b' }))).to.deep.equal({ made: 'b' });
  });

  it('should read no environment variable: SWAPFORMER_THREADS set after creation changes nothing', () => {
    const saved = process.env.SWAPFORMER_THREADS;
    try {
      delete process.env.SWAPFORMER_THREADS;
      const kernels = createKernelContext();
      process.env.SWAPFORMER_THREADS = String(defaultKernelThreads() + 3);
      expect(kernels.threads).to.equal(defaultKernelThreads());
      expect(createKernelContext().threads).to.equal(defaultKernelThreads());
    } finally {
      if (saved === undefined) delete process.env.SWAPFORMER_THREADS;
      else process.env.SWAPFORMER_THREADS = saved;
    }
  });

  it('should refuse a bad setting, naming it and the valid values', () => {
    for (const threads of [0, 1.5, -2]) {
      const error = (() => {
        try {
          createSwapformerContainer({ kernels: { threads } });
        } catch (e) {
          return e;
        }
        return null;
      })();
      expect(SwapformerError.is(error)).to.equal(true);
      expect((error as Error).message).to.include(`got ${threads}`).and.include('positive integer');
    }
    expect(() => createKernelContext({ webGpuPrograms: 'no' as never })).to.throw('webGpuPrograms must be true or false, got "no"');
  });
});
