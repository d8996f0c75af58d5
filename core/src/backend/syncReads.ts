import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { SwapformerError } from '../errors/SwapformerError';
import { throwIfWebGpuFailed } from './webGpuErrors';

/**
 * Whether the active backend can read tensor values synchronously (`dataSync`). tfjs-webgpu in
 * Node cannot: its synchronous read goes through `OffscreenCanvas`, which Node lacks, so code
 * that may run there reads with `await t.data()` (or prefetches first).
 */
export function canReadSync(): boolean {
  return tf.getBackend() !== 'webgpu';
}

/**
 * Where the read is refused, for messages: tfjs-webgpu cannot read synchronously in Node, and
 * Swapformer does not ask it to in a page either (there a synchronous read stalls the page).
 */
export function syncReadsUnavailableWhere(): string {
  return (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node ? 'in Node' : 'without stalling the page';
}

/**
 * Throws SwapformerError('unsupported') unless the active backend can read tensor values
 * synchronously, naming what needs the reads, the backend, and what to use instead.
 *
 * @example requireSyncReads('kdeformer', 'it hashes, sorts and samples keys on the host, in JS');
 */
export function requireSyncReads(subject: string, reason: string, alternative?: string): void {
  if (canReadSync()) return;
  throw new SwapformerError(
    'unsupported',
    `${subject} needs synchronous reads of tensor values (${reason}), which backend '${tf.getBackend()}' cannot do ${syncReadsUnavailableWhere()}; use backend 'wasm' or 'cpu'${alternative ? `, or ${alternative}` : ''}.`,
  );
}

/**
 * Downloads the values of `tensors` to the CPU on backends that cannot read synchronously; the
 * backend caches them, so a following `dataSync()` on the same tensors works there too.
 *
 * @example await prefetchValues(model.parameters().map((p) => p.variable)); saveCheckpoint(model, dir);
 */
export async function prefetchValues(tensors: readonly Tensor[]): Promise<void> {
  if (canReadSync()) return;
  await Promise.all(tensors.map((t) => t.data()));
  await throwIfWebGpuFailed('reading tensors back');
}
