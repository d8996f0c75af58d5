/**
 * WGSL of the self-balancing walk of one KH-halve round on tfjs-webgpu (used by
 * thinformerWebGpu.ts). The walk is a chain of M dependent steps per bucket, so its speed is the
 * latency of one step. A first form evaluated the κ entries each step needs on the fly (8 dot
 * products of dk + dv through an index indirection per thread per step), ≈ 48 µs a step on an
 * H100; here the Grams come first (deviceGramTiles.ts) and a step is a TwoSum update:
 *
 *   - `walkFromGramWgsl`: a workgroup per bucket reads one row of a stored G per step, prefetched
 *     one step ahead (G does not depend on the signs, so the load is off the chain);
 *   - `fusedChainWgsl` (M ≤ FUSED_MAX_PAIRS): G's triangle fits workgroup memory, so a workgroup
 *     computes it there and walks it, and runs consecutive such rounds of the buckets that feed
 *     one bucket of the chain's last round: one dispatch for all of them.
 *
 * The host walk sums a_j in float64; here a_j is a float32 pair (TwoSum), since a plain float32
 * sum over M ≈ 10³ terms drifts enough to flip decisions near their threshold.
 */
import { WGSL_WORKGROUP_INDEX as WORKGROUP_INDEX } from '@swapformer/kernels';
import { addressing, SHIFTS, tileEntryWgsl, tileMemory, tileSide, upperTile } from './deviceGramTiles';

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
 * The walk of one bucket given `gAt(i, j)` (a WGSL expression for G[i, j], j ≥ i). Thread tid owns
 * a_j for j = tid + threads·e, e < per; the per-thread slots are unrolled here so they stay in
 * registers (a dynamically indexed array spills to local memory, whose latency would sit on the
 * chain). Thresholds u_j = U_j·r_j·C_j (C a prefix max of r) are formed before the chain by a
 * chunked scan; each step the owner of i compares and publishes the sign (double-buffered, one
 * barrier per step) and every thread adds ±G[i, j] to its a_j, j > i. Survivors are written after
 * the chain, so no global access is on it.
 */
function walkWgsl(M: number, threads: number, gAt: (i: string, j: string) => string, io: WalkIo): string {
  const per = Math.ceil(M / threads);
  const slots = (body: (e: number) => string) => Array.from({ length: per }, (_, e) => body(e)).join('\n');
  return `
      let flip = ${io.flip};
      var carry = 0.0;
      ${slots((e) => `
      let j${e} = min(tid + ${e * threads}, ${M - 1});
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
      let thr${e} = ${io.draw(`j${e}`)} * r${e} * max(carry, scan[tid]);
      carry = max(carry, scan[${threads - 1}]);
      workgroupBarrier();
      var hi${e} = 0.0;
      var lo${e} = 0.0;
      var cur${e} = ${gAt('0', `j${e}`)};
      var swap${e} = 0;`)}
      for (var i = 0; i < ${M} * uniforms.one; i++) {
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
      ${slots((e) => `if (tid + ${e * threads} < ${M}) { ${io.keep(`j${e}`, `2 * j${e} + (swap${e} ^ flip)`)} }`)}`;
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
    var<workgroup> signs : array<i32, 2>;
    var<workgroup> scan : array<f32, ${walkThreads(M)}>;
    ${addressing(2 * M)}
    fn main(index : i32) {
      ${BUCKET_PROLOGUE}
      let gBase = b * ${M * M};
      ${drawOffsets(0)}
      ${walkWgsl(M, walkThreads(M), (i, j) => `G[gBase + (${i}) * ${M} + (${j})]`, {
        draw: (j) => `draws[drawOffset + b * ${M} + ${j}]`,
        flip: `i32(draws[flipOffset + statsOf(b) / uniforms.slices])`,
        keep: (j, p) => `if (valid) { result[b * ${M} + ${j}] = keyOf(b, pointAt(b, ${p})); }`,
      })}
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

/** Threads of a fused chain workgroup: one per entry of its largest Gram tile (≥ M of every round, so each a_j has an owner). */
export function fusedThreads(firstPairs: number, rounds: number): number {
  return tileSide(firstPairs * 2 ** (rounds - 1)) ** 2;
}

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
            ${tileEntryWgsl(M, dk, dv, threads, (p) => `rowOf(b, ${point(p)})`)}
            if (inTile && j >= i) { ${tri('i', 'j')} = g; }
          }
          workgroupBarrier();
          {
            ${walkWgsl(M, threads, tri, { draw: (j) => `draws[drawOffset + (w * ${count} + u) * ${M} + ${j}]`, flip: `i32(draws[flipOffset + statsOf(b) / uniforms.slices])`, keep })}
          }
          workgroupBarrier();
        }
      }`;
  };
  return `
    var<workgroup> signs : array<i32, 2>;
    var<workgroup> scan : array<f32, ${threads}>;
    var<workgroup> tri : array<f32, ${(last * (last + 1)) / 2}>;
    ${rounds > 1 ? `var<workgroup> keptA : array<f32, ${feeding * firstPairs}>;` : ''}
    ${rounds > 2 ? `var<workgroup> keptB : array<f32, ${(feeding * firstPairs) / 2}>;` : ''}
    ${tileMemory(tileSide(last))}
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
