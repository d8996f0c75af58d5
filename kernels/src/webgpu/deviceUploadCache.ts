import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { uploadFloat32 } from './uploadFloat32';

interface GpuBuffer {
  readonly size: number;
}

interface WebGpuCacheBackend {
  device: {
    createBuffer(descriptor: { size: number; usage: number }): GpuBuffer;
    queue: { writeBuffer(buffer: GpuBuffer, offset: number, data: ArrayBufferLike, dataOffset: number, size: number): void };
  };
}

// GPUBufferUsage.STORAGE | COPY_SRC | COPY_DST: what tfjs asks of a buffer it wraps without a copy (STORAGE | COPY_SRC), and writeBuffer's COPY_DST
const CACHED_BUFFER_USAGE = 0x80 | 0x04 | 0x08;

/** Entries a cache keeps by default: a causal call at n = 65,536 batches ≤ 16 key-range groups. */
export const DEVICE_UPLOAD_CACHE_ENTRIES = 32;

/**
 * Host-made float32 inputs that depend only on a key — seeded draws that do not look at the data:
 * walk thresholds, hyperplanes, sampling uniforms — kept on the device between calls. An operator
 * called again with the same seed (every inference call of a layer: `callIndex` is only set while
 * training) then neither draws nor uploads them again (Thinformer at n = 16,384 drew and uploaded
 * 63,500 floats a call, 38 % of its host time). Owned by one operator instance (no shared state);
 * `clear()` in its `dispose`.
 */
export interface DeviceUploadCache {
  /**
   * A float32 tensor of `shape` holding `make()`'s values: on webgpu a tensor over a device buffer
   * made and written once per key (the caller disposes the tensor; the buffer stays with the
   * cache), elsewhere `uploadFloat32(make(), shape)`. `key` must determine the values.
   */
  tensor(key: string, shape: readonly number[], make: () => Float32Array): Tensor;
  /** Entries kept now. */
  readonly size: number;
  /** Forgets every buffer (garbage collection frees them once no queued dispatch reads one). */
  clear(): void;
}

/**
 * A cache of at most `entries` device buffers, least recently used out first.
 *
 * @example const uploads = createDeviceUploadCache(); const draws = uploads.tensor(`seed ${seed}`, [n], () => drawThresholds(seed, n));
 */
export function createDeviceUploadCache(entries = DEVICE_UPLOAD_CACHE_ENTRIES): DeviceUploadCache {
  const buffers = new Map<string, GpuBuffer>();
  // buffers belong to one device: a new webgpu backend (useBackend again) starts an empty cache
  let owner: unknown = null;
  return {
    tensor(key, shape, make) {
      const count = shape.reduce((a, b) => a * b, 1);
      if (tf.getBackend() !== 'webgpu' || count === 0) return uploadFloat32(make(), shape);
      const backend = tf.backend() as unknown as WebGpuCacheBackend;
      if (backend !== owner) {
        buffers.clear();
        owner = backend;
      }
      let buffer = buffers.get(key);
      if (buffer) {
        buffers.delete(key); // re-inserted below: the most recently used
      } else {
        const values = make();
        if (values.length !== count) throw new Error(`DeviceUploadCache: ${values.length} values for shape [${shape.join(', ')}] (key ${key})`);
        buffer = backend.device.createBuffer({ size: 4 * Math.ceil(values.byteLength / 4), usage: CACHED_BUFFER_USAGE });
        // queued before any dispatch that reads it: tfjs submits its recorded dispatches later
        backend.device.queue.writeBuffer(buffer, 0, values.buffer, values.byteOffset, values.byteLength);
      }
      buffers.set(key, buffer);
      if (buffers.size > entries) buffers.delete(buffers.keys().next().value as string);
      // zeroCopy: tfjs binds the buffer itself and never returns it to its pool
      return tf.tensor({ buffer, zeroCopy: true } as unknown as tf.TensorLike, [...shape], 'float32');
    },
    get size() {
      return buffers.size;
    },
    clear() {
      buffers.clear();
      owner = null;
    },
  };
}
