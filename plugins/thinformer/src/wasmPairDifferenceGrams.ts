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

/**
 * Pair-difference Gram matrices of every bucket of slices [sliceFrom, sliceTo) for one halving
 * round, as [slices, buckets, M, M] with the upper triangle j ≥ i filled (the lower triangle of
 * the tiles that reach it is filled too, with the same values G_ji).
 *
 * @example const gram = wasmPairDifferenceGrams(pairs, points, 8, 4); // as pairDifferenceGrams
 */
export function wasmPairDifferenceGrams(pairs: ThinnedPairs, points: Int32Array, m: number, bucketSize: number, sliceFrom = 0, sliceTo = pairs.slices): Float32Array {
  const e = getEngine();
  if (!e) throw new Error('wasmPairDifferenceGrams: WebAssembly SIMD is not available here');
  const { n, dk, dv, keys, values } = pairs;
  const S = bucketSize;
  const M = S / 2;
  const buckets = m / S;
  const dK = ceil(dk + 1, 4);
  const dV = ceil(dv + 1, 4);
  const sPad = ceil(S, 8);
  // layout (bytes, 64-aligned): kRows | vRows | kPan | vPan | scratch | G
  const kRows = 0;
  const vRows = ceil(kRows + S * dK * 4, 64);
  const kPan = ceil(vRows + S * dV * 4, 64);
  const vPan = ceil(kPan + sPad * dK * 4, 64);
  const scratch = ceil(vPan + sPad * dV * 4, 64);
  const gBase = ceil(scratch + pairGramScratchBytes(dK, dV), 64);
  const gFloats = (sliceTo - sliceFrom) * buckets * M * M;
  const end = gBase + gFloats * 4;
  const have = e.memory.buffer.byteLength;
  if (end > have) e.memory.grow(Math.ceil((end - have) / PAGE));
  const mem = new Float32Array(e.memory.buffer);
  mem.fill(0, 0, end >> 2); // row padding coordinates and padding panels read as 0; G entries no tile reaches stay 0
  for (let slice = sliceFrom; slice < sliceTo; slice++) {
    const beta = pairs.beta[slice];
    for (let t = 0; t < buckets; t++) {
      for (let p = 0; p < S; p++) {
        const point = slice * n + points[slice * m + t * S + p];
        const kTo = (kRows >> 2) + p * dK;
        for (let c = 0; c < dk; c++) mem[kTo + c] = keys[point * dk + c];
        mem[kTo + dk] = 1;
        const vTo = (vRows >> 2) + p * dV;
        for (let c = 0; c < dv; c++) mem[vTo + c] = values[point * dv + c];
        mem[vTo + dv] = beta;
      }
      const gOut = gBase + ((slice - sliceFrom) * buckets + t) * M * M * 4;
      e.pairGram(kRows, vRows, S, dK, dV, kPan, vPan, dk, -pairs.shift[slice], gOut, M, scratch);
    }
  }
  return new Float32Array(e.memory.buffer, gBase, gFloats).slice();
}
