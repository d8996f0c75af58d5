/**
 * The pair-difference Gram matrix of one KH-Compress bucket as a WebAssembly SIMD kernel
 * (emitted with core's assembler), instead of two tfjs products, an exp and a product per bucket
 * pulled back to JS (pairDifferenceGrams.ts holds that form and the math):
 *
 *   κ(a, b) = exp(⟨k̃_a, k̃_b⟩ − c) · (⟨v_a, v_b⟩ + β²),   G_ij = κ(2i,2j) − κ(2i,2j+1) − κ(2i+1,2j) + κ(2i+1,2j+1)
 *
 * κ is computed 4 points × 8 points at a time (both products in one pass over a row tile, exp
 * by core's polynomial), and only the tiles that reach the upper triangle j ≥ i that the walk
 * reads, which halves the work. The pair differences are taken in float32 in the reference's
 * order (column differences, then rows).
 *
 * Memory, per call (bytes, set up by the caller): kRows [·, dK] rows [k̃_a, 1, 0…] and vRows [·, dV]
 * rows [v_a, β, 0…] of every point of the slice, index [S] i32: the bucket's points as row
 * numbers, panels [Spad/8, dK or dV, 8] gathered here (the key panels carry −c instead of 1), a
 * scratch tile, and G [M, M] out. dK, dV multiples of 4, S a multiple of 4, Spad = ceil8(S).
 * Time O(S²·(dK + dV)/2) per bucket.
 */
import { emitForLoop, F32, FunctionBody, I32, simdExp, V128 } from '@swapformer/kernels';

/** Parameter indices of `pairGram`. */
export const PAIR_GRAM = { kRows: 0, vRows: 1, points: 2, dK: 3, dV: 4, kPan: 5, vPan: 6, augIndex: 7, negShift: 8, gOut: 9, pairs: 10, scratch: 11, index: 12 } as const;
/** Parameter types of `pairGram` (negShift is f32). */
export const PAIR_GRAM_PARAMS = [I32, I32, I32, I32, I32, I32, I32, I32, F32, I32, I32, I32, I32] as const;
/** Scratch bytes for dims dK, dV: the two transposed row tiles and the 4×8 κ tile. */
export function pairGramScratchBytes(dK: number, dV: number): number {
  return (dK + dV) * 16 + 128;
}

const P = PAIR_GRAM;

/** Body of `pairGram`. */
export function buildPairGram(): FunctionBody {
  const f = new FunctionBody(PAIR_GRAM_PARAMS.length);
  const i32 = () => f.local(I32);
  const v128 = () => f.local(V128);
  const a = i32(), t = i32(), r0 = i32(), c0 = i32(), ptr = i32(), qt = i32(), end = i32(), lim = i32(), spad = i32(), qK = i32(), qV = i32(), tile = i32(), tmp = i32();
  /** Pushes the byte address of row `index[point]` of `rows` (d floats per row); `point` emits the bucket position. */
  const rowAddress = (rows: number, d: number, point: () => void) => {
    point();
    f.i32(4).i32Mul().get(P.index).i32Add().i32Load().get(d).i32Mul().i32(4).i32Mul().get(rows).i32Add();
  };
  const acc = Array.from({ length: 8 }, v128);
  const b0 = v128(), b1 = v128(), s = v128(), x = v128();
  const exp = simdExp(f);
  const loop = (variable: number, from: () => void, limit: number, step: number, body: () => void) => emitForLoop(f, variable, from, limit, step, body);

  f.get(P.points).i32(7).i32Add().i32(-8).i32And().set(spad);
  f.get(P.scratch).set(qK);
  f.get(P.scratch).get(P.dK).i32(16).i32Mul().i32Add().set(qV);
  f.get(qV).get(P.dV).i32(16).i32Mul().i32Add().set(tile);

  // 1. panels: pan[(a & ~7)·d + t·8 + (a & 7)] = rows[index[a]·d + t]; key panels then take −c at augIndex
  const buildPanels = (rows: number, pan: number, d: number) => {
    loop(a, () => f.i32(0), P.points, 1, () => {
      f.get(a).i32(-8).i32And().get(d).i32Mul().get(a).i32(7).i32And().i32Add().i32(4).i32Mul().get(pan).i32Add().set(ptr);
      rowAddress(rows, d, () => f.get(a));
      f.set(qt);
      loop(t, () => f.i32(0), d, 1, () => {
        f.get(ptr).get(qt).f32Load().f32Store();
        f.get(ptr).i32(32).i32Add().set(ptr);
        f.get(qt).i32(4).i32Add().set(qt);
      });
    });
  };
  buildPanels(P.kRows, P.kPan, P.dK);
  buildPanels(P.vRows, P.vPan, P.dV);
  loop(a, () => f.i32(0), P.points, 1, () => {
    f.get(a).i32(-8).i32And().get(P.dK).i32Mul().get(a).i32(7).i32And().i32Add().get(P.augIndex).i32(8).i32Mul().i32Add().i32(4).i32Mul().get(P.kPan).i32Add();
    f.get(P.negShift).f32Store();
  });

  /** acc[0..8) = 4×8 dot tile of the transposed row tile at `q` against the panel at `pan`, over d coordinates. */
  const dotTile = (q: number, pan: number, d: number) => {
    for (const r of acc) f.f32x4Const(0).set(r);
    f.get(c0).get(d).i32Mul().i32(4).i32Mul().get(pan).i32Add().set(ptr);
    f.get(q).set(qt);
    f.get(q).get(d).i32(16).i32Mul().i32Add().set(end);
    f.block().loop();
    f.get(qt).get(end).i32GeS().brIf(1);
    for (let u = 0; u < 4; u++) {
      f.get(ptr).v128Load(u * 32).set(b0).get(ptr).v128Load(u * 32 + 16).set(b1);
      for (let i = 0; i < 4; i++) {
        f.get(qt).v128Load32Splat(u * 16 + i * 4).set(s);
        f.get(acc[2 * i]).get(s).get(b0).f32x4Mul().f32x4Add().set(acc[2 * i]);
        f.get(acc[2 * i + 1]).get(s).get(b1).f32x4Mul().f32x4Add().set(acc[2 * i + 1]);
      }
    }
    f.get(ptr).i32(128).i32Add().set(ptr);
    f.get(qt).i32(64).i32Add().set(qt);
    f.br(0).end().end();
  };
  /** q[t][i] = rows[index[r0 + i]·d + t]: the row tile transposed, so one splat load feeds each row. */
  const transposeRows = (rows: number, q: number, d: number) => {
    loop(t, () => f.i32(0), d, 1, () => {
      for (let i = 0; i < 4; i++) {
        f.get(q).get(t).i32(16).i32Mul().i32Add();
        rowAddress(rows, d, () => f.get(r0).i32(i).i32Add());
        f.get(t).i32(4).i32Mul().i32Add().f32Load();
        f.f32Store(i * 4);
      }
    });
  };

  // 2. row tiles of 4 points (pairs r0/2, r0/2 + 1) against column tiles of 8 from the diagonal on
  loop(r0, () => f.i32(0), P.points, 4, () => {
    transposeRows(P.kRows, qK, P.dK);
    transposeRows(P.vRows, qV, P.dV);
    loop(c0, () => f.get(r0).i32(-8).i32And(), spad, 8, () => {
      dotTile(qK, P.kPan, P.dK);
      for (let j = 0; j < 8; j++) {
        f.get(acc[j]).set(x);
        exp.emit(x);
        f.set(x);
        f.get(tile).get(x).v128Store(j * 16);
      }
      dotTile(qV, P.vPan, P.dV);
      // tile[i][c] = κ(r0 + i, c0 + c): row i at bytes 32i, columns 0–3 then 4–7
      for (let j = 0; j < 8; j++) f.get(tile).get(tile).v128Load(j * 16).get(acc[j]).f32x4Mul().v128Store(j * 16);
      // G[r0/2 + p][c0/2 + q] for the column pairs inside the bucket
      f.get(P.points).get(c0).i32Sub().i32(2).i32Mul().set(lim); // column pair q exists iff 4q < lim, i.e. c0 + 2q < S
      for (let p = 0; p < 2; p++) {
        for (let q = 0; q < 4; q++) {
          f.i32(4 * q).get(lim).i32LtS().if();
          f.get(r0).i32(2).i32Mul().i32(p * 4).i32Add().get(P.pairs).i32Mul().get(c0).i32(2).i32Mul().i32Add().i32(q * 4).i32Add().get(P.gOut).i32Add().set(tmp);
          const at = (row: number, col: number) => f.get(tile).f32Load(row * 32 + col * 4);
          f.get(tmp);
          at(2 * p, 2 * q);
          at(2 * p, 2 * q + 1);
          f.f32Sub();
          at(2 * p + 1, 2 * q);
          at(2 * p + 1, 2 * q + 1);
          f.f32Sub();
          f.f32Sub();
          f.f32Store();
          f.end();
        }
      }
    });
  });
  return f;
}
