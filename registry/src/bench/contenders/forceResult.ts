import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { fusedAttentionPeakBytes, resetFusedAttentionPeakBytes } from '@swapformer/core';
import type { RunTime } from '../benchTypes';

/** Wall and process CPU time of an async call (CPU time is meaningless for GPU work, so it is left out there). */
export async function timeCall(call: () => Promise<void>): Promise<RunTime> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await call();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return tf.getBackend() === 'webgpu' ? { ms } : { ms, cpuMs: (cpu.user + cpu.system) / 1000 };
}

/**
 * Waits until `t` is computed. tfjs queues work on GPU backends, so a timer stopped before a read
 * measures nothing. On webgpu a one-float reduction is read back instead of the whole output, so
 * the time is compute, not a device-to-host copy of `[h, n, d]` (PyTorch timings synchronize the
 * same way). On the CPU backends the output already lives in host memory and `data()` is a copy.
 */
export async function forceResult(t: Tensor): Promise<void> {
  if (tf.getBackend() === 'webgpu') {
    const probe = tf.sum(t);
    await probe.data();
    probe.dispose();
    return;
  }
  await t.data();
}

/** Times one tfjs call (forced) and keeps its output as the latest result. */
export function tfjsRunner(call: () => Tensor): {
  run(): Promise<RunTime>;
  output(): Promise<Float32Array | null>;
  profile(): Promise<{ peakBytes: number; kernelMs: Record<string, number> }>;
  dispose(): void;
} {
  let last: Tensor | null = null;
  const keep = (t: Tensor) => {
    last?.dispose();
    last = t;
  };
  return {
    async run() {
      last?.dispose();
      last = null;
      let out: Tensor | null = null;
      const time = await timeCall(async () => {
        out = call();
        await forceResult(out);
      });
      keep(out!);
      return time;
    },
    async output() {
      return last ? ((await last.data()) as Float32Array) : null;
    },
    async profile() {
      last?.dispose();
      last = null;
      const before = tf.memory().numBytes;
      resetFusedAttentionPeakBytes();
      let out: Tensor | null = null;
      const info = await tf.profile(() => {
        out = call();
        return out;
      });
      await forceResult(out!);
      keep(out!);
      const kernelMs: Record<string, number> = {};
      for (const k of info.kernels) {
        const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
        kernelMs[k.name] = (kernelMs[k.name] ?? 0) + ms;
      }
      // tfjs tensors plus the fused CPU kernel's own memory, which tfjs does not see
      return { peakBytes: Math.max(0, info.peakBytes - before) + fusedAttentionPeakBytes(), kernelMs };
    },
    dispose() {
      last?.dispose();
      last = null;
    },
  };
}
