import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import type { KernelContext } from '@swapformer/core';
import { fusedAttentionInfo } from '@swapformer/kernels';
import type { OperatorRegistry } from '@swapformer/registry';
import type { BenchEnvironment, BenchReport, Contender } from './benchTypes';
import { MAX_PIPELINED_CALLS, PIPELINE_BELOW_MS, PIPELINE_WINDOW_MS } from './contenders/forceResult';
import { operatorContender } from './contenders/operatorContender';
import { loadOnnxRuntime, onnxruntimePeer } from './peers/onnxruntimePeer';
import { plainTfjsPeer } from './peers/plainTfjsPeer';
import { PythonPeerProcess, pythonPeer, type PythonVariant } from './peers/pythonPeer';

/** Every peer the harness knows. */
export const PEER_NAMES = ['tfjs-plain', 'numpy', 'onnxruntime', 'torch-naive', 'torch-sdpa', 'torch-bf16-flash'] as const;
export type PeerName = (typeof PEER_NAMES)[number];

/** Peers of a default run: what a Python, a JS and a tfjs user would pick on this backend. */
export function defaultPeers(backend: string): PeerName[] {
  return backend === 'webgpu' ? ['tfjs-plain', 'torch-naive', 'torch-sdpa', 'torch-bf16-flash'] : ['tfjs-plain', 'numpy', 'onnxruntime'];
}

/**
 * Largest n per row unless `--limit` says otherwise: where a row would take minutes, or cannot fit
 * (tfjs-wasm's heap is 4 GiB, so the plain composition's `[h, n, n]` tensor stops at 8192 there;
 * on webgpu it is kept in so the 2 GiB binding failure shows in the table).
 */
export function defaultLimit(name: string, backend: string, largestN: number, heads = 4): number {
  const gpu = backend === 'webgpu';
  if (name === 'tfjs-plain') return gpu ? largestPlainGpuN(heads, largestN) : backend === 'cpu' ? 1024 : 4096;
  if (name === 'numpy' || name === 'onnxruntime') return 16384;
  if (name === 'torch-naive') return 16384;
  if (name === 'exact') return gpu ? largestN : backend === 'cpu' ? 4096 : 16384;
  return largestN;
}

/** Largest power of two n whose `[h, n, n]` float32 score tensor fits one 2 GiB WebGPU binding. */
export function largestPlainGpuN(heads: number, largestN: number): number {
  let n = 1;
  while (n * 2 <= largestN && heads * (n * 2) ** 2 * 4 < 2 ** 31) n *= 2;
  return n;
}

/** Why a row stops where `defaultLimit` puts it. */
function limitReason(name: string, backend: string): string | undefined {
  if (name === 'tfjs-plain') return backend === 'webgpu' ? 'its [h, n, n] score tensor would exceed WebGPU\'s 2 GiB storage-binding limit' : 'its [h, n, n] score tensor and time grow as n²; tfjs-wasm\'s heap is 4 GiB';
  if (name === 'numpy' || name === 'onnxruntime' || name === 'torch-naive') return 'materialises [h, n, n]';
  if (name === 'exact') return 'time';
  return undefined;
}

export interface ContenderSettings {
  readonly backend: string;
  /** Operator names; default every registered operator (exact first). */
  readonly operators?: readonly string[];
  readonly peers: readonly PeerName[];
  readonly heads: number;
  readonly dim: number;
  readonly seed: number;
  /** Threads of the peers that take a thread count (numpy/OpenBLAS, onnxruntime). */
  readonly threads: number;
  readonly largestN: number;
  readonly limits: Readonly<Record<string, number>>;
  readonly python?: string;
  /** On webgpu, also time every other operator tested there with its WGSL programs turned off. */
  readonly tfjsOpsRows?: boolean;
}

export interface BenchLineup {
  readonly contenders: Contender[];
  readonly unavailable: Array<{ name: string; reason: string }>;
  close(): Promise<void>;
}

/**
 * Builds the rows of a run: the registry's operators (whatever is installed; missing plugins are
 * simply absent) and the requested peers; a peer that cannot run here is listed with the reason.
 *
 * @example const lineup = await createBenchLineup(registry, { backend: 'wasm', peers: defaultPeers('wasm'), ... });
 */
export async function createBenchLineup(registry: OperatorRegistry, s: ContenderSettings): Promise<BenchLineup> {
  const limit = (name: string) => s.limits[name] ?? defaultLimit(name, s.backend, s.largestN, s.heads);
  const withReason = (c: Contender): Contender => (s.limits[c.name] !== undefined ? { ...c, limitReason: '--limit' } : { ...c, limitReason: limitReason(c.name, s.backend) });
  const contenders: Contender[] = [];
  const unavailable: Array<{ name: string; reason: string }> = [];
  const names = s.operators?.length ? [...s.operators] : registry.list().map((r) => r.meta.name);
  for (const name of names) registry.get(name); // unknown names fail with the registry's message
  const ordered = names.includes('exact') ? ['exact', ...names.filter((n) => n !== 'exact')] : names;
  for (const name of ordered) contenders.push(operatorContender(registry, name, { maxN: limit(name), seed: s.seed }));
  if (s.tfjsOpsRows && s.backend === 'webgpu') {
    for (const name of ordered.filter((n) => n !== 'exact' && registry.get(n).capabilities.testedBackends?.includes('webgpu'))) {
      contenders.push(operatorContender(registry, name, { maxN: limit(name), seed: s.seed, tfjsOpsOnly: true }));
    }
  }

  const python: { proc: PythonPeerProcess | null } = { proc: null };
  for (const peer of s.peers) {
    if (peer === 'tfjs-plain') contenders.push(plainTfjsPeer(limit(peer)));
    else if (peer === 'onnxruntime') {
      const ort = loadOnnxRuntime();
      if (typeof ort === 'string') unavailable.push({ name: peer, reason: ort });
      else contenders.push(await onnxruntimePeer(ort, { heads: s.heads, dim: s.dim, threads: s.threads, maxN: limit(peer) }));
    } else {
      if (!python.proc) {
        const started = PythonPeerProcess.start({ python: s.python, threads: s.threads, torch: peer.startsWith('torch') || s.peers.some((p) => p.startsWith('torch')) });
        if (typeof started === 'string') {
          unavailable.push({ name: peer, reason: started });
          continue;
        }
        python.proc = started;
      }
      const info = await python.proc.request({ op: 'info' });
      if (peer.startsWith('torch') && (info.torch === undefined || info.cuda !== true)) {
        unavailable.push({ name: peer, reason: info.torch_error ? String(info.torch_error) : 'PyTorch with CUDA is not available here' });
        continue;
      }
      contenders.push(pythonPeer(python.proc, peer as PythonVariant, limit(peer), info));
    }
  }
  return {
    contenders: contenders.map(withReason),
    unavailable,
    async close() {
      for (const c of contenders) await c.dispose();
      await python.proc?.close();
    },
  };
}

/** Describes where the run happens with the kernels of `kernels` (the session's). `device` overrides the CPU model (e.g. the GPU's name). */
export function benchEnvironment(kernels: KernelContext, device?: string, threads?: number): BenchEnvironment {
  const cpus = os.cpus();
  const cpu = cpus[0]?.model?.trim() || 'unknown CPU';
  const backend = tf.getBackend();
  return {
    backend,
    device: device ?? (backend === 'webgpu' ? 'a WebGPU adapter' : cpu),
    cpu,
    cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    node: process.version,
    tfjs: tf.version_core,
    platform: `${os.platform()} ${os.arch()}`,
    date: new Date().toISOString().slice(0, 10),
    notes: threadNotes(kernels, backend, threads),
    loadAverage: Math.round(os.loadavg()[0] * 100) / 100,
  };
}

function threadNotes(kernels: KernelContext, backend: string, threads?: number): string[] {
  const notes: string[] = [];
  if (backend === 'wasm' || backend === 'cpu') {
    const info = fusedAttentionInfo(kernels);
    notes.push(
      info.supported
        ? `Our exact operator runs the fused WebAssembly SIMD kernel of @swapformer/core on ${info.threads} thread(s) (the calling thread plus worker threads over one shared memory), ${info.fma ? 'with' : 'without'} relaxed-SIMD multiply-add (${info.fma ? 'this engine has it' : 'Node 20 has no relaxed SIMD by default; Node ≥ 22 does'}). So do the heavy parts of the approximations: Performer's three feature-map passes, KDEformer's blocks and samples, Thinformer's final attention, and Thinformer's bucket Grams on core's kernel pool (the same thread count).`
        : 'WebAssembly SIMD is not available: our exact operator runs the tfjs-op kernels.',
    );
  }
  if (backend === 'webgpu') {
    notes.push(
      kernels.webGpuFusedAttention
        ? 'Exact attention on webgpu runs the flash-attention WGSL program of @swapformer/kernels (register tiles, online softmax, no [n, n] tensor; the default, kernel setting webGpuFusedAttention; SWAPFORMER_WEBGPU_FUSED=0 turns it off).'
        : 'Exact attention on webgpu runs tfjs ops in row blocks of at most 512 MiB (batched matMul → softmax → matMul), so no tensor exceeds the 2 GiB binding limit.',
    );
  }
  if (backend === 'webgpu') notes.push(`On webgpu a call that takes under ${PIPELINE_BELOW_MS} ms alone is timed as enough calls to fill ${PIPELINE_WINDOW_MS} ms (2 to ${MAX_PIPELINED_CALLS}) queued back to back with one synchronization at the end, and averaged — as the PyTorch peers time short CUDA calls; alone, each call would also pay the host round trip of learning that it finished (in the H100 table timed call by call, every tfjs row had a floor of ≈ 3 ms).`);
  if (backend === 'wasm') notes.push('tfjs-wasm itself runs single-threaded in Node (its multi-threaded build is browser-only), so tfjs-plain, TOST, LevAttention and what remains on tfjs ops in the other approximations use one core.');
  if (threads !== undefined) notes.push(`numpy (OPENBLAS_NUM_THREADS) and onnxruntime (intra-op threads) are set to ${threads} thread(s).`);
  return notes;
}

export type { BenchReport };
