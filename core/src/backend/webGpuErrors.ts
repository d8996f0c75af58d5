/**
 * Errors the WebGPU device reports outside any error scope (an invalid bind group, an
 * out-of-memory buffer): Dawn skips the failing dispatch and prints a warning, and tfjs goes on
 * computing with whatever the skipped dispatch left behind. Results computed after such an error
 * are invalid, so code that reads results (training logs, evaluation, checkpoints, benchmarks)
 * asks here and fails loudly instead of reporting garbage.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SwapformerError } from '../errors/SwapformerError';
import { activeWebGpuDevice, type WebGpuDeviceView } from './webGpuDevice';

/** Where a watched device keeps its unreported errors: on the device itself, not in this module. */
const ERRORS = Symbol.for('swapformer.webGpuErrors');

type WatchedDevice = WebGpuDeviceView & { [ERRORS]?: string[] };

/** Starts recording the active webgpu device's uncaptured errors (once per device; a no-op elsewhere). */
export function watchWebGpuErrors(): void {
  const device = activeWebGpuDevice() as WatchedDevice | undefined;
  if (!device || typeof device.addEventListener !== 'function' || device[ERRORS]) return;
  const reported: string[] = [];
  device[ERRORS] = reported;
  device.addEventListener('uncapturederror', (event) => {
    reported.push(String(event.error?.message ?? event).split('\n')[0]);
  });
}

/**
 * Throws if the webgpu device reported an error since the last check (and forgets them).
 * Errors arrive as events, so the check first lets pending events run.
 *
 * @example const loss = (await lossSum.data())[0]; await throwIfWebGpuFailed('training step 120');
 */
export async function throwIfWebGpuFailed(activity: string): Promise<void> {
  if (tf.getBackend() !== 'webgpu') return;
  await new Promise((resolve) => setTimeout(resolve, 0)); // setTimeout, not setImmediate: browsers have no setImmediate
  const reported = (activeWebGpuDevice() as WatchedDevice | undefined)?.[ERRORS];
  if (!reported || reported.length === 0) return;
  const [first, count] = [reported[0], reported.length];
  reported.length = 0;
  throw new SwapformerError(
    'backend-unavailable',
    `the webgpu device reported ${count} error(s) during ${activity}, so its results are invalid (Dawn skipped the failing work).\n  First: ${first}\n  A tensor larger than the device's storage-binding limit is the usual cause: use smaller batches, or backend 'wasm'.`,
  );
}
