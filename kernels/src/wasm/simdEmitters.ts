/**
 * Building blocks for hand-written WebAssembly SIMD kernels (fusedAttentionModule.ts and the
 * plugins' own kernels): a vectorised exp and counted loops over i32 locals.
 */
import { type FunctionBody, V128 } from './wasmAssembler';

const LOG2E = 1.4426950408889634;
/** 1.5·2^23: adding it to |t| < 2^22 leaves round(t) in the low mantissa bits. */
const ROUND_MAGIC = 12582912;
const ROUND_MAGIC_BITS = 0x4b400000;
// Taylor coefficients of 2^f = e^(f ln 2) on |f| ≤ 1/2.
const EXP2_COEFFS = [1, 0.6931471805599453, 0.2402265069591007, 0.05550410866482158, 0.009618129107628477, 0.0013333558146428443, 0.00015403530393381606];

/** Emits exp of a v128 local; see `simdExp`. */
export interface SimdExp {
  /** Pushes exp(x) for the f32x4 in local `x` (all lanes ≤ 0); exactly 0 below −87. */
  emit(x: number): void;
}

/**
 * Declares the constants of a vectorised exp in locals of `f` (so loops do not rematerialise
 * them) and returns its emitter. exp is a degree-6 polynomial of 2^f times 2^k built in the
 * exponent bits (relative error ≈ 2e-7), for arguments ≤ 0.
 *
 * @example const exp = simdExp(f); f.get(x)...; exp.emit(x); f.set(y);
 */
export function simdExp(f: FunctionBody): SimdExp {
  const v128 = () => f.local(V128);
  const t = v128(), k = v128(), kLog2e = v128(), kMin = v128(), kMagic = v128(), kExpBias = v128();
  const kPoly = EXP2_COEFFS.map(() => v128());
  f.f32x4Const(LOG2E).set(kLog2e).f32x4Const(-87).set(kMin).f32x4Const(ROUND_MAGIC).set(kMagic);
  f.i32(127 - ROUND_MAGIC_BITS).i32x4Splat().set(kExpBias);
  EXP2_COEFFS.forEach((cf, i) => f.f32x4Const(cf).set(kPoly[i]));
  return {
    emit(x: number) {
      // t = max(x, −87)·log2e. Adding 1.5·2^23 rounds t to the nearest integer k in the low
      // mantissa bits (cheaper than nearest + trunc_sat); f = t − k; 2^f by Horner; 2^k by moving
      // k + 127 into the exponent bits: bits(t + M) − bits(M) = k.
      f.get(x).get(kMin).f32x4Max().get(kLog2e).f32x4Mul().tee(t).get(kMagic).f32x4Add().set(k);
      f.get(t).get(k).get(kMagic).f32x4Sub().f32x4Sub().set(t); // f
      f.get(kPoly[6]);
      for (let i = 5; i >= 0; i--) f.get(t).f32x4Mul().get(kPoly[i]).f32x4Add();
      f.get(k).get(kExpBias).i32x4Add().i32(23).i32x4Shl();
      f.f32x4Mul();
      f.get(x).get(kMin).f32x4Ge().v128And();
    },
  };
}

/**
 * `for (variable = from(); variable < limit; variable += step) body()` with i32 locals.
 *
 * @example emitForLoop(f, i, () => f.i32(0), n, 1, () => { ... });
 */
export function emitForLoop(f: FunctionBody, variable: number, from: () => void, limit: number, step: number, body: () => void): void {
  from();
  f.set(variable);
  f.block().loop();
  f.get(variable).get(limit).i32GeS().brIf(1);
  body();
  f.get(variable).i32(step).i32Add().set(variable);
  f.br(0).end().end();
}

