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

/** sha256 of the output bytes per operator, for call seed `seed` (or none) and registry seed `registrySeed`. */
export function outputDigests(seed: number | undefined, registrySeed = 0): Record<string, string> {
  const registry = installedRegistry(registrySeed);
  const { q, k, v } = randomAttentionInputs(DIGEST_SHAPE, 99, 0.5);
  const digests: Record<string, string> = {};
  for (const record of registry.list()) {
    const resolved = registry.resolve({ name: record.meta.name }, {}, { layerIndex: 1 });
    const operator = resolved.create({ heads: DIGEST_SHAPE.heads, headDim: DIGEST_SHAPE.dk, valueDim: DIGEST_SHAPE.dk, modelDim: DIGEST_SHAPE.heads * DIGEST_SHAPE.dk, maxSeqLen: DIGEST_SHAPE.nq, layerIndex: 1 });
    const out = runAttention({ hooks: registry.hooks, operator, capabilities: resolved.capabilities, layerIndex: 1 }, q, k, v, { causal: resolved.capabilities.causal === 'native', seed, layerIndex: 1 });
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
