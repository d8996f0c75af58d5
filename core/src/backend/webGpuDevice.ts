import * as tf from '@tensorflow/tfjs-core';

/** The parts of tfjs-webgpu's `GPUDevice` that Swapformer reads (the `webgpu` types are not a dependency of core). */
export interface WebGpuDeviceView {
  readonly limits?: { readonly maxStorageBufferBindingSize?: number; readonly maxComputeWorkgroupStorageSize?: number; readonly maxComputeInvocationsPerWorkgroup?: number };
  /** Features the device was made with (`subgroups` where Swapformer's Dawn setup could ask for it). */
  readonly features?: ReadonlySet<string>;
  /** The smallest subgroup the device may run, where it says. */
  readonly adapterInfo?: { readonly subgroupMinSize?: number };
  addEventListener?(type: 'uncapturederror', listener: (event: { error?: { message?: string } }) => void): void;
}

/** The active backend's WebGPU device, or undefined on every other backend. */
export function activeWebGpuDevice(): WebGpuDeviceView | undefined {
  if (tf.getBackend() !== 'webgpu') return undefined;
  return (tf.backend() as unknown as { device?: WebGpuDeviceView }).device;
}
