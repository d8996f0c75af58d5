import { SwapformerError, type KernelSettings } from '@swapformer/core';

/**
 * The kernel settings the environment asks for, read once when a command starts (the libraries
 * never read the environment): SWAPFORMER_THREADS (threads of the CPU kernels),
 * SWAPFORMER_WEBGPU_PROGRAMS=0 (the operators' WGSL programs off), SWAPFORMER_WEBGPU_FUSED=0
 * (exact attention's flash WGSL program off: the row-block op path). Unset or empty variables leave the defaults.
 *
 * @example createSwapformerContainer({ kernels: kernelSettingsFromEnvironment(process.env) });
 */
export function kernelSettingsFromEnvironment(env: NodeJS.ProcessEnv): Partial<KernelSettings> {
  const settings: { -readonly [K in keyof KernelSettings]?: KernelSettings[K] } = {};
  const threads = env.SWAPFORMER_THREADS;
  if (threads !== undefined && threads !== '') {
    const value = Number(threads);
    if (!Number.isInteger(value) || value < 1) {
      throw new SwapformerError('invalid-config', `SWAPFORMER_THREADS must be a positive integer, got "${threads}".\n  Unset it to use the core count (up to 8), or set e.g. SWAPFORMER_THREADS=1.`);
    }
    settings.threads = value;
  }
  if (env.SWAPFORMER_WEBGPU_PROGRAMS === '0') settings.webGpuPrograms = false;
  if (env.SWAPFORMER_WEBGPU_FUSED === '0') settings.webGpuFusedAttention = false;
  return settings;
}
