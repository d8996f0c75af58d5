import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { throwIfWebGpuFailed, type KernelContext } from '@swapformer/core';
import { fusedAttentionPeakBytes, resetFusedAttentionPeakBytes } from '@swapformer/kernels';
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
 * measures nothing. On webgpu one value of the output is read back: the queue runs dispatches in
 * order, so when that copy is done the whole call is (as PyTorch's `torch.cuda.synchronize()`).
 * Not a reduction over the output: tfjs-webgpu reduces to one value in one workgroup, which at
 * [1, 4, 65,536, 64] took 14.8 ms on the H100 against 0.5 for one value
 * (cli/scripts/gpu-fence-cost.cjs). On the CPU backends the output already lives in host memory
 * and `data()` is a copy.
 */
export async function forceResult(t: Tensor): Promise<void> {
  if (tf.getBackend() === 'webgpu') {
    const probe = tf.tidy(() => tf.slice(tf.reshape(t, [-1]), 0, 1));
    await probe.data();
    probe.dispose();
    return;
  }
  await t.data();
}

/**
 * On a queueing backend (webgpu) a call measured alone shorter than this is timed again as a run
 * of calls queued back to back with one synchronization at the end, and averaged: learning that a
 * single call finished costs a host round trip (timed call by call on the H100, every tfjs row had
 * a floor of ≈ 3 ms) that can be longer than the call.
 * The PyTorch peers time sub-20 ms CUDA calls the same way.
 */
export const PIPELINE_BELOW_MS = 20;
/**
 * How much work one pipelined timing queues: enough calls to fill this many ms alone. The final
 * synchronization (1–3 ms through Dawn in Node, ~0.02 ms for CUDA) is then ≤ 2 % of the run; a
 * 20 ms window left up to 15 % of it in the average (session 11: exact at 16,384 queued 2 calls
 * and read 14.6 ms for 12.7 ms of GPU time). The PyTorch peers queue the same window.
 */
export const PIPELINE_WINDOW_MS = 200;
/** Most calls queued in one pipelined timing. */
export const MAX_PIPELINED_CALLS = 200;

/** How many calls to queue for one pipelined timing after a single call took `singleMs` (1: time it alone). */
export function pipelinedCalls(singleMs: number, backend = tf.getBackend()): number {
  if (backend !== 'webgpu' || singleMs >= PIPELINE_BELOW_MS) return 1;
  return Math.max(2, Math.min(MAX_PIPELINED_CALLS, Math.ceil(PIPELINE_WINDOW_MS / Math.max(singleMs, 0.05))));
}

/**
 * Times one tfjs call (forced) and keeps its output as the latest result; on webgpu, short calls
 * are averaged over a pipelined run (see PIPELINE_BELOW_MS). `kernels`: the kernel context the call
 * runs on, whose fused CPU kernel memory the profile adds to tfjs's own.
 */
export function tfjsRunner(call: () => Tensor, kernels?: KernelContext): {
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
      // `keep` disposes the previous output: the queue runs in order, so a later call reusing its buffer waits for it
      const single = await timeCall(async () => {
        keep(call());
        await forceResult(last!);
      });
      // outside the timed region: the check yields to the event loop, which costs about a millisecond
      await throwIfWebGpuFailed('a benchmark call');
      const calls = pipelinedCalls(single.ms);
      if (calls === 1) return single;
      const queued = await timeCall(async () => {
        for (let i = 0; i < calls; i++) keep(call());
        await forceResult(last!);
      });
      await throwIfWebGpuFailed('a benchmark call');
      return { ...queued, ms: queued.ms / calls };
    },
    async output() {
      return last ? ((await last.data()) as Float32Array) : null;
    },
    async profile() {
      last?.dispose();
      last = null;
      const before = tf.memory().numBytes;
      if (kernels) resetFusedAttentionPeakBytes(kernels);
      let out: Tensor | null = null;
      const info = await tf.profile(() => {
        out = call();
        return out;
      });
      await forceResult(out!);
      await throwIfWebGpuFailed('a benchmark call');
      keep(out!);
      const kernelMs: Record<string, number> = {};
      for (const k of info.kernels) {
        const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
        kernelMs[k.name] = (kernelMs[k.name] ?? 0) + ms;
      }
      // tfjs tensors plus the fused CPU kernel's own memory, which tfjs does not see
      return { peakBytes: Math.max(0, info.peakBytes - before) + (kernels ? fusedAttentionPeakBytes(kernels) : 0), kernelMs };
    },
    dispose() {
      last?.dispose();
      last = null;
    },
  };
}
