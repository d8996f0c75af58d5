import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, TensorInfo } from '@tensorflow/tfjs-core';

interface WebGpuUploadBackend {
  makeTensorInfo(shape: number[], dtype: 'float32'): TensorInfo;
  uploadToGPU(dataId: object): void;
  tensorMap: { get(dataId: object): { resource?: unknown } };
  device: { queue: { writeBuffer(buffer: unknown, offset: number, data: ArrayBufferLike, dataOffset: number, size: number): void } };
}

/**
 * A float32 tensor holding `values`, for programs that take host-made inputs every call (random
 * draws, tables). On webgpu the values go through `queue.writeBuffer` into a storage buffer from
 * tfjs's pool instead of tfjs's upload, which makes a mapped staging buffer per tensor: ≈ 0.6–1.3 ms
 * of host time a call for Thinformer's and KDEformer's draws on the H100 machine
 * (cli/scripts/gpu-host-profile.cjs). The write is ordered after work already submitted (a pooled
 * buffer's last readers) and before the dispatches that read it, which tfjs submits later.
 * Elsewhere it is `tf.tensor(values, shape)`.
 *
 * @example const draws = uploadFloat32(thresholds, [thresholds.length]);
 */
export function uploadFloat32(values: Float32Array, shape: readonly number[]): Tensor {
  if (tf.getBackend() !== 'webgpu' || values.length === 0) return tf.tensor(values, [...shape], 'float32');
  if (values.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`uploadFloat32: ${values.length} values for shape [${shape.join(', ')}]`);
  const backend = tf.backend() as unknown as WebGpuUploadBackend;
  // no values: tfjs takes a buffer from its pool (or makes one) without a staging copy
  const info = backend.makeTensorInfo([...shape], 'float32');
  backend.uploadToGPU(info.dataId);
  const buffer = backend.tensorMap.get(info.dataId).resource;
  backend.device.queue.writeBuffer(buffer, 0, values.buffer, values.byteOffset, values.byteLength);
  return tf.engine().makeTensorFromTensorInfo(info);
}
