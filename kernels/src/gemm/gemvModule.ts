/**
 * The f32 product for a few rows of A (decode steps: m = 1 to 3), emitted as WebAssembly SIMD,
 * with `gemmBlock`'s signature (gemmModule.ts) so the same task tables and epilogue serve both:
 *   C[rows, cols] = act(A·B + bias).
 *
 * Why not `gemmBlock`: its register tile is GEMM_MR = 6 rows, so one row of A would cost six
 * rows of multiply-adds. A product of one row is bound by reading B once (4·k·n bytes, 154 MB for
 * GPT-2's LM head), so this kernel streams each B column panel [kPad][NR] (packed as for the
 * GEMM) exactly once per row and keeps nothing else in flight. Two accumulator pairs (even and
 * odd k) halve the add-latency chain, so one core reads at memory speed.
 *
 * Layout: A as rows of kPad floats (zero-padded past k: packPanels with width 1); B as column
 * panels [nPad/NR][kPad][NR]; C dense [rows][ldc]. Columns [colStart, colEnd) are multiples of NR.
 */
import { emitForLoop } from '../wasm/simdEmitters';
import { FunctionBody, I32, V128 } from '../wasm/wasmAssembler';
import { GEMM, GEMM_NR, GEMM_PARAMS, multiplyAdd, prepareEpilogue } from './gemmModule';

const P = GEMM;

/** Body of `gemvBlock`; with `fma`, relaxed-SIMD multiply-add (engines without it reject the module). */
export function buildGemvBlock(fma: boolean): FunctionBody {
  const f = new FunctionBody(GEMM_PARAMS.length);
  const i32 = () => f.local(I32);
  const v128 = () => f.local(V128);
  const jc = i32(), ir = i32(), ap = i32(), bp = i32(), bEnd = i32(), panel = i32(), cp = i32();
  const acc = [v128(), v128(), v128(), v128()]; // [even k: cols 0–3, 4–7], [odd k: cols 0–3, 4–7]
  const b0 = v128(), b1 = v128(), s = v128();
  const epilogue = prepareEpilogue(f);
  const { kZero } = epilogue.locals;
  const madd = multiplyAdd(f, fma, s);

  emitForLoop(f, jc, () => f.get(P.colStart), P.colEnd, GEMM_NR, () => {
    // panel = b + jc·kPad·4 (panel jc/NR of kPad·NR floats); its end kPad·NR·4 bytes on
    f.get(jc).get(P.kPad).i32Mul().i32(4).i32Mul().get(P.b).i32Add().tee(panel);
    f.get(P.kPad).i32(GEMM_NR * 4).i32Mul().i32Add().set(bEnd);
    emitForLoop(f, ir, () => f.get(P.rowStart), P.rowEnd, 1, () => {
      f.get(ir).get(P.kPad).i32Mul().i32(4).i32Mul().get(P.a).i32Add().set(ap);
      f.get(panel).set(bp);
      for (const a of acc) f.get(kZero).set(a);
      f.block().loop();
      f.get(bp).get(bEnd).i32GeS().brIf(1);
      for (let u = 0; u < 4; u++) {
        f.get(bp).v128Load(u * GEMM_NR * 4).set(b0).get(bp).v128Load(u * GEMM_NR * 4 + 16).set(b1);
        f.get(ap).v128Load32Splat(u * 4).set(s);
        madd(acc[2 * (u & 1)], b0);
        madd(acc[2 * (u & 1) + 1], b1);
      }
      f.get(bp).i32(4 * GEMM_NR * 4).i32Add().set(bp);
      f.get(ap).i32(16).i32Add().set(ap);
      f.br(0).end().end();
      // cp = c + (ir·ldc + jc)·4
      f.get(ir).get(P.ldc).i32Mul().get(jc).i32Add().i32(4).i32Mul().get(P.c).i32Add().tee(cp);
      f.get(acc[0]).get(acc[2]).f32x4Add().v128Store(0);
      f.get(cp).get(acc[1]).get(acc[3]).f32x4Add().v128Store(16);
    });
  });

  epilogue.emit();
  return f;
}
