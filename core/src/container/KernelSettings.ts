import { SwapformerError } from '../errors/SwapformerError';

/** How the kernels run: one container's settings, passed to every kernel call explicitly. */
export interface KernelSettings {
  /** Threads the CPU kernels may use, the calling thread included (default: the core count up to 8). */
  readonly threads: number;
  /** The operators' WGSL programs on webgpu (default on); off, each takes its tfjs-op composition. */
  readonly webGpuPrograms: boolean;
  /** Exact attention's flash-attention WGSL program on webgpu (kernels' fusedWebGpuAttention) outside a gradient tape; default on: on the H100 it beat the row-block op path at every measured n (1.2–1.4× non-causal, 90–170× causal; docs/benchmarks/webgpu-flash.md). Off, exact takes the row-block op path. */
  readonly webGpuFusedAttention: boolean;
}

/**
 * Where the kernels keep what they build for one container (compiled modules, worker pools,
 * peak-memory counters), so two containers share none of it and nothing lives in a module variable.
 */
export interface KernelResources {
  /** The resource stored under `key`, made by `create` on first use. */
  obtain<T>(key: symbol, create: () => T): T;
}

/** The kernel settings of a container together with its kernel resources: what kernel functions take first. */
export interface KernelContext extends KernelSettings {
  readonly resources: KernelResources;
}

/**
 * A page's threads: its logical cores when it is cross-origin isolated (only then can workers
 * share the kernels' memory), else 1. Null outside a page.
 */
function pageThreads(): number | null {
  const g = globalThis as { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } };
  const cores = g.navigator?.hardwareConcurrency;
  if (typeof cores !== 'number') return null;
  return g.crossOriginIsolated === true ? Math.max(1, Math.min(8, cores)) : 1;
}

/**
 * Threads CPU kernels use unless told otherwise: the core count up to 8 — Node's, or a
 * cross-origin-isolated page's — else 1.
 *
 * @example createKernelContext({ threads: defaultKernelThreads() });
 */
export function defaultKernelThreads(): number {
  try {
    const os = require('node:os') as { availableParallelism?: () => number; cpus(): unknown[] };
    return Math.max(1, Math.min(8, os.availableParallelism?.() ?? os.cpus().length));
  } catch {
    return pageThreads() ?? 1; // no node:os: a page or a bundle
  }
}

/**
 * Settings with defaults filled in and checked, plus an empty resource store. The container makes
 * one (`createSwapformerContainer({ kernels })`); tests and scripts without a container make their own.
 *
 * @example const kernels = createKernelContext({ threads: 1 }); fusedSoftmaxAttention(kernels, q, k, v);
 */
export function createKernelContext(settings: Partial<KernelSettings> = {}): KernelContext {
  const threads = settings.threads ?? defaultKernelThreads();
  if (!Number.isInteger(threads) || threads < 1) {
    throw new SwapformerError('invalid-config', `kernel settings: threads must be a positive integer (1 = the calling thread only), got ${JSON.stringify(threads)}.`);
  }
  for (const key of ['webGpuPrograms', 'webGpuFusedAttention'] as const) {
    const value = settings[key];
    if (value !== undefined && typeof value !== 'boolean') throw new SwapformerError('invalid-config', `kernel settings: ${key} must be true or false, got ${JSON.stringify(value)}.`);
  }
  const store = new Map<symbol, unknown>();
  return {
    threads,
    webGpuPrograms: settings.webGpuPrograms ?? true,
    webGpuFusedAttention: settings.webGpuFusedAttention ?? true,
    resources: {
      obtain<T>(key: symbol, create: () => T): T {
        if (!store.has(key)) store.set(key, create());
        return store.get(key) as T;
      },
    },
  };
}
