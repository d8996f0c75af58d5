/**
 * WGSL of the pair-difference Gram matrices of one KH-halve round on tfjs-webgpu, in tiles of
 * side × side pairs (used by deviceWalkPrograms.ts and thinformerWebGpu.ts). Each tile stages the
 * k̃/v rows of its 2·side row and column points in workgroup memory, CHUNK feature columns at a
 * time, so each value is read from global memory once per tile instead of once per κ (the
 * stores run in the loops of the Gram and fused programs, so no early return is possible).
 *
 * Arithmetic is the host path's (pairDifferenceGrams.ts) in float32: κ = exp(⟨k̃_a, k̃_b⟩ − c) ·
 * (⟨v_a, v_b⟩ + β²) with k̃ = root·k rounded per coordinate and the dot products summed in
 * coordinate order, G_ij = (κ(2i,2j) − κ(2i,2j+1)) − (κ(2i+1,2j) − κ(2i+1,2j+1)).
 *
 * Points are addressed as "virtual slices" vs = range · slices + slice: the causal form halves
 * many equal-length key ranges [lo + range·step, …) of every slice in the same dispatch.
 */
import { WGSL_WORKGROUP_INDEX as WORKGROUP_INDEX } from '@swapformer/kernels';

/** Pairs along one side of a full Gram tile: 16 × 16 = 256 threads, one G entry each. */
export const GRAM_TILE = 16;

/** Feature columns staged per pass of a tile (rows padded by one against bank conflicts). */
const CHUNK = 16;

/**
 * Uniform declarations of the round programs (must match `roundUniforms` in thinformerWebGpu.ts).
 * `buckets` and `bucketsPerSlice` count the buckets of the program's first round `round`; `last`
 * says whether its last round is the plan's (survivors then become key positions). `one` is
 * always 1: constant loop bounds multiplied by it keep software Vulkan (lavapipe, in CI) from
 * unrolling the barrier-bound loops of the walk, which multiplied its compile time (≈ 60 → 25 s
 * for a 4-round chain there); a GPU gains nothing from unrolling a loop that waits on a barrier.
 */
export const ROUND_UNIFORMS = 'buckets : i32, bucketsPerSlice : i32, slices : i32, nk : i32, ranges : i32, identity : i32, round : i32, last : i32, partials : i32, one : i32, root : f32,';

/**
 * WGSL helpers of first-round bucket b: the thinned position of its point p, the key row of a
 * thinned position, the key position a survivor leaves the coreset as, and its stats row. The
 * draws tensor starts with [first key, stride] of each range (range = virtual slice / slices).
 */
export function addressing(S: number): string {
  return `
    fn pointAt(b : i32, p : i32) -> f32 {
      // round 0 starts from the identity, so no [V, n] position tensor is built for it
      if (uniforms.identity == 1) { return f32((b % uniforms.bucketsPerSlice) * ${S} + p); }
      return points[b * ${S} + p];
    }
    fn rangeOf(b : i32) -> i32 { return (b / uniforms.bucketsPerSlice) / uniforms.slices; }
    fn rowOf(b : i32, p : f32) -> i32 {
      let slice = (b / uniforms.bucketsPerSlice) % uniforms.slices;
      return slice * uniforms.nk + i32(draws[2 * rangeOf(b)]) + i32(p) * i32(draws[2 * rangeOf(b) + 1]);
    }
    fn keyOf(b : i32, p : f32) -> f32 {
      if (uniforms.last == 1) { return draws[2 * rangeOf(b)] + p * draws[2 * rangeOf(b) + 1]; }
      return p;
    }
    fn statsOf(b : i32) -> i32 { return b / uniforms.bucketsPerSlice; } // c and β are per range and slice`;
}

/** c and β² of first-round bucket b, from the stats program's partial maxima (max is exact, so any split gives the same c and β). */
export const SHIFTS = `
      var shift = 0.0;
      var beta = 0.0;
      for (var p = 0; p < uniforms.partials; p++) {
        shift = max(shift, stats[(statsOf(b) * uniforms.partials + p) * 2]);
        beta = max(beta, stats[(statsOf(b) * uniforms.partials + p) * 2 + 1]);
      }
      let beta2 = beta * beta;`;

/** Pairs along a side of the Gram tiles of buckets of M pairs (GRAM_TILE, or M itself when smaller). */
export function tileSide(M: number): number {
  return Math.min(GRAM_TILE, M);
}

/** Workgroup arrays of tiles of at most `side` pairs a side: the staged k̃/v columns and the key rows of their points. */
export function tileMemory(side: number): string {
  return `
    var<workgroup> tileA : array<f32, ${2 * side * (CHUNK + 1)}>;
    var<workgroup> tileB : array<f32, ${2 * side * (CHUNK + 1)}>;
    var<workgroup> rowA : array<i32, ${2 * side}>;
    var<workgroup> rowB : array<i32, ${2 * side}>;`;
}

/**
 * WGSL statements giving `g` = G[i, j] for thread (li, lj) of tile (ti, tj) of a bucket of M
 * pairs, i = side·ti + li, j = side·tj + lj, run by `threads` ≥ side² threads (`inTile` is false
 * for the extra ones). `rowOfPoint(p)`: key row of the bucket's point p. Needs `shift`, `beta2`, `tid`.
 * The k̃ columns then the v columns pass through the tile CHUNK at a time; each thread loads its
 * share of the next chunk into registers before working on the current one, so the global-memory
 * latency overlaps the arithmetic instead of adding to it.
 */
export function tileEntryWgsl(M: number, dk: number, dv: number, threads: number, rowOfPoint: (p: string) => string): string {
  const side = tileSide(M);
  const rows = 2 * side;
  const pitch = CHUNK + 1;
  const kChunks = Math.ceil(dk / CHUNK);
  const chunks = kChunks + Math.ceil(dv / CHUNK);
  const shares = Math.ceil((rows * CHUNK) / threads);
  const each = (body: (e: number) => string) => Array.from({ length: shares }, (_, e) => body(e)).join('\n');
  // thread tid's e-th share of a chunk is element q = tid + threads·e: point q / CHUNK, column q % CHUNK
  const load = (chunk: string) =>
    each(
      (e) => `{
          let q = tid + ${e * threads};
          let p = min(q / ${CHUNK}, ${rows - 1});
          na${e} = 0.0;
          nb${e} = 0.0;
          if (${chunk} < ${kChunks}) {
            let c = ${chunk} * ${CHUNK} + q % ${CHUNK};
            if (c < ${dk}) { na${e} = K[rowA[p] * ${dk} + c] * uniforms.root; nb${e} = K[rowB[p] * ${dk} + c] * uniforms.root; }
          } else {
            let c = (${chunk} - ${kChunks}) * ${CHUNK} + q % ${CHUNK};
            if (c < ${dv}) { na${e} = V[rowA[p] * ${dv} + c]; nb${e} = V[rowB[p] * ${dv} + c]; }
          }
        }`,
    );
  return `
        let inTile = tid < ${side * side};
        let li = min(tid / ${side}, ${side - 1});
        let lj = tid % ${side};
        if (tid < ${rows}) {
          rowA[tid] = ${rowOfPoint(`${rows} * ti + tid`)};
          rowB[tid] = ${rowOfPoint(`${rows} * tj + tid`)};
        }
        workgroupBarrier();
        ${each((e) => `var na${e} = 0.0; var nb${e} = 0.0;`)}
        ${load('0')}
        var d00 = 0.0; var d01 = 0.0; var d10 = 0.0; var d11 = 0.0;
        var l00 = 0.0; var l01 = 0.0; var l10 = 0.0; var l11 = 0.0;
        for (var chunk = 0; chunk < ${chunks}; chunk++) {
          ${each((e) => `if (tid + ${e * threads} < ${rows * CHUNK}) { let q = tid + ${e * threads}; tileA[(q / ${CHUNK}) * ${pitch} + q % ${CHUNK}] = na${e}; tileB[(q / ${CHUNK}) * ${pitch} + q % ${CHUNK}] = nb${e}; }`)}
          workgroupBarrier();
          if (chunk + 1 < ${chunks}) { ${load('(chunk + 1)')} }
          // the logits are done when the v columns start
          if (chunk == ${kChunks}) { l00 = d00; l01 = d01; l10 = d10; l11 = d11; d00 = 0.0; d01 = 0.0; d10 = 0.0; d11 = 0.0; }
          let width = select(min(${CHUNK}, ${dv} - (chunk - ${kChunks}) * ${CHUNK}), min(${CHUNK}, ${dk} - chunk * ${CHUNK}), chunk < ${kChunks});
          for (var c = 0; c < width; c++) {
            let a0 = tileA[(2 * li) * ${pitch} + c];
            let a1 = tileA[(2 * li + 1) * ${pitch} + c];
            let b0 = tileB[(2 * lj) * ${pitch} + c];
            let b1 = tileB[(2 * lj + 1) * ${pitch} + c];
            d00 = d00 + a0 * b0; d01 = d01 + a0 * b1; d10 = d10 + a1 * b0; d11 = d11 + a1 * b1;
          }
          workgroupBarrier();
        }
        let k00 = exp(l00 - shift) * (d00 + beta2);
        let k01 = exp(l01 - shift) * (d01 + beta2);
        let k10 = exp(l10 - shift) * (d10 + beta2);
        let k11 = exp(l11 - shift) * (d11 + beta2);
        let i = ti * ${side} + li;
        let j = tj * ${side} + lj;
        let g = (k00 - k01) - (k10 - k11);`;
}

/** WGSL: (ti, tj) of the t-th upper tile (tj ≥ ti; the walk reads j ≥ i only) of a bucket with `tiles` tiles a side, row by row. */
export function upperTile(tiles: number, t: string): string {
  return `
        var ti = 0;
        var t = ${t};
        while (t >= ${tiles} - ti) { t = t - (${tiles} - ti); ti = ti + 1; }
        let tj = ti + t;`;
}

/**
 * Gram tiles: workgroup w holds one upper tile of bucket w / upper; out-of-range workgroups
 * compute but do not store (an early return would break the barriers' uniformity).
 * Inputs K, V, stats, points, draws. Output G [buckets, M, M] (upper triangle).
 */
export function pairGramWgsl(M: number, dk: number, dv: number): string {
  const tiles = M / GRAM_TILE;
  const upper = (tiles * (tiles + 1)) / 2;
  return `
    ${tileMemory(GRAM_TILE)}
    ${addressing(2 * M)}
    fn main(index : i32) {
      let w = ${WORKGROUP_INDEX};
      let valid = w < uniforms.buckets * ${upper};
      let b = min(w / ${upper}, uniforms.buckets - 1);
      let tid = i32(localIndex);
      ${SHIFTS}
      ${upperTile(tiles, `w % ${upper}`)}
      ${tileEntryWgsl(M, dk, dv, GRAM_TILE * GRAM_TILE, (p) => `rowOf(b, pointAt(b, ${p}))`)}
      if (valid && j >= i) { result[(b * ${M} + i) * ${M} + j] = g; }
    }`;
}
