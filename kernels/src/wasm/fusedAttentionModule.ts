/**
 * The fused exact-attention kernel for the CPU backends, emitted as WebAssembly SIMD.
 *
 *   O[i] = Σ_j softmax_j(q_i · k_j + bias_j) v_j      (flash-attention style, one pass over keys)
 *
 * Why: on tfjs-wasm the composition matMul → softmax → matMul runs each product through
 * XNNPACK at ~15 GFLOP/s single-threaded and writes the `[n, n]` score matrix to memory and
 * back. This kernel keeps a 4-row × `KEY_BLOCK` score tile in L1, updates a running max and sum
 * (online softmax), and accumulates P·V straight away, so memory is O(n·d) and the same code
 * runs on worker threads over one shared memory.
 *
 * Shapes, per (batch, head) slice: q [nq, d] (pre-scaled); k as panels [nkPad/8, dPad, 8] and v
 * as panels [dv/8, nkPad, 8], so both micro-kernels read 32 contiguous bytes per step;
 * bias [nkPad] (0 visible, MASKED_LOGIT hidden, −3e38 padding); out [nq, dv]; optional stats
 * [nq, 2] (row max m and row sum l of exp(score − m), so out·l is the unnormalised sum).
 * Time O(nq·nk·(d + dv)); memory O((nq + nk)·(d + dv)) plus a 4·KEY_BLOCK tile per thread.
 *
 * Micro-kernels: scores are computed 4 rows × 8 keys at a time (8 f32x4 accumulators, the
 * k vectors loaded once per 4 rows); P·V 4 rows × 8 value columns the same way. exp is a
 * degree-6 polynomial of 2^f times 2^k built in the exponent bits (relative error ≈ 2e-7).
 */
import { emitForLoop, simdExp } from './simdEmitters';
import { assembleModule, F32, FunctionBody, I32, V128, type ValType } from './wasmAssembler';
import { buildPackPanels, PACK_PARAMS } from '../gemm/packModule';

/** Keys per score tile (4 rows × KEY_BLOCK floats live in L1). */
export const KEY_BLOCK = 256;
/** Query rows per register tile. */
export const ROW_TILE = 4;
/** Bias of padding keys (beyond nk): exp of it is exactly 0, and it never wins a max. */
export const PAD_LOGIT = -3e38;
/** Bytes of per-thread scratch the kernel needs for a value dim `dv`. */
export function scratchBytes(dv: number, dPad: number): number {
  return ROW_TILE * KEY_BLOCK * 4 + ROW_TILE * dv * 4 + dPad * ROW_TILE * 4;
}

/** Parameter indices of `attend`. */
const P = { q: 0, kP: 1, vP: 2, out: 3, bias: 4, nkPad: 5, d: 6, dPad: 7, dv: 8, rowStart: 9, rowEnd: 10, offset: 11, scratch: 12, maskedHalf: 13, stats: 14 } as const;
export const ATTEND_PARAMS = 15;
/** Index of the per-thread scratch pointer among `attend`'s parameters. */
export const ATTEND_SCRATCH_PARAM = P.scratch;

function buildAttend(fma: boolean): FunctionBody {
  const f = new FunctionBody(ATTEND_PARAMS);
  const i32 = () => f.local(I32);
  const f32 = () => f.local(F32);
  const v128 = () => f.local(V128);
  const r0 = i32(), c0 = i32(), cw = i32(), c = i32(), kp = i32(), vp = i32(), sp = i32(), kEnd = i32();
  const lim = i32(), ch = i32(), last = i32(), tmp = i32(), end = i32(), vStride = i32(), qt = i32(), accBase = i32(), qTile = i32();
  const qp = [i32(), i32(), i32(), i32()];
  const rowOf = [i32(), i32(), i32(), i32()];
  const m = [f32(), f32(), f32(), f32()];
  const l = [f32(), f32(), f32(), f32()];
  const corr = [f32(), f32(), f32(), f32()];
  const bm = f32(), mNew = f32();
  const acc = Array.from({ length: 8 }, v128);
  const b0 = v128(), b1 = v128(), s = v128(), vm = v128(), vs = v128(), x = v128();
  const kZero = v128();
  const ROW = KEY_BLOCK * 4; // bytes per score-tile row
  const UNROLL = 4;

  // constants in locals, so the loops do not rematerialise them
  const exp = simdExp(f);
  f.f32x4Const(0).set(kZero);
  f.get(P.dv).i32(4).i32Mul().set(vStride);
  // scratch: score tile [4][KEY_BLOCK] | acc [4][dv] | q tile [dPad][4]
  f.get(P.scratch).get(P.dv).i32(ROW_TILE * 4).i32Mul().i32(ROW_TILE * KEY_BLOCK * 4).i32Add().i32Add().set(qTile);
  f.get(P.scratch).i32(ROW_TILE * KEY_BLOCK * 4).i32Add().set(accBase);

  /** acc += s · b, fused where the engine has relaxed SIMD (one rounding instead of two). */
  const madd = (accLocal: number, b: number) => {
    if (fma) f.get(s).get(b).get(accLocal).f32x4RelaxedMadd().set(accLocal);
    else f.get(accLocal).get(s).get(b).f32x4Mul().f32x4Add().set(accLocal);
  };
  const hReduce = (local: number, op: 'max' | 'add') => {
    f.get(local).f32x4ExtractLane(0);
    for (let lane = 1; lane < 4; lane++) {
      f.get(local).f32x4ExtractLane(lane);
      if (op === 'max') f.f32Max();
      else f.f32Add();
    }
  };
  const forLoop = (variable: number, from: () => void, limit: number, step: number, body: () => void) => emitForLoop(f, variable, from, limit, step, body);

  f.get(P.rowEnd).i32(1).i32Sub().set(last);
  forLoop(r0, () => f.get(P.rowStart), P.rowEnd, ROW_TILE, () => {
    for (let i = 0; i < ROW_TILE; i++) {
      // rowOf[i] = min(r0 + i, rowEnd − 1): tail rows repeat the last row (same values, same writes)
      f.get(r0).i32(i).i32Add().tee(tmp).get(last).get(tmp).get(last).i32LtS().select().set(rowOf[i]);
      f.get(P.q).get(rowOf[i]).get(P.d).i32Mul().i32(4).i32Mul().i32Add().set(qp[i]);
      f.f32(PAD_LOGIT).set(m[i]).f32(0).set(l[i]);
    }
    // pack the q tile: qTile[t][i] = q[row i][t], zero for d ≤ t < dPad
    f.get(P.d).i32(4).i32Mul().set(end);
    f.get(P.dPad).i32(4).i32Mul().set(lim);
    forLoop(c, () => f.i32(0), lim, 4, () => {
      f.get(c).get(end).i32LtS().if();
      for (let i = 0; i < ROW_TILE; i++) f.get(qTile).get(c).i32(4).i32Mul().i32Add().get(qp[i]).get(c).i32Add().f32Load().f32Store(i * 4);
      f.else();
      f.get(qTile).get(c).i32(4).i32Mul().i32Add().get(kZero).v128Store();
      f.end();
    });
    // zero the acc tile
    f.get(P.dv).i32(ROW_TILE * 4).i32Mul().get(accBase).i32Add().set(end);
    forLoop(sp, () => f.get(accBase), end, 16, () => f.get(sp).get(kZero).v128Store());
    // kEnd = min(nkPad, rowOf[3] + offset + 1): keys any row of the tile can see
    f.get(rowOf[3]).get(P.offset).i32Add().i32(1).i32Add().tee(tmp).get(P.nkPad).get(tmp).get(P.nkPad).i32LtS().select().set(kEnd);

    forLoop(c0, () => f.i32(0), kEnd, KEY_BLOCK, () => {
      // cw = ceil8(min(KEY_BLOCK, kEnd − c0))
      f.get(kEnd).get(c0).i32Sub().tee(tmp).i32(KEY_BLOCK).get(tmp).i32(KEY_BLOCK).i32LtS().select().i32(7).i32Add().i32(-8).i32And().set(cw);

      // 1. score tile S[4][cw] = qTile · K panels + bias; panel p holds keys 8p..8p+7 as [dPad][8]
      forLoop(c, () => f.i32(0), cw, 8, () => {
        for (const a of acc) f.get(kZero).set(a);
        f.get(c0).get(c).i32Add().get(P.dPad).i32Mul().i32(4).i32Mul().get(P.kP).i32Add().set(kp); // kP + (c0+c)/8 · dPad · 32 bytes
        f.get(qTile).get(P.dPad).i32(16).i32Mul().i32Add().set(end);
        f.get(qTile).set(qt);
        f.block().loop();
        f.get(qt).get(end).i32GeS().brIf(1);
        for (let u = 0; u < UNROLL; u++) {
          f.get(kp).v128Load(u * 32).set(b0).get(kp).v128Load(u * 32 + 16).set(b1);
          for (let i = 0; i < ROW_TILE; i++) {
            f.get(qt).v128Load32Splat(u * 16 + i * 4).set(s);
            madd(acc[2 * i], b0);
            madd(acc[2 * i + 1], b1);
          }
        }
        f.get(kp).i32(UNROLL * 32).i32Add().set(kp);
        f.get(qt).i32(UNROLL * 16).i32Add().set(qt);
        f.br(0).end().end();
        f.get(P.bias).get(c0).get(c).i32Add().i32(4).i32Mul().i32Add().tee(tmp).v128Load(0).set(b0).get(tmp).v128Load(16).set(b1);
        f.get(P.scratch).get(c).i32(4).i32Mul().i32Add().set(sp);
        for (let i = 0; i < ROW_TILE; i++) {
          f.get(sp).get(acc[2 * i]).get(b0).f32x4Add().v128Store(i * ROW);
          f.get(sp).get(acc[2 * i + 1]).get(b1).f32x4Add().v128Store(i * ROW + 16);
        }
      });

      // 2. online softmax per row: running max m, running sum l, rescale factor corr
      for (let i = 0; i < ROW_TILE; i++) {
        f.f32(1).set(corr[i]);
        // lim = min(cw, rowOf[i] + offset + 1 − c0): columns of this block row i may see
        f.get(rowOf[i]).get(P.offset).i32Add().i32(1).i32Add().get(c0).i32Sub().tee(tmp).get(cw).get(tmp).get(cw).i32LtS().select().set(lim);
        f.get(lim).i32(0).i32LeS().if();
        forLoop(c, () => f.i32(0), cw, 4, () => f.get(P.scratch).get(c).i32(4).i32Mul().i32Add().get(kZero).v128Store(i * ROW));
        f.else();
        forLoop(c, () => f.get(lim), cw, 1, () => f.get(P.scratch).get(c).i32(4).i32Mul().i32Add().f32(PAD_LOGIT).f32Store(i * ROW));
        f.f32(PAD_LOGIT).f32x4Splat().set(vm);
        f.get(P.scratch).get(cw).i32(4).i32Mul().i32Add().set(end);
        forLoop(tmp, () => f.get(P.scratch), end, 16, () => f.get(vm).get(tmp).v128Load(i * ROW).f32x4Max().set(vm));
        hReduce(vm, 'max');
        f.set(bm);
        f.get(m[i]).get(bm).f32Max().set(mNew);
        f.get(m[i]).get(mNew).f32Sub().f32x4Splat().set(x);
        exp.emit(x);
        f.f32x4ExtractLane(0).set(corr[i]);
        f.get(kZero).set(vs);
        f.get(mNew).f32x4Splat().set(vm);
        forLoop(tmp, () => f.get(P.scratch), end, 16, () => {
          f.get(tmp).v128Load(i * ROW).get(vm).f32x4Sub().set(x);
          exp.emit(x);
          f.set(s);
          f.get(tmp).get(s).v128Store(i * ROW);
          f.get(vs).get(s).f32x4Add().set(vs);
        });
        f.get(l[i]).get(corr[i]).f32Mul();
        hReduce(vs, 'add');
        f.f32Add().set(l[i]);
        f.get(mNew).set(m[i]);
        f.end();
      }

      // 3. acc = acc·corr + P · V; V panel ch holds value columns 8ch..8ch+7 as [nkPad][8]
      forLoop(ch, () => f.i32(0), P.dv, 8, () => {
        f.get(accBase).get(ch).i32(4).i32Mul().i32Add().set(sp);
        for (let i = 0; i < ROW_TILE; i++) {
          f.get(sp).get(vStride).i32(i).i32Mul().i32Add().tee(tmp).v128Load(0).get(corr[i]).f32x4Splat().f32x4Mul().set(acc[2 * i]);
          f.get(tmp).v128Load(16).get(corr[i]).f32x4Splat().f32x4Mul().set(acc[2 * i + 1]);
        }
        // vp = vP + ((ch/8)·nkPad + c0)·32 bytes
        f.get(ch).get(P.nkPad).i32Mul().i32(4).i32Mul().get(c0).i32(32).i32Mul().i32Add().get(P.vP).i32Add().set(vp);
        f.get(P.scratch).set(kp);
        f.get(P.scratch).get(cw).i32(4).i32Mul().i32Add().set(end);
        f.block().loop();
        f.get(kp).get(end).i32GeS().brIf(1);
        for (let u = 0; u < UNROLL; u++) {
          f.get(vp).v128Load(u * 32).set(b0).get(vp).v128Load(u * 32 + 16).set(b1);
          for (let i = 0; i < ROW_TILE; i++) {
            f.get(kp).v128Load32Splat(u * 4 + i * ROW).set(s);
            madd(acc[2 * i], b0);
            madd(acc[2 * i + 1], b1);
          }
        }
        f.get(vp).i32(UNROLL * 32).i32Add().set(vp);
        f.get(kp).i32(UNROLL * 4).i32Add().set(kp);
        f.br(0).end().end();
        for (let i = 0; i < ROW_TILE; i++) {
          f.get(sp).get(vStride).i32(i).i32Mul().i32Add().tee(tmp).get(acc[2 * i]).v128Store(0);
          f.get(tmp).get(acc[2 * i + 1]).v128Store(16);
        }
      });
    });

    // out[row] = acc / l, or 0 for a row with no visible key (l = 0, or its max below MASKED/2);
    // with a stats pointer, stats[row] = (m, l) — l = 0 for such a row — so callers can undo the normalisation
    for (let i = 0; i < ROW_TILE; i++) {
      f.get(l[i]).f32(0).f32Gt().get(m[i]).get(P.maskedHalf).f32ConvertI32S().f32Gt().i32And().if();
      f.f32(1).get(l[i]).f32Div().f32x4Splat().set(vm);
      f.else();
      f.get(kZero).set(vm);
      f.f32(0).set(l[i]);
      f.end();
      f.get(P.stats).if();
      f.get(P.stats).get(rowOf[i]).i32(8).i32Mul().i32Add().tee(tmp).get(m[i]).f32Store(0);
      f.get(tmp).get(l[i]).f32Store(4);
      f.end();
      f.get(accBase).get(vStride).i32(i).i32Mul().i32Add().set(sp);
      f.get(P.out).get(rowOf[i]).get(vStride).i32Mul().i32Add().set(vp);
      forLoop(c, () => f.i32(0), vStride, 16, () => f.get(vp).get(c).i32Add().get(sp).get(c).i32Add().v128Load(0).get(vm).f32x4Mul().v128Store(0));
    }
  });
  return f;
}

/**
 * The module's bytes. With `shared`, memory is imported as shared (max `maxPages`), so worker
 * threads instantiate the same module over the same memory. With `fma`, the micro-kernels use
 * relaxed-SIMD `f32x4.relaxed_madd` (engines without relaxed SIMD reject such a module).
 *
 * @example const mod = new WebAssembly.Module(fusedAttentionModuleBytes({ shared: false }));
 */
export function fusedAttentionModuleBytes(memory: { readonly shared: boolean; readonly maxPages?: number }, fma = false): Uint8Array {
  const params: ValType[] = Array.from({ length: ATTEND_PARAMS }, () => I32);
  // packPanels lays keys and values out for `attend` inside the module: packing them in JS cost more than attending, for one query row against a long kv-cache
  return assembleModule(
    [
      { name: 'attend', params, results: [], body: buildAttend(fma) },
      { name: 'packPanels', params: PACK_PARAMS, results: [], body: buildPackPanels() },
    ],
    memory.shared ? { minPages: 1, sharedMaxPages: memory.maxPages ?? 65536 } : { minPages: 1 },
  );
}
