/**
 * `pairDifferenceGrams` on the WebAssembly SIMD kernel of pairGramKernel.ts: the same G for
 * every bucket of a range of slices, written straight into kernel memory (no tensors, no
 * per-bucket readback). Buckets are independent tasks, run on core's kernel pool (worker
 * threads over shared memory, as many as the attention kernel uses); G does not depend on the
 * thread count. The module is built once per kernel context (container), with its thread count.
 */
import type { KernelContext } from '@swapformer/core';
import { createKernelModule, type KernelModule } from '@swapformer/kernels';
import { buildPairGram, PAIR_GRAM, PAIR_GRAM_PARAMS, pairGramScratchBytes } from './pairGramKernel';
import type { ThinnedPairs } from './pairDifferenceGrams';

/** The compiled kernel of one context and the pairs whose rows its memory holds. */
interface PairGramRuntime {
  readonly kernel: KernelModule | null;
  /** Rows of every thinned point are loaded once per coreset; weak, so the pairs can be collected. */
  loaded: WeakRef<ThinnedPairs> | null;
}

const PAIR_GRAM_RUNTIME = Symbol('swapformer.thinformer.pairGram');

function runtimeOf(kernels: KernelContext): PairGramRuntime {
  // shared memory where the engine has it, so the buckets run on worker threads too
  return kernels.resources.obtain<PairGramRuntime>(PAIR_GRAM_RUNTIME, () => ({
    kernel: createKernelModule({ name: 'pairGram', params: PAIR_GRAM_PARAMS, results: [], body: buildPairGram() }, kernels.threads),
    loaded: null,
  }));
}

/** True when the WebAssembly kernel can run here (WebAssembly with SIMD). */
export function wasmPairGramSupported(kernels: KernelContext): boolean {
  return runtimeOf(kernels).kernel !== null;
}

const ceil = (x: number, m: number) => Math.ceil(x / m) * m;

/** Writes rows [k̃, 1, 0…] `[slices, n, dK]` at byte 0 and [v, β, 0…] `[slices, n, dV]` after them. */
function loadRows(mem: Float32Array, pairs: ThinnedPairs, dK: number, dV: number): void {
  const { slices, n, dk, dv, keys, values } = pairs;
  const vBase = slices * n * dK;
  mem.fill(0, 0, vBase + slices * n * dV);
  for (let s = 0; s < slices; s++) {
    for (let j = 0; j < n; j++) {
      const point = s * n + j;
      for (let c = 0; c < dk; c++) mem[point * dK + c] = keys[point * dk + c];
      mem[point * dK + dk] = 1;
      for (let c = 0; c < dv; c++) mem[vBase + point * dV + c] = values[point * dv + c];
      mem[vBase + point * dV + dv] = pairs.beta[s];
    }
  }
}

/**
 * Pair-difference Gram matrices of every bucket of slices [sliceFrom, sliceTo) for one halving
 * round, as [slices, buckets, M, M] with the upper triangle j ≥ i filled (the lower triangle of
 * the tiles that reach it is filled too, with the same values G_ji; the rest is 0).
 *
 * @example const gram = wasmPairDifferenceGrams(kernels, pairs, points, 8, 4); // as pairDifferenceGrams
 */
export function wasmPairDifferenceGrams(kernels: KernelContext, pairs: ThinnedPairs, points: Int32Array, m: number, bucketSize: number, sliceFrom = 0, sliceTo = pairs.slices): Float32Array {
  const runtime = runtimeOf(kernels);
  const e = runtime.kernel;
  if (!e) throw new Error('wasmPairDifferenceGrams: WebAssembly SIMD is not available here');
  const { slices, n, dk, dv } = pairs;
  const S = bucketSize;
  const M = S / 2;
  const buckets = m / S;
  const dK = ceil(dk + 1, 4);
  const dV = ceil(dv + 1, 4);
  const sPad = ceil(S, 8);
  const tasks = (sliceTo - sliceFrom) * buckets;
  // layout (bytes, 64-aligned): kRows | vRows (every point of every slice) | points | per-thread
  // kPan, vPan, scratch | G | one argument row per bucket
  const vRows = slices * n * dK * 4;
  const index = ceil(vRows + slices * n * dV * 4, 64);
  const kPan = ceil(index + slices * m * 4, 64);
  const vPan = kPan + sPad * dK * 4;
  const scratch = vPan + sPad * dV * 4;
  const slotStride = ceil(scratch + pairGramScratchBytes(dK, dV) - kPan, 64);
  const gBase = kPan + e.pool.size * slotStride;
  const gFloats = (sliceTo - sliceFrom) * buckets * M * M;
  const table = ceil(gBase + gFloats * 4, 64);
  const end = table + tasks * PAIR_GRAM_PARAMS.length * 8;
  e.reserve(end);
  const mem = new Float32Array(e.memory.buffer);
  if (runtime.loaded?.deref() !== pairs) {
    loadRows(mem, pairs, dK, dV);
    runtime.loaded = new WeakRef(pairs);
  }
  new Int32Array(e.memory.buffer, index, slices * m).set(points.subarray(sliceFrom * m, sliceTo * m), sliceFrom * m); // this group's points
  mem.fill(0, kPan >> 2, table >> 2); // padding panels read as 0; G entries no tile reaches stay 0
  const args = new Float64Array(e.memory.buffer, table, tasks * PAIR_GRAM_PARAMS.length);
  for (let slice = sliceFrom, task = 0; slice < sliceTo; slice++) {
    for (let t = 0; t < buckets; t++, task++) {
      const gOut = gBase + task * M * M * 4;
      const points0 = index + (slice * m + t * S) * 4;
      args.set([slice * n * dK * 4, vRows + slice * n * dV * 4, S, dK, dV, kPan, vPan, dk, -pairs.shift[slice], gOut, M, scratch, points0], task * PAIR_GRAM_PARAMS.length);
    }
  }
  e.pool.run({ tableOffset: table, tasks, argc: PAIR_GRAM_PARAMS.length, slotArgs: [PAIR_GRAM.kPan, PAIR_GRAM.vPan, PAIR_GRAM.scratch], slotStride });
  return new Float32Array(e.memory.buffer, gBase, gFloats).slice();
}
