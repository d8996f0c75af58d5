/**
 * Sizes and buffer layouts the device KDEformer's programs share (lshSortWebGpu.ts,
 * kdeResidualWebGpu.ts), and the one upload of host-drawn inputs. Every random input — the
 * hyperplanes, the power-iteration start and the sample uniforms — is independent of the data, so
 * it is drawn on the host from the host path's seeded streams (same seeds, same estimator) and
 * all of them travel as one tensor: one upload instead of one per kind.
 *
 * `drawn` layout: per slice [first key row, first query row, keys, queries | planes r·dk |
 * start dv+1 | uniforms m] (`drawnStride` floats), then, for the rank placement, the key block of
 * each sorted query rank [nq] at `blocksAt`. The first rows say where a slice's keys and queries
 * sit in the flattened source tensors, and the counts how many it has (at most the call's nk and
 * nq, which set the buffers' strides), so the causal split can batch parts of one sequence, of
 * several sizes, without gathering their rows (row numbers stay exact in float32 below 2^24, far
 * past the 2 GiB binding limit of such tensors).
 */
import { createSeededRandom, deriveSeed } from '@swapformer/core';
import { drawHyperplanes } from './angularLsh';
import type { KdeformerAttentionOptions } from './kdeformerOptions';

/**
 * Where queries go: `rank`, the practical algorithm's split of the sorted queries (blockLayout.ts);
 * `bucket`, the block holding the middle of the query's own bucket (bucketQueryKde.ts), which
 * does not depend on the other queries (what the causal split needs).
 */
export type QueryPlacement = 'rank' | 'bucket';

export interface DeviceGeometry {
  readonly s: number;
  /** Most keys and queries of a slice: the strides of every buffer. */
  readonly nk: number;
  readonly nq: number;
  readonly dk: number;
  readonly dv: number;
  readonly r: number;
  readonly m: number;
  /** The option b, and keys per block min(b, nk) (a slice with fewer keys takes min(b, its keys)). */
  readonly blockSize: number;
  readonly bk: number;
  /** Key tiles and query tiles per slice (256 rows each). */
  readonly tk: number;
  readonly tq: number;
  /** Floats per tile of hashTiles' output. */
  readonly tileStride: number;
  /** Whether hashTiles sums the partial VaugᵀVaug (only the residual, m > 0, needs σ²). */
  readonly withGram: boolean;
  readonly placement: QueryPlacement;
  /** Floats per slice of sortTiles' output, and where its sorted ‖vaug‖ and its Gram start. */
  readonly sortedStride: number;
  readonly normsAt: number;
  readonly gramAt: number;
  readonly drawnStride: number;
  readonly planesAt: number;
  readonly startAt: number;
  readonly uniformsAt: number;
  readonly blocksAt: number;
}

/** @example deviceGeometry(4, 16384, 16384, 64, 64, 256, options, 'rank') */
export function deviceGeometry(s: number, nk: number, nq: number, dk: number, dv: number, tile: number, options: KdeformerAttentionOptions, placement: QueryPlacement): DeviceGeometry {
  const r = options.projections;
  const m = options.samples;
  const withGram = m > 0;
  const drawnStride = 4 + r * dk + dv + 1 + m;
  return {
    s, nk, nq, dk, dv, r, m, placement, withGram, drawnStride,
    blockSize: options.blockSize,
    bk: Math.min(options.blockSize, nk),
    tk: Math.ceil(nk / tile),
    tq: Math.ceil(nq / tile),
    tileStride: 2 * tile + (1 << r) + (withGram ? (dv + 1) ** 2 : 0),
    sortedStride: nk + 2 * nq + (withGram ? nk + (dv + 1) ** 2 : 0),
    normsAt: nk + 2 * nq,
    gramAt: 2 * nk + 2 * nq,
    planesAt: 4,
    startAt: 4 + r * dk,
    uniformsAt: 4 + r * dk + dv + 1,
    blocksAt: s * drawnStride,
  };
}

/**
 * The key block of each sorted query rank: blockLayout.ts's split (rank ρ sits at key position
 * ρ·nk/nq), which depends only on the sizes when no key is hidden.
 */
function queryBlocks(nq: number, nk: number, keysPerBlock: number, into: Float32Array, at: number): void {
  const blocks = Math.ceil(nk / keysPerBlock);
  for (let t = 0; t < blocks; t++) {
    const from = Math.min(nq, Math.ceil((t * keysPerBlock * nq) / nk));
    const to = t + 1 === blocks ? nq : Math.min(nq, Math.ceil(((t + 1) * keysPerBlock * nq) / nk));
    into.fill(t, at + from, at + to);
  }
}

/**
 * Where slice (bi, hv) of a call comes from: its seeds and (bi, hi) — the call's own, or, when one
 * device call batches several parts of the causal split as extra heads, the part's — and the
 * first rows and counts of its keys and queries in the flattened source tensors.
 */
export type SliceSource = (bi: number, hv: number) => {
  readonly seed: number;
  readonly sampleSeed: number;
  readonly bi: number;
  readonly hi: number;
  readonly keyRow: number;
  readonly queryRow: number;
  readonly keys: number;
  readonly queries: number;
};

/** Floats of drawInputs' array: every slice's draws, then (rank placement) the sorted query blocks. */
export function drawnLength(geo: DeviceGeometry): number {
  return geo.blocksAt + (geo.placement === 'rank' ? geo.nq : 0);
}

/** The packed host-drawn inputs of every slice (layout above), from the host path's seeded streams. */
export function drawInputs(b: number, h: number, geo: DeviceGeometry, sources: SliceSource): Float32Array {
  const { r, m, dk, dv, nq, nk, bk } = geo;
  const dv1 = dv + 1;
  const drawn = new Float32Array(drawnLength(geo));
  for (let bi = 0; bi < b; bi++) {
    for (let hv = 0; hv < h; hv++) {
      const at = (bi * h + hv) * geo.drawnStride;
      const own = sources(bi, hv);
      drawn[at] = own.keyRow;
      drawn[at + 1] = own.queryRow;
      drawn[at + 2] = own.keys;
      drawn[at + 3] = own.queries;
      drawn.set(drawHyperplanes(createSeededRandom(deriveSeed(own.seed, 'lsh', own.bi, own.hi)), dk, r), at + geo.planesAt);
      const power = createSeededRandom(deriveSeed(own.seed, 'power', own.bi, own.hi));
      const x = Float64Array.from({ length: dv1 }, () => power.normal());
      const norm = Math.hypot(...x) || 1;
      x.forEach((value, i) => (drawn[at + geo.startAt + i] = value / norm));
      const draws = createSeededRandom(deriveSeed(own.sampleSeed, 'samples', own.bi, own.hi));
      for (let t = 0; t < m; t++) drawn[at + geo.uniformsAt + t] = draws.uniform();
    }
  }
  if (geo.placement === 'rank') queryBlocks(nq, nk, bk, drawn, geo.blocksAt);
  return drawn;
}

/** WGSL: a slice's first key and query rows in the source tensors, and its key and query counts. */
export const SOURCE_ROWS_WGSL = `fn keyRow0(slice : i32) -> i32 { return i32(drawn[slice * uniforms.drawnStride]); }
        fn queryRow0(slice : i32) -> i32 { return i32(drawn[slice * uniforms.drawnStride + 1]); }
        fn keyCount(slice : i32) -> i32 { return i32(drawn[slice * uniforms.drawnStride + 2]); }
        fn queryCount(slice : i32) -> i32 { return i32(drawn[slice * uniforms.drawnStride + 3]); }`;

/** WGSL: ‖vaug‖ of row `row` of V (dv columns). */
export function augNormWgsl(dv: number): string {
  return `fn augNorm(row : i32) -> f32 {
      var sq = 1.0;
      for (var c = 0; c < ${dv}; c++) { let x = V[row * ${dv} + c]; sq = sq + x * x; }
      return sqrt(sq);
    }`;
}
