/**
 * WGSL of one KH-halve round on tfjs-webgpu (used by thinformerWebGpu.ts). The walk is a chain of
 * M dependent steps per bucket, so its speed is the latency of one step. A first form evaluated
 * the κ entries each step needs on the fly (8 dot products of dk + dv through an index
 * indirection per thread per step), ≈ 48 µs a step on an H100; here no step computes anything
 * but a TwoSum update:
 *
 *   - `pairGramProgram`: the pair-difference Gram matrices G [buckets, M, M] (upper triangle),
 *     spread over tiles of 16 × 16 pairs, each workgroup staging the k̃/v rows of its tile in
 *     workgroup memory, then `walkProgram`: a workgroup per bucket reads one row of G per step,
 *     prefetched one step ahead (G does not depend on the signs, so the load is off the chain);
 *   - `fusedRoundProgram` (M ≤ FUSED_MAX_PAIRS): G's triangle fits workgroup memory, so one
 *     workgroup per bucket computes it there and walks it: one dispatch per round.
 *
 * Arithmetic is the host path's (pairDifferenceGrams.ts) in float32: κ = exp(⟨k̃_a, k̃_b⟩ − c) ·
 * (⟨v_a, v_b⟩ + β²) with k̃ = root·k rounded per coordinate and the dot products summed in
 * coordinate order, G_ij = (κ(2i,2j) − κ(2i,2j+1)) − (κ(2i+1,2j) − κ(2i+1,2j+1)). The host walk
 * sums a_j in float64; here a_j is a float32 pair (TwoSum), since a plain float32 sum over M ≈ 10³
 * terms drifts enough to flip decisions near their threshold.
 *
 * Points are addressed as "virtual slices" vs = range · slices + slice: the causal form halves
 * many equal-length key ranges [lo + range·step, …) of every slice in the same dispatch.
 */
import { WGSL_WORKGROUP_INDEX as WORKGROUP_INDEX } from '@swapformer/kernels';

/** Largest M whose G triangle (M(M+1)/2 floats, 8.3 KB at 64) fits beside the rest in 16 KB of workgroup memory. */
export const FUSED_MAX_PAIRS = 64;

/** Threads of a walk workgroup over a stored G: owners of a_j for j ≡ tid mod threads (no idle thread slows the per-step barrier). */
export function walkThreads(M: number): number {
  return Math.min(M, 256);
}

/** Pairs along one side of a Gram tile: 16 × 16 = 256 threads, one G entry each. */
export const GRAM_TILE = 16;

/** Feature columns staged per pass of the Gram tile (rows padded by one against bank conflicts). */
const CHUNK = 16;

/** Uniform declarations shared by the round programs (must match `roundUniforms` in thinformerWebGpu.ts). */
export const ROUND_UNIFORMS =
  'buckets : i32, bucketsPerSlice : i32, slices : i32, nk : i32, lo : i32, step : i32, stride : i32, identity : i32, drawOffset : i32, flipOffset : i32, partials : i32, root : f32,';

/** WGSL helpers: the thinned position of point p of bucket b, and its row in K/V [slices, nk, d]. */
function addressing(S: number): string {
  return `
    fn pointAt(b : i32, p : i32) -> f32 {
      // round 0 starts from the identity, so no [V, n] position tensor is built for it
      if (uniforms.identity == 1) { return f32((b % uniforms.bucketsPerSlice) * ${S} + p); }
      return points[b * ${S} + p];
    }
    fn rowOf(b : i32, p : f32) -> i32 {
      let vs = b / uniforms.bucketsPerSlice;
      return (vs % uniforms.slices) * uniforms.nk + uniforms.lo + (vs / uniforms.slices) * uniforms.step + i32(p) * uniforms.stride;
    }
    fn statsOf(b : i32) -> i32 { return b / uniforms.bucketsPerSlice; } // c and β are per range and slice`;
}

/**
 * The walk of one bucket given `gAt(i, j)` (a WGSL expression for G[i, j], j ≥ i). Thread tid owns
 * a_j for j = tid + threads·e, e < per; the per-thread slots are unrolled here so they stay in
 * registers (a dynamically indexed array spills to local memory, whose latency would sit on the
 * chain). Thresholds u_j = U_j·r_j·C_j (C a prefix max of r) are formed before the chain by a
 * chunked scan; each step the owner of i compares and publishes the sign (double-buffered, one
 * barrier per step) and every thread adds ±G[i, j] to its a_j, j > i. Survivors are written after
 * the chain, so no global access is on it.
 */
function walkWgsl(M: number, threads: number, gAt: (i: string, j: string) => string): string {
  const per = Math.ceil(M / threads);
  const slots = (body: (e: number) => string) => Array.from({ length: per }, (_, e) => body(e)).join('\n');
  return `
      let flip = i32(draws[uniforms.flipOffset + b / (uniforms.bucketsPerSlice * uniforms.slices)]);
      var carry = 0.0;
      ${slots((e) => `
      let j${e} = min(tid + ${e * threads}, ${M - 1});
      let r${e} = sqrt(max(${gAt(`j${e}`, `j${e}`)}, 0.0)); // cancellation can make G_jj slightly negative
      scan[tid] = r${e};
      workgroupBarrier();
      for (var off = 1; off < ${threads}; off = off * 2) {
        var x = 0.0;
        if (tid >= off) { x = scan[tid - off]; }
        workgroupBarrier();
        scan[tid] = max(scan[tid], x);
        workgroupBarrier();
      }
      let thr${e} = draws[uniforms.drawOffset + b * ${M} + j${e}] * r${e} * max(carry, scan[tid]);
      carry = max(carry, scan[${threads - 1}]);
      workgroupBarrier();
      var hi${e} = 0.0;
      var lo${e} = 0.0;
      var cur${e} = ${gAt('0', `j${e}`)};
      var swap${e} = 0;`)}
      for (var i = 0; i < ${M}; i++) {
        // the next row's loads do not depend on this step's sign: issue them before the barrier
        let nextRow = min(i + 1, ${M - 1});
        ${slots((e) => `let nxt${e} = ${gAt('nextRow', `max(nextRow, j${e})`)};`)}
        if (tid == i % ${threads}) {
          ${slots((e) => `if (i / ${threads} == ${e}) { swap${e} = select(0, 1, i > 0 && thr${e} <= hi${e}); signs[i & 1] = swap${e}; }`)}
        }
        workgroupBarrier();
        let sign = 1.0 - 2.0 * f32(signs[i & 1]);
        ${slots((e) => `
        if (tid + ${e * threads} > i && tid + ${e * threads} < ${M}) {
          // TwoSum: hi + lo carries the running sum to about twice float32's precision
          let x = sign * cur${e};
          let s = hi${e} + x;
          let bb = s - hi${e};
          lo${e} = lo${e} + ((hi${e} - (s - bb)) + (x - bb));
          let t = s + lo${e};
          lo${e} = lo${e} - (t - s);
          hi${e} = t;
        }
        cur${e} = nxt${e};`)}
      }
      if (valid) {
        ${slots((e) => `if (tid + ${e * threads} < ${M}) { result[b * ${M} + j${e}] = pointAt(b, 2 * j${e} + (swap${e} ^ flip)); }`)}
      }`;
}

/** Prologue common to the per-bucket programs: which bucket, and whether it is a real one. */
const BUCKET_PROLOGUE = `
      let bucket = ${WORKGROUP_INDEX};
      let valid = bucket < uniforms.buckets;
      let b = min(bucket, uniforms.buckets - 1);
      let tid = i32(localIndex);`;

/** Pairs along a side of the Gram tiles of buckets of M pairs (GRAM_TILE, or M itself when smaller). */
function tileSide(M: number): number {
  return Math.min(GRAM_TILE, M);
}

/** Workgroup arrays of one Gram tile: the staged k̃/v columns and the key rows of its points. */
function tileMemory(M: number): string {
  const rows = 2 * tileSide(M);
  return `
    var<workgroup> tileA : array<f32, ${rows * (CHUNK + 1)}>;
    var<workgroup> tileB : array<f32, ${rows * (CHUNK + 1)}>;
    var<workgroup> rowA : array<i32, ${rows}>;
    var<workgroup> rowB : array<i32, ${rows}>;`;
}

/**
 * WGSL statements giving \`g\` = G[i, j] for thread (li, lj) of tile (ti, tj) of bucket b, with
 * i = side·ti + li, j = side·tj + lj: the tile's 2·side row and column points are staged CHUNK
 * feature columns at a time (rows padded by one against bank conflicts), so each k̃/v value is
 * read from global memory once per tile instead of once per κ. Needs \`shift\`, \`beta2\`, \`tid\`.
 */
function tileEntryWgsl(M: number, dk: number, dv: number): string {
  const side = tileSide(M);
  const rows = 2 * side;
  const pitch = CHUNK + 1;
  const dotPass = (X: string, d: number, scaled: boolean) => `
        for (var c0 = 0; c0 < ${d}; c0 += ${CHUNK}) {
          for (var q = tid; q < ${rows * CHUNK}; q += ${side * side}) {
            let p = q / ${CHUNK};
            let c = c0 + q % ${CHUNK};
            var x = 0.0;
            var y = 0.0;
            if (c < ${d}) { x = ${X}[rowA[p] * ${d} + c]; y = ${X}[rowB[p] * ${d} + c]; }
            tileA[p * ${pitch} + q % ${CHUNK}] = ${scaled ? 'x * uniforms.root' : 'x'};
            tileB[p * ${pitch} + q % ${CHUNK}] = ${scaled ? 'y * uniforms.root' : 'y'};
          }
          workgroupBarrier();
          for (var c = 0; c < min(${CHUNK}, ${d} - c0); c++) {
            let a0 = tileA[(2 * li) * ${pitch} + c];
            let a1 = tileA[(2 * li + 1) * ${pitch} + c];
            let b0 = tileB[(2 * lj) * ${pitch} + c];
            let b1 = tileB[(2 * lj + 1) * ${pitch} + c];
            d00 = d00 + a0 * b0; d01 = d01 + a0 * b1; d10 = d10 + a1 * b0; d11 = d11 + a1 * b1;
          }
          workgroupBarrier();
        }`;
  return `
        let li = tid / ${side};
        let lj = tid % ${side};
        if (tid < ${rows}) {
          rowA[tid] = rowOf(b, pointAt(b, ${rows} * ti + tid));
          rowB[tid] = rowOf(b, pointAt(b, ${rows} * tj + tid));
        }
        workgroupBarrier();
        var d00 = 0.0; var d01 = 0.0; var d10 = 0.0; var d11 = 0.0;
        ${dotPass('K', dk, true)}
        let l00 = d00; let l01 = d01; let l10 = d10; let l11 = d11;
        d00 = 0.0; d01 = 0.0; d10 = 0.0; d11 = 0.0;
        ${dotPass('V', dv, false)}
        let k00 = exp(l00 - shift) * (d00 + beta2);
        let k01 = exp(l01 - shift) * (d01 + beta2);
        let k10 = exp(l10 - shift) * (d10 + beta2);
        let k11 = exp(l11 - shift) * (d11 + beta2);
        let i = ti * ${side} + li;
        let j = tj * ${side} + lj;
        let g = (k00 - k01) - (k10 - k11);`;
}

/** WGSL: (ti, tj) of the t-th upper tile (tj ≥ ti) of a bucket with \`tiles\` tiles a side, row by row. */
function upperTile(tiles: number, t: string): string {
  return `
        var ti = 0;
        var t = ${t};
        while (t >= ${tiles} - ti) { t = t - (${tiles} - ti); ti = ti + 1; }
        let tj = ti + t;`;
}

/** c and β² of bucket b, from the stats program's partial maxima (max is exact, so any split gives the same c and β). */
const SHIFTS = `
      var shift = 0.0;
      var beta = 0.0;
      for (var p = 0; p < uniforms.partials; p++) {
        shift = max(shift, stats[(statsOf(b) * uniforms.partials + p) * 2]);
        beta = max(beta, stats[(statsOf(b) * uniforms.partials + p) * 2 + 1]);
      }
      let beta2 = beta * beta;`;

/**
 * Gram tiles: workgroup w holds one upper tile (tj ≥ ti; the walk reads j ≥ i only) of bucket
 * w / upper; out-of-range workgroups compute but do not store (an early return would break the
 * barriers' uniformity). Inputs K, V, stats, points. Output G [buckets, M, M].
 */
export function pairGramWgsl(M: number, dk: number, dv: number): string {
  const tiles = M / GRAM_TILE;
  const upper = (tiles * (tiles + 1)) / 2;
  return `
    ${tileMemory(M)}
    ${addressing(2 * M)}
    fn main(index : i32) {
      let w = ${WORKGROUP_INDEX};
      let valid = w < uniforms.buckets * ${upper};
      let b = min(w / ${upper}, uniforms.buckets - 1);
      let tid = i32(localIndex);
      ${SHIFTS}
      ${upperTile(tiles, `w % ${upper}`)}
      ${tileEntryWgsl(M, dk, dv)}
      if (valid && j >= i) { result[(b * ${M} + i) * ${M} + j] = g; }
    }`;
}

/** One walk per bucket over a stored G [buckets, M, M]. Inputs G, points, draws → survivors [buckets·M]. */
export function walkFromGramWgsl(M: number): string {
  return `
    var<workgroup> signs : array<i32, 2>;
    var<workgroup> scan : array<f32, ${walkThreads(M)}>;
    ${addressing(2 * M)}
    fn main(index : i32) {
      ${BUCKET_PROLOGUE}
      let gBase = b * ${M * M};
      ${walkWgsl(M, walkThreads(M), (i, j) => `G[gBase + (${i}) * ${M} + (${j})]`)}
    }`;
}

/** Threads of a fused workgroup: one per entry of a Gram tile (≥ M, so each a_j has an owner). */
export function fusedThreads(M: number): number {
  return tileSide(M) ** 2;
}

/**
 * Gram and walk of one bucket in one workgroup: the workgroup computes the bucket's upper tiles
 * one after another into G's upper triangle in workgroup memory (row i starts at i·M − i(i−1)/2),
 * then walks it. Inputs K, V, stats, points, draws → survivors [buckets·M].
 */
export function fusedRoundWgsl(M: number, dk: number, dv: number): string {
  const tiles = M / tileSide(M);
  const tri = (i: string, j: string) => `tri[(${i}) * ${M} - ((${i}) * ((${i}) - 1)) / 2 + (${j}) - (${i})]`;
  return `
    var<workgroup> signs : array<i32, 2>;
    var<workgroup> scan : array<f32, ${fusedThreads(M)}>;
    var<workgroup> tri : array<f32, ${(M * (M + 1)) / 2}>;
    ${tileMemory(M)}
    ${addressing(2 * M)}
    fn main(index : i32) {
      ${BUCKET_PROLOGUE}
      ${SHIFTS}
      for (var u = 0; u < ${(tiles * (tiles + 1)) / 2}; u++) {
        ${upperTile(tiles, 'u')}
        ${tileEntryWgsl(M, dk, dv)}
        if (j >= i) { ${tri('i', 'j')} = g; }
      }
      workgroupBarrier();
      ${walkWgsl(M, fusedThreads(M), tri)}
    }`;
}
