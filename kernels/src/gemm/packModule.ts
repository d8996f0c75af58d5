/**
 * Operand packing for the GEMM (gemmModule.ts) as a WebAssembly kernel, so it runs on the
 * kernel pool's threads next to the product: packing in JS cost ~10 ns per element (strided
 * reads, typed-array bounds checks), as much as the product itself for a forward over 64 tokens.
 *
 * One call packs panels [panelStart, panelEnd) of one operand into [panels][kPad][width]:
 *   dst[p][t][j] = src[(p·width + j)·strideJ + t·strideT]   for p·width + j < limit and t < k, else 0.
 * The same form covers every layout (strides in floats):
 *   A [m, k] → strideJ = k, strideT = 1;   A stored [k, m] (transposed) → strideJ = 1, strideT = m;
 *   B [k, n] → strideJ = 1, strideT = n;   B stored [n, k] (transposed) → strideJ = k, strideT = 1.
 * A full 8-wide panel with strideJ = 1 (B as stored by a linear layer) copies two f32x4 per step.
 */
import { emitForLoop } from '../wasm/simdEmitters';
import { FunctionBody, I32, type ValType } from '../wasm/wasmAssembler';

/** Parameter indices of `packPanels`. */
export const PACK = { src: 0, dst: 1, strideJ: 2, strideT: 3, limit: 4, k: 5, kPad: 6, panelStart: 7, panelEnd: 8, width: 9 } as const;
export const PACK_PARAMS: readonly ValType[] = Array.from({ length: 10 }, () => I32);

const P = PACK;

export function buildPackPanels(): FunctionBody {
  const f = new FunctionBody(PACK_PARAMS.length);
  const i32 = () => f.local(I32);
  const p = i32(), t = i32(), j = i32(), d = i32(), s = i32(), idx = i32(), tBytes = i32();
  f.get(P.strideT).i32(4).i32Mul().set(tBytes);
  emitForLoop(f, p, () => f.get(P.panelStart), P.panelEnd, 1, () => {
    // d = dst + p·kPad·width·4; idx = first logical row/column of the panel
    f.get(p).get(P.kPad).i32Mul().get(P.width).i32Mul().i32(4).i32Mul().get(P.dst).i32Add().set(d);
    f.get(p).get(P.width).i32Mul().set(idx);
    f.get(P.width).i32(8).i32Sub().i32Eqz().get(P.strideJ).i32(1).i32Sub().i32Eqz().i32And();
    f.get(idx).i32(8).i32Add().get(P.limit).i32LeS().i32And().if();
    // fast path: 8 contiguous source floats per t
    f.get(idx).i32(4).i32Mul().get(P.src).i32Add().set(s);
    emitForLoop(f, t, () => f.i32(0), P.k, 1, () => {
      f.get(d).get(s).v128Load(0).v128Store(0);
      f.get(d).get(s).v128Load(16).v128Store(16);
      f.get(d).i32(32).i32Add().set(d);
      f.get(s).get(tBytes).i32Add().set(s);
    });
    f.else();
    emitForLoop(f, t, () => f.i32(0), P.k, 1, () => {
      // s = src + (idx·strideJ + t·strideT)·4
      f.get(idx).get(P.strideJ).i32Mul().get(t).get(P.strideT).i32Mul().i32Add().i32(4).i32Mul().get(P.src).i32Add().set(s);
      emitForLoop(f, j, () => f.i32(0), P.width, 1, () => {
        f.get(idx).get(j).i32Add().get(P.limit).i32LtS().if();
        f.get(d).get(s).f32Load(0).f32Store(0);
        f.else();
        f.get(d).f32(0).f32Store(0);
        f.end();
        f.get(d).i32(4).i32Add().set(d);
        f.get(s).get(P.strideJ).i32(4).i32Mul().i32Add().set(s);
      });
    });
    f.end();
    // k padding: (kPad − k)·width zeros
    f.get(P.kPad).get(P.k).i32Sub().get(P.width).i32Mul().i32(4).i32Mul().get(d).i32Add().set(s);
    emitForLoop(f, d, () => f.get(d), s, 4, () => f.get(d).f32(0).f32Store(0));
  });
  return f;
}
