/**
 * The sign codes of angular LSH (bit t = [x·w_t > 0]) as a WebAssembly SIMD kernel emitted with
 * core's assembler: float32 dot products, four lanes summed in a fixed order, so the codes are
 * the same on every engine and backend. JS float64 loops spent ~60 ms per 16k rows × 7 planes;
 * this takes a few. Single-threaded; the module is built once per process.
 */
import type { KernelContext } from '@swapformer/core';
import { createKernelModule, emitForLoop, F32, FunctionBody, I32, V128, type KernelModule } from '@swapformer/kernels';

/** Parameter indices of `signCodes`. */
const P = { rows: 0, count: 1, dPad: 2, planes: 3, r: 4, codes: 5 } as const;

/** `codes[i] = Σ_t [rows_i·planes_t > 0]·2^t` for `count` rows of `dPad` floats (dPad a multiple of 4). */
function buildSignCodes(): FunctionBody {
  const f = new FunctionBody(6);
  const i = f.local(I32), t = f.local(I32), c = f.local(I32), row = f.local(I32), plane = f.local(I32), code = f.local(I32), bytes = f.local(I32);
  const acc = f.local(V128);
  const dot = f.local(F32);
  f.get(P.dPad).i32(4).i32Mul().set(bytes);
  emitForLoop(f, i, () => f.i32(0), P.count, 1, () => {
    f.get(i).get(bytes).i32Mul().get(P.rows).i32Add().set(row);
    f.i32(0).set(code);
    emitForLoop(f, t, () => f.i32(0), P.r, 1, () => {
      f.get(t).get(bytes).i32Mul().get(P.planes).i32Add().set(plane);
      f.f32x4Const(0).set(acc);
      emitForLoop(f, c, () => f.i32(0), bytes, 16, () => {
        f.get(acc).get(row).get(c).i32Add().v128Load().get(plane).get(c).i32Add().v128Load().f32x4Mul().f32x4Add().set(acc);
      });
      f.get(acc).f32x4ExtractLane(0).get(acc).f32x4ExtractLane(1).f32Add().get(acc).f32x4ExtractLane(2).f32Add().get(acc).f32x4ExtractLane(3).f32Add().set(dot);
      f.get(code).get(dot).f32(0).f32Gt().get(t).i32Shl().i32Add().set(code);
    });
    f.get(P.codes).get(i).i32(4).i32Mul().i32Add().get(code).i32Store();
  });
  return f;
}

const SIGN_CODES = Symbol('swapformer.kdeformer.signCodes');

/** The compiled kernel, kept in the context's kernel resources (one per container; null without WebAssembly SIMD). */
function getKernel(kernels: KernelContext): KernelModule | null {
  return kernels.resources.obtain(SIGN_CODES, () => createKernelModule({ name: 'signCodes', params: [I32, I32, I32, I32, I32, I32], results: [], body: buildSignCodes() }, 1));
}

/** True when the WebAssembly kernel can run here (WebAssembly with SIMD). */
export function wasmBucketCodesSupported(kernels: KernelContext): boolean {
  return getKernel(kernels) !== null;
}

const ceil = (x: number, m: number) => Math.ceil(x / m) * m;

/**
 * Sign codes of `rows` consecutive rows of `data` (row-major, `dk` columns, from `offset`)
 * against `r` planes (`[r, dk]`, rounded to float32).
 *
 * @example const codes = wasmSignCodes(kernels, kData, 0, nk, 64, planes, 7); // Int32Array of values in [0, 128)
 */
export function wasmSignCodes(kernels: KernelContext, data: Float32Array, offset: number, rows: number, dk: number, planes: Float64Array, r: number): Int32Array {
  const e = getKernel(kernels);
  if (!e) throw new Error('wasmSignCodes: WebAssembly SIMD is not available here');
  const dPad = ceil(dk, 4);
  const planesOff = 0;
  const rowsOff = ceil(r * dPad * 4, 64);
  const codesOff = ceil(rowsOff + rows * dPad * 4, 64);
  const end = codesOff + rows * 4;
  e.reserve(end);
  const mem = new Float32Array(e.memory.buffer);
  for (let t = 0; t < r; t++) {
    for (let c = 0; c < dPad; c++) mem[(planesOff >> 2) + t * dPad + c] = c < dk ? planes[t * dk + c] : 0;
  }
  if (dPad === dk) mem.set(data.subarray(offset, offset + rows * dk), rowsOff >> 2);
  else {
    mem.fill(0, rowsOff >> 2, codesOff >> 2);
    for (let i = 0; i < rows; i++) mem.set(data.subarray(offset + i * dk, offset + (i + 1) * dk), (rowsOff >> 2) + i * dPad);
  }
  e.pool.call(rowsOff, rows, dPad, planesOff, r, codesOff);
  return new Int32Array(e.memory.buffer, codesOff, rows).slice();
}
