import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import type { KernelContext } from '@swapformer/core';
import { MASKED_LOGIT } from '../attentionBias';
import { isGpuBackend } from '../gpuBackend';
import { createKernelPool, type KernelPool } from './kernelThreads';
import { ATTEND_PARAMS, ATTEND_SCRATCH_PARAM, fusedAttentionModuleBytes, PAD_LOGIT, ROW_TILE, scratchBytes } from './fusedAttentionModule';
import { webAssemblyApi, type WasmMemory, type WasmModule } from './webAssemblyApi';

/**
 * Exact softmax attention on the CPU through the fused WebAssembly SIMD kernel
 * (fusedAttentionModule.ts), optionally on worker threads.
 *
 * Shapes: q [b, h, nq, dk], k [b, h, nk, dk], v [b, h, nk, dv] → [b, h, nq, dv].
 * Inputs are copied once into the kernel's memory (q pre-scaled, k transposed to [dk, nk],
 * keys padded to a multiple of 8 and values to a multiple of 8 columns); that is O(n·d), next
 * to the O(n²·d) work. Every entry point takes the caller's `KernelContext` first: its `threads`
 * size the worker pool, and its resources hold the compiled module, memory and pool.
 */

const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB: the wasm32 limit

interface Engine {
  readonly memory: WasmMemory;
  /** Runs tasks on the calling thread only (calls too small for threads). */
  readonly local: KernelPool;
  /** packPanels (packModule.ts) on the calling thread: keys and values into `attend`'s panels. */
  readonly pack: KernelPool;
  readonly module: WasmModule;
  /** True when the module uses relaxed-SIMD multiply-add. */
  readonly fma: boolean;
  pool: KernelPool | null;
  poolSize: number;
}

/** Largest working set (bytes of kernel memory) of a call since the last `resetFusedAttentionPeakBytes`. */
interface PeakBytes {
  bytes: number;
}

// keys of what this file keeps in a container's kernel resources (one engine and counter per container)
const ENGINE = Symbol('swapformer.kernels.fusedAttentionEngine');
const PEAK = Symbol('swapformer.kernels.fusedAttentionPeakBytes');

const peakOf = (kernels: KernelContext): PeakBytes => kernels.resources.obtain<PeakBytes>(PEAK, () => ({ bytes: 0 }));

/**
 * Peak bytes of the fused kernel's own memory (inputs, outputs, per-thread tiles) of this
 * context's calls since the last reset: memory tfjs does not see, for benchmarks that report a
 * call's footprint.
 *
 * @example resetFusedAttentionPeakBytes(kernels); op.forward(q, k, v, ctx); console.log(fusedAttentionPeakBytes(kernels));
 */
export function fusedAttentionPeakBytes(kernels: KernelContext): number {
  return peakOf(kernels).bytes;
}

/** Starts a new peak measurement for `fusedAttentionPeakBytes`. */
export function resetFusedAttentionPeakBytes(kernels: KernelContext): void {
  peakOf(kernels).bytes = 0;
}

/** Threads the fused kernel of this context uses now (after its first large call; 1 before). */
export function attentionThreads(kernels: KernelContext): number {
  const e = getEngine(kernels);
  return kernels.threads > 1 && e?.pool ? e.pool.size : 1;
}

function createEngine(): Engine | null {
  const wasm = webAssemblyApi();
  if (!wasm) return null;
  const shared = typeof SharedArrayBuffer !== 'undefined';
  try {
    // relaxed-SIMD multiply-add where the engine validates it (Node ≥ 22; ~15% faster), else mul + add
    const fmaBytes = fusedAttentionModuleBytes({ shared, maxPages: MAX_PAGES }, true);
    const fma = wasm.validate(fmaBytes);
    const module = new wasm.Module(fma ? fmaBytes : fusedAttentionModuleBytes({ shared, maxPages: MAX_PAGES }, false));
    const memory = new wasm.Memory(shared ? { initial: 16, maximum: MAX_PAGES, shared: true } : { initial: 16 });
    return { memory, module, fma, local: createKernelPool(module, memory, 'attend', 0), pack: createKernelPool(module, memory, 'packPanels', 0), pool: null, poolSize: 1 };
  } catch {
    return null; // no SIMD (old engines): callers use the tfjs-op kernels
  }
}

/** The context's engine: compiled on its first use, then kept in the context's resources. */
function getEngine(kernels: KernelContext): Engine | null {
  return kernels.resources.obtain(ENGINE, createEngine);
}

/** How the fused kernel runs with this context: threads (after its first large call) and whether it uses fused multiply-add. */
export function fusedAttentionInfo(kernels: KernelContext): { readonly supported: boolean; readonly threads: number; readonly fma: boolean } {
  const e = getEngine(kernels);
  return { supported: e !== null, threads: attentionThreads(kernels), fma: e?.fma ?? false };
}

/** True when the fused kernel can run here (WebAssembly with SIMD). */
export function fusedAttentionSupported(kernels: KernelContext): boolean {
  return getEngine(kernels) !== null;
}

/**
 * True when a call on these tensors may take the fused CPU kernel instead of tfjs ops: the wasm
 * or cpu backend, float32 tensors, no gradient tape recording (the kernel has no gradient), and
 * WebAssembly SIMD here.
 *
 * @example if (fusedKernelApplies(kernels, q, k, v)) return fusedSoftmaxAttention(kernels, q, k, v);
 */
export function fusedKernelApplies(kernels: KernelContext, ...tensors: readonly tf.Tensor[]): boolean {
  if (isGpuBackend()) return false;
  if (tensors.some((t) => t.dtype !== 'float32')) return false;
  return !tf.engine().isTapeOn() && fusedAttentionSupported(kernels);
}

function ensurePool(e: Engine, threads: number): KernelPool | null {
  if (threads <= 1) return null;
  if (e.pool && e.poolSize === threads) return e.pool;
  if (e.poolSize === threads) return null; // tried before and got none
  e.poolSize = threads;
  const pool = createKernelPool(e.module, e.memory, 'attend', threads - 1);
  e.pool = pool.size > 1 ? pool : null;
  return e.pool;
}

const ceil = (x: number, m: number) => Math.ceil(x / m) * m;

export interface FusedAttentionOptions {
  readonly scale?: number;
  readonly causal?: boolean;
  /** `[b, nk]` values, 1 keep / 0 hide. */
  readonly mask?: ArrayLike<number>;
  /** `[b, nk]` added to every logit of key j (after the scale), e.g. a per-key log-weight. */
  readonly keyBias?: ArrayLike<number>;
  /** k `[nk, dk]` and v `[nk, dv]` are one set shared by every (b, h) slice (multi-query layout). */
  readonly sharedKeys?: boolean;
}

/** Sizes of a fused call: `[b, h, nq, dk]` queries, `[b, h, nk, dk]` keys, `[b, h, nk, dv]` values. */
export interface FusedAttentionDims {
  readonly b: number;
  readonly h: number;
  readonly nq: number;
  readonly nk: number;
  readonly dk: number;
  readonly dv: number;
}

/** `out` plus, per query row, the softmax statistics that undo its normalisation. */
export interface FusedAttentionWithStats {
  /** `[b, h, nq, dv]` softmax attention, as `fusedSoftmaxAttentionArrays` returns it. */
  readonly out: Float32Array;
  /** `[b, h, nq]` m_i: the largest visible logit s·q_i·k_j of the row. */
  readonly rowMax: Float32Array;
  /**
   * `[b, h, nq]` l_i = Σ_j exp(s·q_i·k_j − m_i) over visible keys, 0 for a row with none; so
   * `out_i · l_i` is the unnormalised sum Σ_j exp(s·q_i·k_j − m_i)·v_j.
   */
  readonly rowSum: Float32Array;
}

/**
 * The fused kernel on plain arrays: `[b, h, n, d]` row-major in, `[b, h, nq, dv]` out.
 *
 * @example const out = fusedSoftmaxAttentionArrays(kernels, q, k, v, { b: 1, h: 4, nq: 1024, nk: 1024, dk: 64, dv: 64 });
 */
export function fusedSoftmaxAttentionArrays(kernels: KernelContext, q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, dims: FusedAttentionDims, options: FusedAttentionOptions = {}): Float32Array {
  return runFusedAttention(kernels, q, k, v, dims, options, false).out;
}

/**
 * The fused kernel with each row's max and sum of exponentials, for methods that add more
 * terms to the softmax sums (KDEformer's residual) or use its unnormalised sums as a product
 * (Performer's feature maps): `out_i · rowSum_i · exp(rowMax_i − c)` is Σ_j exp(s·q_i·k_j − c)·v_j.
 *
 * @example const { out, rowMax, rowSum } = fusedSoftmaxAttentionWithStats(kernels, q, k, v, dims, { scale: 1 });
 */
export function fusedSoftmaxAttentionWithStats(kernels: KernelContext, q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, dims: FusedAttentionDims, options: FusedAttentionOptions = {}): FusedAttentionWithStats {
  const { out, stats } = runFusedAttention(kernels, q, k, v, dims, options, true);
  return { out, ...stats! };
}

/** mem[at …] = src[0 … length), a block copy for typed arrays. */
function copyInto(mem: Float32Array, src: ArrayLike<number>, length: number, at: number): void {
  if (src instanceof Float32Array) mem.set(src.subarray(0, length), at);
  else for (let i = 0; i < length; i++) mem[at + i] = src[i];
}

function runFusedAttention(
  kernels: KernelContext,
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  dims: FusedAttentionDims,
  options: FusedAttentionOptions,
  withStats: boolean,
): { out: Float32Array; stats: { rowMax: Float32Array; rowSum: Float32Array } | null } {
  const e = getEngine(kernels);
  if (!e) throw new Error('fusedSoftmaxAttentionArrays: WebAssembly SIMD is not available here');
  const { b, h, nq, nk, dk, dv } = dims;
  const slices = b * h;
  const nkPad = ceil(nk, 8);
  const dvPad = ceil(dv, 8);
  const dPad = ceil(dk, 4);
  const scale = options.scale ?? 1 / Math.sqrt(dk);
  const threads = kernels.threads;
  const work = slices * nq * nk * (dk + dvPad);
  const pool = work >= 1 << 22 ? ensurePool(e, threads) : null;
  const slots = pool ? pool.size : 1;

  // layout (bytes, 64-aligned): scratch per thread | q | k panels | v panels | bias | out
  const scratchStride = ceil(scratchBytes(dvPad, dPad), 64);
  const scratch = 1024;
  const qOff = ceil(scratch + slots * scratchStride, 64);
  const keySets = options.sharedKeys ? 1 : slices;
  const kOff = ceil(qOff + slices * nq * dk * 4, 64);
  const vOff = ceil(kOff + keySets * dPad * nkPad * 4, 64);
  const biasOff = ceil(vOff + keySets * nkPad * dvPad * 4, 64);
  const outOff = ceil(biasOff + b * nkPad * 4, 64);
  const statsOff = ceil(outOff + slices * nq * dvPad * 4, 64);
  const rowsPerTask = Math.max(ROW_TILE, Math.min(64, ceil(Math.ceil(nq / Math.max(1, Math.ceil((slots * 4) / slices))), ROW_TILE)));
  const tasksPerSlice = Math.ceil(nq / rowsPerTask);
  const tasks = slices * tasksPerSlice;
  const table = ceil(statsOff + (withStats ? slices * nq * 8 : 0), 64); // one row of `attend` arguments per task
  const kRaw = ceil(table + tasks * ATTEND_PARAMS * 8, 64); // keys and values as given, before packing
  const vRaw = ceil(kRaw + keySets * nk * dk * 4, 64);
  const end = vRaw + keySets * nk * dv * 4;
  if (end > MAX_PAGES * PAGE) throw new RangeError(`fusedSoftmaxAttentionArrays: ${end} bytes exceed the 4 GiB of wasm32 memory`);
  const peak = peakOf(kernels);
  peak.bytes = Math.max(peak.bytes, end - scratch);
  const have = e.memory.buffer.byteLength;
  if (end > have) e.memory.grow(Math.ceil((end - have) / PAGE));
  const mem = new Float32Array(e.memory.buffer);

  // q, pre-scaled: [S, nq, dk]
  const qBase = qOff >> 2;
  if (scale === 1 && q instanceof Float32Array) mem.set(q.subarray(0, slices * nq * dk), qBase);
  else for (let i = 0; i < slices * nq * dk; i++) mem[qBase + i] = q[i] * scale;
  // k panels [S, nkPad/8, dPad, 8] (dst[p][t][j] = k[p·8 + j][t]) and v panels [S, dvPad/8, nkPad, 8]
  // (dst[p][t][j] = v[t][p·8 + j]), packed by packPanels from the raw copies, which zero-fills the padding
  copyInto(mem, k, keySets * nk * dk, kRaw >> 2);
  copyInto(mem, v, keySets * nk * dv, vRaw >> 2);
  for (let sl = 0; sl < keySets; sl++) {
    e.pack.call(kRaw + sl * nk * dk * 4, kOff + sl * dPad * nkPad * 4, dk, 1, nk, dk, dPad, 0, nkPad / 8, 8);
    e.pack.call(vRaw + sl * nk * dv * 4, vOff + sl * nkPad * dvPad * 4, 1, dv, dv, nk, nkPad, 0, dvPad / 8, 8);
  }
  // bias: [b, nkPad]
  for (let bi = 0; bi < b; bi++) {
    const base = (biasOff >> 2) + bi * nkPad;
    for (let j = 0; j < nk; j++) mem[base + j] = (options.mask && !(options.mask[bi * nk + j] > 0.5) ? MASKED_LOGIT : 0) + (options.keyBias ? options.keyBias[bi * nk + j] : 0);
    mem.fill(PAD_LOGIT, base + nk, base + nkPad);
  }

  // task = (slice, block of query rows); arguments in the order of fusedAttentionModule's P
  const args = new Float64Array(e.memory.buffer, table, tasks * ATTEND_PARAMS);
  for (let t = 0; t < tasks; t++) {
    const slice = Math.floor(t / tasksPerSlice);
    const rowStart = (t % tasksPerSlice) * rowsPerTask;
    const keySet = options.sharedKeys ? 0 : slice;
    args.set(
      [
        qOff + slice * nq * dk * 4,
        kOff + keySet * dPad * nkPad * 4,
        vOff + keySet * nkPad * dvPad * 4,
        outOff + slice * nq * dvPad * 4,
        biasOff + Math.floor(slice / h) * nkPad * 4,
        nkPad,
        dk,
        dPad,
        dvPad,
        rowStart,
        Math.min(nq, rowStart + rowsPerTask),
        options.causal ? nk - nq : nkPad,
        scratch,
        MASKED_LOGIT / 2,
        withStats ? statsOff + slice * nq * 8 : 0,
      ],
      t * ATTEND_PARAMS,
    );
  }
  (pool ?? e.local).run({ tableOffset: table, tasks, argc: ATTEND_PARAMS, slotArgs: [ATTEND_SCRATCH_PARAM], slotStride: scratchStride });

  const out = new Float32Array(slices * nq * dv);
  const view = new Float32Array(e.memory.buffer);
  const outBase = outOff >> 2;
  if (dvPad === dv) out.set(view.subarray(outBase, outBase + out.length));
  else for (let r = 0; r < slices * nq; r++) for (let c = 0; c < dv; c++) out[r * dv + c] = view[outBase + r * dvPad + c];
  if (!withStats) return { out, stats: null };
  // the kernel writes (m, l) pairs per row: split them straight out of kernel memory
  const rowMax = new Float32Array(slices * nq);
  const rowSum = new Float32Array(slices * nq);
  for (let r = 0, at = statsOff >> 2; r < slices * nq; r++, at += 2) {
    rowMax[r] = view[at];
    rowSum[r] = view[at + 1];
  }
  return { out, stats: { rowMax, rowSum } };
}

/**
 * The fused kernel on tensors (any backend; data is read to the CPU). Not differentiable:
 * callers use it only when no gradient tape is recording.
 *
 * @example const out = fusedSoftmaxAttention(kernels, q, k, v, { causal: true });
 */
export function fusedSoftmaxAttention(kernels: KernelContext, q: Tensor4D, k: Tensor4D, v: Tensor4D, options: { readonly scale?: number; readonly causal?: boolean; readonly mask?: Tensor2D } = {}): Tensor4D {
  const [b, h, nq, dk] = q.shape;
  const nk = k.shape[2];
  const dv = v.shape[3];
  const mask = options.mask ? options.mask.dataSync() : undefined;
  const out = fusedSoftmaxAttentionArrays(kernels, hostValues(q), hostValues(k), hostValues(v), { b, h, nq, nk, dk, dv }, { scale: options.scale, causal: options.causal, mask });
  return tf.tensor4d(out, [b, h, nq, dv]);
}

/** The wasm backend's tfjs heap, as far as reading a tensor in place goes. */
interface HeapBackend {
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

/**
 * A float32 tensor's values: on tfjs-wasm a view of its heap (dataSync copies the whole tensor
 * first, every kv-cache at every decode step), valid until tfjs next allocates — the fused
 * kernel copies it into its own memory before that; elsewhere dataSync.
 */
function hostValues(t: tf.Tensor): Float32Array {
  const backend = tf.getBackend() === 'wasm' ? (tf.backend() as unknown as Partial<HeapBackend>) : null;
  if (backend && typeof backend.typedArrayFromHeap === 'function' && t.dtype === 'float32') return backend.typedArrayFromHeap(t);
  return t.dataSync() as Float32Array;
}
