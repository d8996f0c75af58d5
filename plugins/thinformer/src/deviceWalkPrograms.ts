/**
 * WGSL of the self-balancing walk of one KH-halve round on tfjs-webgpu (used by
 * thinformerWebGpu.ts). The walk is a chain of M dependent steps per bucket, so its speed is the
 * latency of one step. A first form evaluated the κ entries each step needs on the fly (8 dot
 * products of dk + dv through an index indirection per thread per step), ≈ 48 µs a step on an
 * H100; then the Grams came first (deviceGramTiles.ts) and a step became a TwoSum update behind a
 * workgroup barrier (≈ 0.38 µs); now one thread walks a block of pairs between two barriers
 * (`walkWgsl`):
 *
 *   - `walkFromGramWgsl`: a workgroup per bucket walks a stored G;
 *   - `fusedChainWgsl` (M ≤ FUSED_MAX_PAIRS): G's triangle fits workgroup memory, so a workgroup
 *     computes it there and walks it, and runs consecutive such rounds of the buckets that feed
 *     one bucket of the chain's last round: one dispatch for all of them.
 *
 * The host walk sums a_j in float64; here a_j is a float32 pair (TwoSum), since a plain float32
 * sum over M ≈ 10³ terms drifts enough to flip decisions near their threshold.
 */
import { WGSL_WORKGROUP_INDEX as WORKGROUP_INDEX } from '@swapformer/kernels';
import { addressing, SHIFTS, tileEntriesWgsl, tileMemory, tileSide, tileThreads, upperTile } from './deviceGramTiles';

/** Largest M whose G triangle (M(M+1)/2 floats, 8.3 KB at 64) fits beside the rest in 16 KB of workgroup memory. */
export const FUSED_MAX_PAIRS = 64;

/** Most survivors a fused chain keeps between its rounds (two buffers of it fit beside the triangle). */
const CHAIN_MAX_POINTS = 256;

/**
 * Most rounds in one fused chain: the main configuration, g = 2, has exactly two fused rounds
 * (M = 32, 64), and longer chains only make larger shaders for lavapipe (CI) to compile.
 */
const CHAIN_MAX_ROUNDS = 2;

/** Threads of a walk workgroup over a stored G: owners of a_j for j ≡ tid mod threads (no idle thread slows the per-step barrier). */
export function walkThreads(M: number): number {
  return Math.min(M, 256);
}

/** Where a walk reads its draws and coin and puts its survivors (WGSL fragments). */
interface WalkIo {
  /** U_j. */
  readonly draw: (j: string) => string;
  /** The symmetrisation coin (0 or 1). */
  readonly flip: string;
  /** Statement keeping point `p` of the bucket as survivor j. */
  readonly keep: (j: string, p: string) => string;
}

/** WGSL: this program's round q's offsets into the draws tensor (its header holds [drawOffset, flipOffset] per round after the ranges'). */
function drawOffsets(q: number): string {
  return `
      let drawOffset = i32(draws[2 * (uniforms.ranges + uniforms.round + ${q})]);
      let flipOffset = i32(draws[2 * (uniforms.ranges + uniforms.round + ${q}) + 1]);`;
}

/**
 * Pairs one thread walks at a time (B). The walk's M steps cannot overlap, so their cost is their
 * latency: a step that waits on a workgroup barrier (≈ 0.38 µs on an H100) made the M = 512 walk
 * 0.20 ms. In blocks, one thread walks B pairs with their a_j in registers (no barrier inside),
 * then the workgroup adds the block's signed rows to every later a_j: two barriers a block. The
 * thread's work per step grows with B, the barriers per step shrink as 1/B. H100, n = 16,384:
 * B = 8 took the M = 512 walk to 0.10 ms (the three walks 0.26 → 0.19); B = 16 was slower (0.24).
 */
const WALK_BLOCK = 8;

/** TwoSum: hi + lo carries a running sum to about twice float32's precision (statements adding x). */
function twoSumWgsl(hi: string, lo: string, x: string): string {
  return `{
          let x = ${x};
          let s = ${hi} + x;
          let bb = s - ${hi};
          ${lo} = ${lo} + ((${hi} - (s - bb)) + (x - bb));
          let t = s + ${lo};
          ${lo} = ${lo} - (t - s);
          ${hi} = t;
        }`;
}

/**
 * Workgroup arrays of a walk over at most M pairs with `threads` threads. `stageBlocks`: a block's
 * diagonal tile is copied to `gBlock` (B rows of 2B, the right half 0, so the walking thread reads
 * a full row past the block's end without a test).
 */
function walkMemory(M: number, threads: number, stageBlocks: boolean): string {
  const B = Math.min(WALK_BLOCK, M);
  return `
    var<workgroup> scan : array<f32, ${threads}>;
    var<workgroup> thr : array<f32, ${M}>;
    var<workgroup> accHi : array<f32, ${M}>;
    var<workgroup> accLo : array<f32, ${M}>;
    var<workgroup> swapBits : array<u32, ${M / B}>;
    ${stageBlocks ? `var<workgroup> gBlock : array<f32, ${2 * B * B}>;` : ''}`;
}

/**
 * The walk of one bucket given `gAt(i, j)` (a WGSL expression for G[i, j], j ≥ i). Thread tid owns
 * a_j for j = tid + threads·e, e < per (unrolled slots, so the loads stay in registers).
 * Thresholds u_j = U_j·r_j·C_j (C a prefix max of r) are formed first by a chunked scan. Then per
 * block of B pairs: thread 0 walks them from the block's a_j (pair i swaps iff u_i ≤ a_i, and
 * a_l += ±G[i, l] for the block's later l), its registers h/w rotating so that h0 is always the
 * current pair's (straight-line code over B − 1 registers instead of B²/2 unrolled updates: the
 * shader stays small enough for software Vulkan to compile quickly); then the owners add the
 * block's signed rows to their later a_j. Every a_j sums in the host's order (i ascending), so
 * decisions match the step-by-step walk's bit for bit. The owners' G loads are issued before the
 * block's walk (issuing them a whole block earlier measured no faster). `stageBlocks`: G is in
 * global memory, so the block's diagonal tile is copied to workgroup memory first.
 */
function walkWgsl(M: number, threads: number, gAt: (i: string, j: string) => string, io: WalkIo, stageBlocks: boolean): string {
  const per = Math.ceil(M / threads);
  const B = Math.min(WALK_BLOCK, M);
  const slots = (body: (e: number) => string) => Array.from({ length: per }, (_, e) => body(e)).join('\n');
  const inBlock = (body: (i: number) => string) => Array.from({ length: B }, (_, i) => body(i)).join('\n');
  // G[blk + i, blk + i + 1 + k], 0 past the block
  const rowEntry = (k: number) =>
    stageBlocks ? `gBlock[i * ${2 * B} + i + ${1 + k}]` : `select(0.0, ${gAt('blk + i', `min(blk + i + ${1 + k}, ${M - 1})`)}, i + ${1 + k} < ${B})`;
  return `
      let flip = ${io.flip};
      var carry = 0.0;
      ${slots((e) => `
      let j${e} = min(tid + ${e * threads}, ${M - 1});
      let owns${e} = tid + ${e * threads} < ${M};
      let r${e} = sqrt(max(${gAt(`j${e}`, `j${e}`)}, 0.0)); // cancellation can make G_jj slightly negative
      scan[tid] = r${e};
      workgroupBarrier();
      for (var off = 1; off < ${threads} * uniforms.one; off = off * 2) {
        var x = 0.0;
        if (tid >= off) { x = scan[tid - off]; }
        workgroupBarrier();
        scan[tid] = max(scan[tid], x);
        workgroupBarrier();
      }
      if (owns${e}) {
        thr[j${e}] = ${io.draw(`j${e}`)} * r${e} * max(carry, scan[tid]);
        accHi[j${e}] = 0.0;
        accLo[j${e}] = 0.0;
      }
      carry = max(carry, scan[${threads - 1}]);
      workgroupBarrier();`)}
      for (var blk = 0; blk < ${M} * uniforms.one; blk = blk + ${B}) {
        // G does not depend on the signs: the owners' rows of this block load while thread 0 walks it
        ${slots((e) => inBlock((i) => `let g${e}_${i} = ${gAt(`blk + ${i}`, `max(blk + ${i}, j${e})`)};`))}
        ${
          stageBlocks
            ? `for (var e = tid; e < ${2 * B * B}; e = e + ${threads}) {
          let row = e / ${2 * B};
          let col = e % ${2 * B};
          gBlock[e] = select(0.0, ${gAt('blk + row', `blk + max(row, min(col, ${B - 1}))`)}, col < ${B});
        }`
            : ''
        }
        workgroupBarrier();
        if (tid == 0) {
          ${inBlock((l) => `var h${l} = accHi[blk + ${l}];\n          var w${l} = accLo[blk + ${l}];`)}
          var bits = 0u;
          for (var i = 0; i < ${B} * uniforms.one; i++) {
            let swap = blk + i > 0 && thr[blk + i] <= h0;
            bits = bits | select(0u, 1u << u32(i), swap);
            let sign = select(1.0, -1.0, swap);
            ${Array.from({ length: B - 1 }, (_, k) => twoSumWgsl(`h${k + 1}`, `w${k + 1}`, `sign * ${rowEntry(k)}`)).join('\n')}
            ${Array.from({ length: B - 1 }, (_, k) => `h${k} = h${k + 1}; w${k} = w${k + 1};`).join(' ')}
          }
          swapBits[blk / ${B}] = bits;
        }
        workgroupBarrier();
        let bits = swapBits[blk / ${B}];
        ${slots((e) => `
        if (owns${e} && j${e} >= blk + ${B}) {
          var hi = accHi[j${e}];
          var lo = accLo[j${e}];
          ${inBlock((i) => twoSumWgsl('hi', 'lo', `select(1.0, -1.0, ((bits >> ${i}u) & 1u) == 1u) * g${e}_${i}`))}
          accHi[j${e}] = hi;
          accLo[j${e}] = lo;
        }`)}
      }
      ${slots((e) => `if (owns${e}) {
        let swap = i32((swapBits[j${e} / ${B}] >> u32(j${e} % ${B})) & 1u);
        ${io.keep(`j${e}`, `2 * j${e} + (swap ^ flip)`)}
      }`)}`;
}

/** Prologue of the stored-G walk: which bucket, and whether it is a real one. */
const BUCKET_PROLOGUE = `
      let bucket = ${WORKGROUP_INDEX};
      let valid = bucket < uniforms.buckets;
      let b = min(bucket, uniforms.buckets - 1);
      let tid = i32(localIndex);`;

/** One walk per bucket over a stored G [buckets, M, M]. Inputs G, points, draws → survivors [buckets·M] (key positions after the plan's last round). */
export function walkFromGramWgsl(M: number): string {
  return `
    ${walkMemory(M, walkThreads(M), true)}
    ${addressing(2 * M)}
    fn main(index : i32) {
      ${BUCKET_PROLOGUE}
      let gBase = b * ${M * M};
      ${drawOffsets(0)}
      ${walkWgsl(M, walkThreads(M), (i, j) => `G[gBase + (${i}) * ${M} + (${j})]`, {
        draw: (j) => `draws[drawOffset + b * ${M} + ${j}]`,
        flip: `i32(draws[flipOffset + statsOf(b) / uniforms.slices])`,
        keep: (j, p) => `if (valid) { result[b * ${M} + ${j}] = keyOf(b, pointAt(b, ${p})); }`,
      }, true)}
    }`;
}

/**
 * Rounds a fused chain starting with buckets of `firstPairs` pairs can take, at most `available`
 * and CHAIN_MAX_ROUNDS: while M ≤ FUSED_MAX_PAIRS and the survivors held between rounds fit CHAIN_MAX_POINTS.
 */
export function fusedChainLength(firstPairs: number, available: number): number {
  let k = 0;
  while (k + 1 < Math.min(available, CHAIN_MAX_ROUNDS) && firstPairs * 2 ** (k + 1) <= FUSED_MAX_PAIRS && 4 ** (k + 1) * firstPairs <= CHAIN_MAX_POINTS) k++;
  return firstPairs <= FUSED_MAX_PAIRS ? k + 1 : 0;
}

/** Threads of a fused chain workgroup: those of its largest Gram tile. */
export function fusedThreads(firstPairs: number, rounds: number): number {
  return tileThreads(tileSide(firstPairs * 2 ** (rounds - 1)));
}

/**
 * Feature columns a fused chain stages per pass: with 32-pair tiles, 16 columns (the stored-G
 * Grams' chunk) would take the workgroup memory past the 16 KiB every WebGPU device offers.
 */
const FUSED_CHUNK = 8;

/**
 * Rounds q < `rounds` (M_q = firstPairs·2^q) in one workgroup per bucket of the last one: round q
 * halves the 4^(rounds−1−q) buckets feeding it one after another, each by computing its Gram
 * tiles into G's upper triangle in workgroup memory (row i at i·M − i(i−1)/2) and walking it;
 * survivors between rounds stay in workgroup memory. Inputs K, V, stats, points, draws →
 * survivors of the last round [buckets of it · M] (key positions when it is the plan's last).
 */
export function fusedChainWgsl(firstPairs: number, rounds: number, dk: number, dv: number): string {
  const threads = fusedThreads(firstPairs, rounds);
  const last = firstPairs * 2 ** (rounds - 1);
  const feeding = 4 ** (rounds - 1); // first-round buckets per workgroup
  const buffer = (q: number) => (q % 2 === 0 ? 'keptA' : 'keptB');
  const roundCode = (q: number) => {
    const M = firstPairs * 2 ** q;
    const S = 2 * M;
    const tiles = M / tileSide(M);
    const count = 4 ** (rounds - 1 - q);
    const tri = (i: string, j: string) => `tri[(${i}) * ${M} - ((${i}) * ((${i}) - 1)) / 2 + (${j}) - (${i})]`;
    // round 0 reads the positions entering the program, later rounds the survivors kept here
    const point = (p: string) => (q === 0 ? `pointAt(b + u, ${p})` : `${buffer(q - 1)}[u * ${S} + ${p}]`);
    const keep = (j: string, p: string) => (q === rounds - 1 ? `if (valid) { result[w * ${M} + ${j}] = keyOf(b, ${point(p)}); }` : `${buffer(q)}[u * ${M} + ${j}] = ${point(p)};`);
    return `
      {
        ${drawOffsets(q)}
        for (var u = 0; u < ${count} * uniforms.one; u++) {
          for (var tt = 0; tt < ${(tiles * (tiles + 1)) / 2} * uniforms.one; tt++) {
            ${upperTile(tiles, 'tt')}
            ${tileEntriesWgsl(M, dk, dv, threads, FUSED_CHUNK, (p) => `rowOf(b, ${point(p)})`, (i, j, g) => `${tri(i, j)} = ${g};`)}
          }
          workgroupBarrier();
          {
            ${walkWgsl(M, threads, tri, { draw: (j) => `draws[drawOffset + (w * ${count} + u) * ${M} + ${j}]`, flip: `i32(draws[flipOffset + statsOf(b) / uniforms.slices])`, keep }, false)}
          }
          workgroupBarrier();
        }
      }`;
  };
  return `
    ${walkMemory(last, threads, false)}
    var<workgroup> tri : array<f32, ${(last * (last + 1)) / 2}>;
    ${rounds > 1 ? `var<workgroup> keptA : array<f32, ${feeding * firstPairs}>;` : ''}
    ${rounds > 2 ? `var<workgroup> keptB : array<f32, ${(feeding * firstPairs) / 2}>;` : ''}
    ${tileMemory(tileSide(last), FUSED_CHUNK)}
    ${addressing(2 * firstPairs)}
    fn main(index : i32) {
      let workgroups = uniforms.buckets / ${feeding};
      let valid = ${WORKGROUP_INDEX} < workgroups;
      let w = min(${WORKGROUP_INDEX}, workgroups - 1);
      let b = w * ${feeding}; // its first first-round bucket: all share the virtual slice
      let tid = i32(localIndex);
      ${SHIFTS}
      ${Array.from({ length: rounds }, (_, q) => roundCode(q)).join('\n')}
    }`;
}
