/**
 * `pairDifferenceGrams` on the WebAssembly SIMD kernel of pairGramKernel.ts: the same G for
 * every bucket of a range of slices, written straight into kernel memory (no tensors, no
 * per-bucket readback). Single-threaded; the module is built once per process.
 */
import { assembleModule, webAssemblyApi, type WasmMemory } from '@swapformer/core';
import { buildPairGram, PAIR_GRAM_PARAMS, pairGramScratchBytes } from './pairGramKernel';
import type { ThinnedPairs } from './pairDifferenceGrams';

const PAGE = 65536;

interface Engine {
  readonly memory: WasmMemory;
  readonly pairGram: (...args: number[]) => void;
}

let engine: Engine | null | undefined;

function getEngine(): Engine | null {
  if (engine !== undefined) return engine;
  const wasm = webAssemblyApi();
  try {
    if (!wasm) throw new Error('no WebAssembly');
    const bytes = assembleModule([{ name: 'pairGram', params: PAIR_GRAM_PARAMS, results: [], body: buildPairGram() }], { minPages: 1 });
    const memory = new wasm.Memory({ initial: 16 });
    const instance = new wasm.Instance(new wasm.Module(bytes), { env: { memory } });
    engine = { memory, pairGram: instance.exports.pairGram as Engine['pairGram'] };
  } catch {
    engine = null; // no WebAssembly SIMD here: callers use the tfjs form
  }
  return engine;
}

/** True when the WebAssembly kernel can run here (WebAssembly with SIMD). */
export function wasmPairGramSupported(): boolean {
  return getEngine() !== null;
}

const ceil = (x: number, m: number) => Math.ceil(x / m) * m;

/** The pairs whose rows kernel memory holds (rows of every thinned point, loaded once per coreset). */
let loaded: ThinnedPairs | null = null;

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
 * @example const gram = wasmPairDifferenceGrams(pairs, points, 8, 4); // as pairDifferenceGrams
 */
export function wasmPairDifferenceGrams(pairs: ThinnedPairs, points: Int32Array, m: number, bucketSize: number, sliceFrom = 0, sliceTo = pairs.slices): Float32Array {
  const e = getEngine();
  if (!e) throw new Error('wasmPairDifferenceGrams: WebAssembly SIMD is not available here');
  const { slices, n, dk, dv } = pairs;
  const S = bucketSize;
  const M = S / 2;
  const buckets = m / S;
  const dK = ceil(dk + 1, 4);
  const dV = ceil(dv + 1, 4);
  const sPad = ceil(S, 8);
  // layout (bytes, 64-aligned): kRows | vRows (every point of every slice) | index | kPan | vPan | scratch | G
  const vRows = slices * n * dK * 4;
  const index = ceil(vRows + slices * n * dV * 4, 64);
  const kPan = ceil(index + S * 4, 64);
  const vPan = ceil(kPan + sPad * dK * 4, 64);
  const scratch = ceil(vPan + sPad * dV * 4, 64);
  const gBase = ceil(scratch + pairGramScratchBytes(dK, dV), 64);
  const gFloats = (sliceTo - sliceFrom) * buckets * M * M;
  const end = gBase + gFloats * 4;
  const have = e.memory.buffer.byteLength;
  if (end > have) e.memory.grow(Math.ceil((end - have) / PAGE));
  const mem = new Float32Array(e.memory.buffer);
  if (loaded !== pairs) {
    loadRows(mem, pairs, dK, dV);
    loaded = pairs;
  }
  mem.fill(0, index >> 2, end >> 2); // padding panels read as 0; G entries no tile reaches stay 0
  const idx = new Int32Array(e.memory.buffer, index, S);
  for (let slice = sliceFrom; slice < sliceTo; slice++) {
    for (let t = 0; t < buckets; t++) {
      idx.set(points.subarray(slice * m + t * S, slice * m + (t + 1) * S));
      const gOut = gBase + ((slice - sliceFrom) * buckets + t) * M * M * 4;
      e.pairGram(slice * n * dK * 4, vRows + slice * n * dV * 4, S, dK, dV, kPan, vPan, dk, -pairs.shift[slice], gOut, M, scratch, index);
    }
  }
  return new Float32Array(e.memory.buffer, gBase, gFloats).slice();
}
