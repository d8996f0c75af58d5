import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { createMemoryLogger, createSwapformerContainer, defaultKernelThreads, type AttentionContext, type ContainerOptions } from '@swapformer/core';
import { randomAttentionInputs } from '@swapformer/core/conformance';
import { fusedAttentionInfo, fusedKernelApplies } from '@swapformer/kernels';
import { exactPlugin } from '@swapformer/plugin-exact';
import { kdeformerPlugin } from '@swapformer/plugin-kdeformer';
import { performerPlugin } from '@swapformer/plugin-performer';
import { thinformerPlugin } from '@swapformer/plugin-thinformer';
import { createOperatorRegistry, type OperatorRegistry } from '@swapformer/registry';

function registryWith(options: ContainerOptions): OperatorRegistry {
  const registry = createOperatorRegistry(createSwapformerContainer({ logger: createMemoryLogger(), ...options }));
  for (const plugin of [exactPlugin, performerPlugin, kdeformerPlugin, thinformerPlugin]) registry.register(plugin);
  return registry;
}

/** One forward of `name` resolved through `registry`; the output's bytes. */
function outputOf(registry: OperatorRegistry, name: string, options: Record<string, unknown>, inputs: { q: Tensor4D; k: Tensor4D; v: Tensor4D }, ctx: Partial<AttentionContext> = {}): Float32Array {
  const operator = registry.resolve({ name, options }).create({ heads: inputs.q.shape[1], headDim: inputs.q.shape[3], layerIndex: 0 });
  try {
    return tf.tidy(() => operator.forward(inputs.q, inputs.k, inputs.v, { causal: false, layerIndex: 0, ...ctx }).dataSync() as Float32Array);
  } finally {
    operator.dispose();
  }
}

const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe('the container services', () => {
  describe('having two containers with different kernel settings in one process', () => {
    it('should run each on its own thread count, without one changing the other, with bitwise-identical exact outputs', () => {
      const single = registryWith({ kernels: { threads: 1 } });
      const pair = registryWith({ kernels: { threads: 2 } });
      // large enough for the fused kernel to start its worker pool (work ≥ 2²² multiply-adds)
      const inputs = randomAttentionInputs({ batch: 1, heads: 2, nq: 512, nk: 512, dk: 64 }, 3);
      const onPair = outputOf(pair, 'exact', {}, inputs);
      const onSingle = outputOf(single, 'exact', {}, inputs);
      const onPairAgain = outputOf(pair, 'exact', {}, inputs);
      expect(same(onPair, onSingle)).to.equal(true);
      expect(same(onPairAgain, onPair)).to.equal(true);
      expect(fusedAttentionInfo(single.services.kernels).threads).to.equal(1);
      if (fusedKernelApplies(pair.services.kernels, inputs.q)) expect(fusedAttentionInfo(pair.services.kernels).threads).to.equal(2);
      expect(single.services.kernels.resources).not.to.equal(pair.services.kernels.resources);
      tf.dispose([inputs.q, inputs.k, inputs.v]);
    });

    it('should hand each plugin the kernel settings of its own container', () => {
      const seen: Array<{ threads: number; webGpuPrograms: boolean }> = [];
      // exact's own create, with a look at the services it is given
      const spy = { ...exactPlugin, meta: { ...exactPlugin.meta, name: 'settings-spy' }, create: (options: never, services: Parameters<typeof exactPlugin.create>[1], geometry: Parameters<typeof exactPlugin.create>[2]) => {
        seen.push({ threads: services.kernels.threads, webGpuPrograms: services.kernels.webGpuPrograms });
        return exactPlugin.create(options, services, geometry);
      } };
      const on = registryWith({ kernels: { threads: 2 } });
      const off = registryWith({ kernels: { threads: 1, webGpuPrograms: false } });
      for (const registry of [on, off, on]) {
        if (!registry.has('settings-spy')) registry.register(spy);
        registry.resolve({ name: 'settings-spy' }).create({ heads: 1, headDim: 4 }).dispose();
      }
      // the programs themselves run only on webgpu: test/integration/webgpuBackend.test.ts runs both settings there
      expect(seen).to.deep.equal([{ threads: 2, webGpuPrograms: true }, { threads: 1, webGpuPrograms: false }, { threads: 2, webGpuPrograms: true }]);
    });

    it('should read no environment variable: only the CLI turns them into settings', () => {
      const keys = ['SWAPFORMER_THREADS', 'SWAPFORMER_WEBGPU_PROGRAMS', 'SWAPFORMER_WEBGPU_FUSED'] as const;
      const saved = keys.map((key) => process.env[key]);
      try {
        const before = registryWith({});
        Object.assign(process.env, { SWAPFORMER_THREADS: '1', SWAPFORMER_WEBGPU_PROGRAMS: '0', SWAPFORMER_WEBGPU_FUSED: '0' });
        const after = registryWith({});
        const inputs = randomAttentionInputs({ batch: 1, heads: 2, nq: 512, nk: 512, dk: 64 }, 5);
        for (const registry of [before, after]) {
          const { threads, webGpuPrograms, webGpuFusedAttention } = registry.services.kernels;
          expect({ threads, webGpuPrograms, webGpuFusedAttention }).to.deep.equal({ threads: defaultKernelThreads(), webGpuPrograms: true, webGpuFusedAttention: true });
          outputOf(registry, 'exact', {}, inputs);
          // the pool is sized by the settings alone (SWAPFORMER_THREADS=1 would have kept it at 1)
          if (fusedKernelApplies(registry.services.kernels, inputs.q)) expect(fusedAttentionInfo(registry.services.kernels).threads).to.equal(defaultKernelThreads());
        }
        tf.dispose([inputs.q, inputs.k, inputs.v]);
      } finally {
        keys.forEach((key, i) => {
          if (saved[i] === undefined) delete process.env[key];
          else process.env[key] = saved[i];
        });
      }
    });
  });

  describe('having seeded operators without a seed of their own', () => {
    for (const name of ['performer', 'kdeformer', 'thinformer']) {
      it(`should draw ${name}'s seed from the container: another container seed changes the output, the same one reproduces it`, () => {
        const inputs = randomAttentionInputs({ batch: 1, heads: 2, nq: 64, nk: 64, dk: 8 }, 6, 1);
        const [one, oneAgain, two] = [registryWith({ seed: 1 }), registryWith({ seed: 1 }), registryWith({ seed: 2 })].map((r) => outputOf(r, name, {}, inputs));
        expect(same(one, oneAgain)).to.equal(true);
        expect(same(one, two)).to.equal(false);
        tf.dispose([inputs.q, inputs.k, inputs.v]);
      });

      it(`should let ${name}'s explicit option seed and ctx.seed win over the container seed`, () => {
        const inputs = randomAttentionInputs({ batch: 1, heads: 2, nq: 64, nk: 64, dk: 8 }, 7, 1);
        const [a, b] = [registryWith({ seed: 1 }), registryWith({ seed: 2 })];
        expect(same(outputOf(a, name, { seed: 9 }, inputs), outputOf(b, name, { seed: 9 }, inputs))).to.equal(true);
        expect(same(outputOf(a, name, {}, inputs, { seed: 4 }), outputOf(b, name, {}, inputs, { seed: 4 }))).to.equal(true);
        // the container seed is the option's default: seed 3 in the container is option seed 3
        expect(same(outputOf(registryWith({ seed: 3 }), name, {}, inputs), outputOf(a, name, { seed: 3 }, inputs))).to.equal(true);
        tf.dispose([inputs.q, inputs.k, inputs.v]);
      });
    }
  });
});
