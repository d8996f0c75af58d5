/**
 * WGSL of the pair-difference Gram matrices of one KH-halve round on tfjs-webgpu, in tiles of
 * side × side pairs (used by deviceWalkPrograms.ts and thinformerWebGpu.ts). Each tile stages the
 * k̃/v rows of its 2·side row and column points in workgroup memory, a chunk of feature columns at
 * a time, so each value is read from global memory once per tile instead of once per κ (the
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

/**
 * Pairs along one side of a full Gram tile. A tile is 32 × 32 pairs (64 × 64 κ entries) worked by
 * 16 × 16 threads, each 2 × 2 pairs: per feature a thread reads 4 staged pairs and makes 16 κ
 * products, where one pair a thread (16-pair tiles, the first form) made 4 products per 4 reads and
 * was bound by workgroup-memory reads (H100, n = 16,384: the stored-G Grams ≈ 4.5 TFLOP/s).
 */
export const GRAM_TILE = 32;

/** Threads along a side of a tile's thread grid (16 × 16 = 256 threads). */
const GRID = 16;

/** Feature columns the stored-G Gram program stages per pass (the fused chain stages fewer: its workgroup memory also holds G). */
export const GRAM_CHUNK = 16;

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

/** Threads a tile of `side` pairs a side keeps busy: a grid of at most GRID × GRID, each thread (side / grid)² pairs. */
export function tileThreads(side: number): number {
  return Math.min(side, GRID) ** 2;
}

/**
 * Workgroup arrays of tiles of at most `side` pairs a side, `chunk` features per pass: the staged
 * k̃/v columns as [feature][pair] vec2s (the pair's two points), each feature row padded by one
 * pair so the transposing stores spread over the banks, and the key rows of the tiles' points.
 */
export function tileMemory(side: number, chunk: number): string {
  return `
    var<workgroup> tileA : array<vec2<f32>, ${chunk * (side + 1)}>;
    var<workgroup> tileB : array<vec2<f32>, ${chunk * (side + 1)}>;
    var<workgroup> rowA : array<i32, ${2 * side}>;
    var<workgroup> rowB : array<i32, ${2 * side}>;`;
}

/**
 * WGSL statements running `store(i, j, g)` (g = G[i, j]) for each pair (i, j), j ≥ i, that thread
 * tid works in tile (ti, tj) of a bucket of M pairs: thread (li, lj) of the grid works
 * i = side·ti + li + grid·r, j = side·tj + lj + grid·s for r, s < side / grid. Run by `threads` ≥
 * tileThreads(side) threads (the extra ones compute nothing they store). `rowOfPoint(p)`: key row
 * of the bucket's point p. Needs `shift`, `beta2`, `tid`. The k̃ columns then the v columns pass
 * through the tile `chunk` at a time; each thread loads its share of the next chunk into registers
 * before working on the current one, so the global-memory latency overlaps the arithmetic.
 * Every κ sums its products in coordinate order, as the host path does.
 */
export function tileEntriesWgsl(M: number, dk: number, dv: number, threads: number, chunk: number, rowOfPoint: (p: string) => string, store: (i: string, j: string, g: string) => string): string {
  const side = tileSide(M);
  const grid = Math.min(side, GRID);
  const per = side / grid;
  const rows = 2 * side;
  const pitch = side + 1;
  const kChunks = Math.ceil(dk / chunk);
  const chunks = kChunks + Math.ceil(dv / chunk);
  const shares = Math.ceil((rows * chunk) / threads);
  const each = (body: (e: number) => string) => Array.from({ length: shares }, (_, e) => body(e)).join('\n');
  const cells = (body: (r: number, s: number) => string) => Array.from({ length: per * per }, (_, x) => body(Math.floor(x / per), x % per)).join('\n');
  // thread tid's e-th share of a chunk is element q = tid + threads·e: point q / chunk, column q % chunk
  const load = (at: string) =>
    each(
      (e) => `{
          let q = tid + ${e * threads};
          let p = min(q / ${chunk}, ${rows - 1});
          na${e} = 0.0;
          nb${e} = 0.0;
          if (${at} < ${kChunks}) {
            let c = ${at} * ${chunk} + q % ${chunk};
            if (c < ${dk}) { na${e} = K[rowA[p] * ${dk} + c] * uniforms.root; nb${e} = K[rowB[p] * ${dk} + c] * uniforms.root; }
          } else {
            let c = (${at} - ${kChunks}) * ${chunk} + q % ${chunk};
            if (c < ${dv}) { na${e} = V[rowA[p] * ${dv} + c]; nb${e} = V[rowB[p] * ${dv} + c]; }
          }
        }`,
    );
  // point p of the tile is component p % 2 of pair p / 2
  const stage = each(
    (e) => `if (tid + ${e * threads} < ${rows * chunk}) {
            let q = tid + ${e * threads};
            let p = q / ${chunk};
            let at = (q % ${chunk}) * ${pitch} + p / 2;
            tileA[at][p % 2] = na${e};
            tileB[at][p % 2] = nb${e};
          }`,
  );
  return `
        {
        let inTile = tid < ${grid * grid};
        let li = min(tid / ${grid}, ${grid - 1});
        let lj = tid % ${grid};
        if (tid < ${rows}) {
          rowA[tid] = ${rowOfPoint(`${rows} * ti + tid`)};
          rowB[tid] = ${rowOfPoint(`${rows} * tj + tid`)};
        }
        workgroupBarrier();
        ${each((e) => `var na${e} = 0.0; var nb${e} = 0.0;`)}
        ${load('0')}
        // κ products of cell (r, s) as (2i, 2j), (2i, 2j + 1), (2i + 1, 2j), (2i + 1, 2j + 1)
        ${cells((r, s) => `var d${r}${s} = vec4<f32>(0.0); var l${r}${s} = vec4<f32>(0.0);`)}
        for (var chunk = 0; chunk < ${chunks}; chunk++) {
          ${stage}
          workgroupBarrier();
          if (chunk + 1 < ${chunks}) { ${load('(chunk + 1)')} }
          // the logits are done when the v columns start
          if (chunk == ${kChunks}) {
            ${cells((r, s) => `l${r}${s} = d${r}${s}; d${r}${s} = vec4<f32>(0.0);`)}
          }
          let width = select(min(${chunk}, ${dv} - (chunk - ${kChunks}) * ${chunk}), min(${chunk}, ${dk} - chunk * ${chunk}), chunk < ${kChunks});
          for (var c = 0; c < width; c++) {
            ${Array.from({ length: per }, (_, r) => `let a${r} = tileA[c * ${pitch} + li + ${grid * r}];`).join(' ')}
            ${Array.from({ length: per }, (_, s) => `let b${s} = tileB[c * ${pitch} + lj + ${grid * s}];`).join(' ')}
            ${cells((r, s) => `d${r}${s} = d${r}${s} + a${r}.xxyy * b${s}.xyxy;`)}
          }
          workgroupBarrier();
        }
        ${cells(
          (r, s) => `{
          let kappa = exp(l${r}${s} - shift) * (d${r}${s} + beta2);
          let i = ti * ${side} + li + ${grid * r};
          let j = tj * ${side} + lj + ${grid * s};
          if (inTile && j >= i) { ${store('i', 'j', '(kappa.x - kappa.y) - (kappa.z - kappa.w)')} }
        }`,
        )}
        }`;
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
    ${tileMemory(GRAM_TILE, GRAM_CHUNK)}
    ${addressing(2 * M)}
    fn main(index : i32) {
      let w = ${WORKGROUP_INDEX};
      let valid = w < uniforms.buckets * ${upper};
      let b = min(w / ${upper}, uniforms.buckets - 1);
      let tid = i32(localIndex);
      ${SHIFTS}
      ${upperTile(tiles, `w % ${upper}`)}
      ${tileEntriesWgsl(M, dk, dv, tileThreads(GRAM_TILE), GRAM_CHUNK, (p) => `rowOf(b, pointAt(b, ${p}))`, (i, j, g) => `if (valid) { result[(b * ${M} + ${i}) * ${M} + ${j}] = ${g}; }`)}
    }`;
}
