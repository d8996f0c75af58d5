/**
 * Digests of every installed operator's output on fixed seeded inputs — run in this process by
 * the determinism test and, as a script, in a fresh process (`node -r tsx/cjs outputDigests.ts`)
 * to show that same seed ⇒ bitwise-identical output across processes on one backend.
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import { runAttention, useBackend, type BackendRequest } from '@swapformer/core';
import { randomAttentionInputs } from '@swapformer/core/conformance';
import { installedRegistry } from './registries';

export const DIGEST_SHAPE = { batch: 2, heads: 2, nq: 24, nk: 24, dk: 8 };

/** Large and non-causal enough that every randomized operator really samples (small or causal calls may be exact). */
export const SEEDED_SHAPE = { batch: 1, heads: 2, nq: 256, nk: 256, dk: 8 };

/**
 * sha256 of the output bytes per operator, for call seed `seed` (or none) and registry seed
 * `registrySeed`; causal calls for operators that support them unless `causal` is false.
 */
export function outputDigests(seed: number | undefined, registrySeed = 0, shape = DIGEST_SHAPE, causal = true): Record<string, string> {
  const registry = installedRegistry(registrySeed);
  const { q, k, v } = randomAttentionInputs(shape, 99, 0.5);
  const digests: Record<string, string> = {};
  for (const record of registry.list()) {
    const resolved = registry.resolve({ name: record.meta.name }, {}, { layerIndex: 1 });
    const operator = resolved.create({ heads: shape.heads, headDim: shape.dk, valueDim: shape.dk, modelDim: shape.heads * shape.dk, maxSeqLen: shape.nq, layerIndex: 1 });
    const out = runAttention({ hooks: registry.hooks, operator, capabilities: resolved.capabilities, layerIndex: 1 }, q, k, v, { causal: causal && resolved.capabilities.causal === 'native', seed, layerIndex: 1 });
    const data = out.dataSync() as Float32Array;
    digests[record.meta.name] = createHash('sha256').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('hex');
    out.dispose();
    operator.dispose();
  }
  tf.dispose([q, k, v]);
  return digests;
}

if (require.main === module) {
  void (async () => {
    await useBackend((process.env.SWAPFORMER_BACKEND ?? 'wasm') as BackendRequest);
    process.stdout.write(JSON.stringify({ backend: tf.getBackend(), digests: outputDigests(Number(process.argv[2])) }));
  })();
}
