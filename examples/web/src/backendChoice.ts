/**
 * Which tfjs backend the demo runs on: WebGPU when the browser offers an adapter, else wasm (or
 * whatever `?backend=` asks for). The backend packages are imported here, by the app, and
 * useBackend uses them as they are. The WebGPU backend is a separate chunk, loaded only when
 * tried, so the wasm-only bundle stays small.
 */
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { useBackend, type BackendName } from '@swapformer/core';

export interface BackendState {
  readonly active: BackendName;
  /** Why the preferred backend was not taken, shown on the page. */
  readonly notes: readonly string[];
  readonly simd: boolean;
  readonly isolated: boolean;
}

/** One `i8x16.splat` in a function body: valid only where the engine has WebAssembly SIMD. */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 8, 1, 6, 0, 65, 0, 253, 15, 11]);

export function hasWasmSimd(): boolean {
  try {
    return WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

async function tryWebGpu(notes: string[]): Promise<boolean> {
  if (!('gpu' in navigator)) {
    notes.push('WebGPU: this browser has none (navigator.gpu is missing).');
    return false;
  }
  try {
    await import('@tensorflow/tfjs-backend-webgpu');
    await useBackend('webgpu');
    return true;
  } catch (error) {
    notes.push(`WebGPU: ${(error as Error).message.split('\n')[0]}`);
    return false;
  }
}

/**
 * Starts the backend: `requested` 'webgpu' or 'wasm', or 'auto' (WebGPU if it starts, else wasm).
 *
 * @example const state = await startBackend('auto', new URL('./wasm/', location.href).href);
 */
export async function startBackend(requested: 'auto' | 'webgpu' | 'wasm', wasmFolder: string): Promise<BackendState> {
  const notes: string[] = [];
  const simd = hasWasmSimd();
  if (!simd) notes.push('This browser has no WebAssembly SIMD: the fused attention kernels are off and tfjs-wasm runs its slower scalar build.');
  setWasmPaths(wasmFolder);
  if (requested === 'wasm' || !(await tryWebGpu(notes))) {
    if (requested === 'webgpu') notes.push('Fell back to wasm.');
    await useBackend('wasm');
  }
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  if (!isolated) notes.push('Not cross-origin isolated (no COOP/COEP headers): one thread.');
  return { active: tf.getBackend() as BackendName, notes, simd, isolated };
}
