/**
 * The f32 GEMM block kernel, emitted as WebAssembly SIMD:  C[rows, cols] = act(A·B + bias).
 *
 * Why a kernel of our own: tfjs-wasm runs every product through single-threaded XNNPACK, and its
 * transposed and batched products through a slow path (1.3–1.6 GFLOP/s, issue 19). This kernel
 * reads operands packed into panels (packModule.ts), so transposes cost nothing here, and one call
 * computes one block of C, so blocks run on the kernel pool's threads.
 *
 * Layout (bytes, set up by the caller): A as row panels [mPad/MR][kPad][MR], B as column panels
 * [nPad/NR][kPad][NR], both zero-padded (kPad a multiple of 4); C dense [mPad][ldc]; bias [nPad].
 * A call owns rows [rowStart, rowEnd) (multiples of MR) × cols [colStart, colEnd) (multiples of
 * NR) of C, so threads never write the same bytes and the result does not depend on the split.
 *
 * Blocking: k in chunks of KC, so the NR-column B panel (KC·NR·4 = 8 KiB) stays in L1 while the
 * block's MR-row A panels (rows·KC·4) come from L2; C accumulates across chunks. Micro-kernel:
 * MR × 8 floats in 2·MR f32x4 accumulators (MR = 6 → 12 of the 16 xmm registers, with two B
 * vectors and one A splat), mul + add (wasm SIMD has no FMA outside relaxed SIMD). After the last
 * chunk an epilogue pass over the block adds the bias and applies the activation while C is in L2.
 */
import { emitForLoop, simdExp } from '../wasm/simdEmitters';
import { F32, FunctionBody, I32, V128, type ValType } from '../wasm/wasmAssembler';

/** Rows of the register tile (A panel height). */
export const GEMM_MR = 6;
/** Columns of the register tile (B panel width): two f32x4. */
export const GEMM_NR = 8;
/** k per cache chunk. */
export const GEMM_KC = 256;

/** Activation codes: tfjs-wasm's FusableActivation numbering, so attrs map one to one (prelu runs in JS). */
export const GEMM_ACTIVATION = { linear: 0, relu: 1, relu6: 2, prelu: 3, leakyrelu: 4, sigmoid: 5, elu: 6 } as const;
export type GemmActivation = keyof typeof GEMM_ACTIVATION;

/** Parameter indices of `gemmBlock`. */
export const GEMM = { a: 0, b: 1, c: 2, kPad: 3, ldc: 4, rowStart: 5, rowEnd: 6, colStart: 7, colEnd: 8, bias: 9, activation: 10, alpha: 11 } as const;
/** Parameter types of `gemmBlock` (alpha, the leaky-relu slope, is f32). */
export const GEMM_PARAMS: readonly ValType[] = [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, F32];

const P = GEMM;

/** Body of `gemmBlock`; with `fma`, relaxed-SIMD multiply-add (engines without it reject the module). */
export function buildGemmBlock(fma: boolean): FunctionBody {
  const f = new FunctionBody(GEMM_PARAMS.length);
  const i32 = () => f.local(I32);
  const v128 = () => f.local(V128);
  const pc = i32(), kc = i32(), jc = i32(), ir = i32(), ap = i32(), bp = i32(), bEnd = i32(), cp = i32(), tmp = i32();
  const acc = Array.from({ length: 2 * GEMM_MR }, v128);
  const b0 = v128(), b1 = v128(), s = v128();
  const epilogue = prepareEpilogue(f);
  const { kZero, ldcBytes } = epilogue.locals;
  const loop = (variable: number, from: () => void, limit: number, step: number, body: () => void) => emitForLoop(f, variable, from, limit, step, body);
  const madd = multiplyAdd(f, fma, s);

  loop(pc, () => f.i32(0), P.kPad, GEMM_KC, () => {
    // kc = min(KC, kPad − pc), a multiple of 4 because kPad is
    f.get(P.kPad).get(pc).i32Sub().tee(tmp).i32(GEMM_KC).get(tmp).i32(GEMM_KC).i32LtS().select().set(kc);
    loop(jc, () => f.get(P.colStart), P.colEnd, GEMM_NR, () => {
      loop(ir, () => f.get(P.rowStart), P.rowEnd, GEMM_MR, () => {
        // ap = a + (ir·kPad + pc·MR)·4; bp = b + (jc·kPad + pc·NR)·4; cp = c + (ir·ldc + jc)·4
        f.get(ir).get(P.kPad).i32Mul().get(pc).i32(GEMM_MR).i32Mul().i32Add().i32(4).i32Mul().get(P.a).i32Add().set(ap);
        f.get(jc).get(P.kPad).i32Mul().get(pc).i32(GEMM_NR).i32Mul().i32Add().i32(4).i32Mul().get(P.b).i32Add().tee(bp);
        f.get(kc).i32(GEMM_NR * 4).i32Mul().i32Add().set(bEnd);
        f.get(ir).get(P.ldc).i32Mul().get(jc).i32Add().i32(4).i32Mul().get(P.c).i32Add().set(cp);
        // first chunk starts from zero, later chunks from the partial sums in C
        f.get(pc).i32Eqz().if();
        for (const a of acc) f.get(kZero).set(a);
        f.else();
        for (let i = 0; i < GEMM_MR; i++) {
          f.get(cp).get(ldcBytes).i32(i).i32Mul().i32Add().tee(tmp).v128Load(0).set(acc[2 * i]);
          f.get(tmp).v128Load(16).set(acc[2 * i + 1]);
        }
        f.end();
        f.block().loop();
        f.get(bp).get(bEnd).i32GeS().brIf(1);
        for (let u = 0; u < 4; u++) {
          f.get(bp).v128Load(u * GEMM_NR * 4).set(b0).get(bp).v128Load(u * GEMM_NR * 4 + 16).set(b1);
          for (let i = 0; i < GEMM_MR; i++) {
            f.get(ap).v128Load32Splat((u * GEMM_MR + i) * 4).set(s);
            madd(acc[2 * i], b0);
            madd(acc[2 * i + 1], b1);
          }
        }
        f.get(bp).i32(4 * GEMM_NR * 4).i32Add().set(bp);
        f.get(ap).i32(4 * GEMM_MR * 4).i32Add().set(ap);
        f.br(0).end().end();
        for (let i = 0; i < GEMM_MR; i++) {
          f.get(cp).get(ldcBytes).i32(i).i32Mul().i32Add().tee(tmp).get(acc[2 * i]).v128Store(0);
          f.get(tmp).get(acc[2 * i + 1]).v128Store(16);
        }
      });
    });
  });

  epilogue.emit();
  return f;
}

/**
 * `acc += s·b` on f32x4 locals: relaxed-SIMD multiply-add with `fma`, else a multiply then an
 * add (what engines without relaxed SIMD accept). `s` holds the broadcast A element.
 */
export function multiplyAdd(f: FunctionBody, fma: boolean, s: number): (acc: number, b: number) => void {
  return (acc, b) => {
    if (fma) f.get(s).get(b).get(acc).f32x4RelaxedMadd().set(acc);
    else f.get(acc).get(s).get(b).f32x4Mul().f32x4Add().set(acc);
  };
}

/**
 * Declares the epilogue's locals and fills its constants (0, 6, 1, the leaky-relu slope, ldc in
 * bytes) at the top of a kernel with `gemmBlock`'s parameters; `emit()` writes the epilogue itself
 * at the kernel's end.
 */
export function prepareEpilogue(f: FunctionBody): { readonly locals: EpilogueLocals; readonly emit: () => void } {
  const i32 = () => f.local(I32);
  const v128 = () => f.local(V128);
  const locals: EpilogueLocals = { r: i32(), col: i32(), rowPtr: i32(), colEndBytes: i32(), ldcBytes: i32(), x: v128(), e: v128(), kZero: v128(), kSix: v128(), kOne: v128(), kAlpha: v128() };
  const exp = simdExp(f);
  f.f32x4Const(0).set(locals.kZero).f32x4Const(6).set(locals.kSix).f32x4Const(1).set(locals.kOne);
  f.get(P.alpha).f32x4Splat().set(locals.kAlpha);
  f.get(P.ldc).i32(4).i32Mul().set(locals.ldcBytes);
  return { locals, emit: () => emitEpilogue(f, locals, exp) };
}

export interface EpilogueLocals {
  readonly r: number; readonly col: number; readonly rowPtr: number; readonly colEndBytes: number; readonly ldcBytes: number;
  readonly x: number; readonly e: number; readonly kZero: number; readonly kSix: number; readonly kOne: number; readonly kAlpha: number;
}

/**
 * C[block] = act(C[block] + bias) when bias ≠ 0 or activation ≠ linear: one loop per activation,
 * chosen once per call, so the inner loop has no branch. Reads the GEMM parameters (c, ldc, rows,
 * columns, bias, activation, alpha), so any kernel with `gemmBlock`'s signature can end with it.
 */
export function emitEpilogue(f: FunctionBody, l: EpilogueLocals, exp: ReturnType<typeof simdExp>): void {
  const { r, col, rowPtr, colEndBytes, x, e, kZero, kSix, kOne, kAlpha, ldcBytes } = l;
  /** Leaves act(x) on the stack for the f32x4 in local x. */
  const activations: Array<[number, () => void]> = [
    [GEMM_ACTIVATION.linear, () => f.get(x)],
    [GEMM_ACTIVATION.relu, () => f.get(x).get(kZero).f32x4Max()],
    [GEMM_ACTIVATION.relu6, () => f.get(x).get(kZero).f32x4Max().get(kSix).f32x4Min()],
    // max(x, 0) + α·min(x, 0) is exactly x or α·x (one term is an exact zero)
    [GEMM_ACTIVATION.leakyrelu, () => f.get(x).get(kZero).f32x4Max().get(x).get(kZero).f32x4Min().get(kAlpha).f32x4Mul().f32x4Add()],
    // e = exp(−|x|) ∈ (0, 1]: 1/(1 + e) for x ≥ 0, e/(1 + e) below, with no cancellation either way
    [GEMM_ACTIVATION.sigmoid, () => {
      f.get(x).f32x4Abs().f32x4Neg().set(e);
      exp.emit(e);
      f.set(e);
      f.get(kOne).get(e).get(x).get(kZero).f32x4Ge().v128Bitselect();
      f.get(kOne).get(e).f32x4Add().f32x4Div();
    }],
    // x for x > 0, exp(x) − 1 below (tfjs's definition)
    [GEMM_ACTIVATION.elu, () => {
      f.get(x).get(kZero).f32x4Min().set(e);
      exp.emit(e);
      f.get(kOne).f32x4Sub().set(e);
      f.get(x).get(e).get(x).get(kZero).f32x4Gt().v128Bitselect();
    }],
  ];
  f.get(P.bias).get(P.activation).i32Add().if(); // both ≥ 0, so the sum is 0 only for no bias and linear
  f.get(P.colEnd).i32(4).i32Mul().set(colEndBytes);
  for (const [code, act] of activations) {
    f.get(P.activation).i32(code).i32Sub().i32Eqz().if();
    emitForLoop(f, r, () => f.get(P.rowStart), P.rowEnd, 1, () => {
      f.get(P.c).get(r).get(ldcBytes).i32Mul().i32Add().set(rowPtr);
      emitForLoop(f, col, () => f.get(P.colStart).i32(4).i32Mul(), colEndBytes, 16, () => {
        f.get(rowPtr).get(col).i32Add().v128Load(0).set(x);
        f.get(P.bias).if();
        f.get(x).get(P.bias).get(col).i32Add().v128Load(0).f32x4Add().set(x);
        f.end();
        f.get(rowPtr).get(col).i32Add();
        act();
        f.v128Store(0);
      });
    });
    f.end();
  }
  f.end();
}
