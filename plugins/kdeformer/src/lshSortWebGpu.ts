/**
 * KDEformer's angular-LSH bucket ids and the stable bucket sort (steps 2–3 of
 * https://arxiv.org/abs/2302.02451) as WGSL programs on tfjs-webgpu, for rows that never leave
 * the device. Same ids and the same order as angularLsh.ts (bucketIds + sortByBucket) up to
 * projections within float32 rounding of 0.
 *
 * The sort is a counting sort over the 2^r ids, stable, in three dispatches over tiles of 256 rows:
 *   1. per-tile histograms (workgroup atomics);
 *   2. per slice, each id's first output position in each tile: the ids below it in the whole
 *      slice plus the same id in earlier tiles (a loop over tiles per id — 2^r threads);
 *   3. per tile, every row goes to its tile offset plus its rank among equal ids before it in the
 *      tile, which keeps equal ids in input order.
 * A counting sort, not tf.topk's bitonic sort: 2^r ≤ 256 buckets fit a tile histogram, it is O(n)
 * per slice, and it is 3 dispatches where the bitonic sort takes O(log² n) (each dispatch costs
 * ≈ 0.2 ms of host work in Node).
 *
 * Shape legend: s slices, n rows per slice, d row width, r hyperplanes, R = 2^r ids, T = ⌈n/256⌉ tiles.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';
import { int32Uniform as int, runWebGpuProgram, WGSL_WORKGROUP_INDEX as WORKGROUP_INDEX } from '@swapformer/kernels';

const TILE = 256;
/** Most hyperplanes the device sort takes: 2^r ids must fit one tile histogram of workgroup memory. */
export const MAX_DEVICE_PROJECTIONS = 8;

/** Gray-coded sign codes of x [s, n, d] against planes [s, r, d] (plane-major) → ids [s, n] (float32). */
function bucketIdsOnDevice(x: Tensor3D, planes: Tensor3D): Tensor2D {
  const [s, n, d] = x.shape;
  const r = planes.shape[1];
  const rows = s * n;
  const out = runWebGpuProgram(
    {
      variableNames: ['X', 'planes'],
      outputShape: [s, n],
      shaderKey: `swapformerKdeLshIds_${d}_${r}`,
      dispatch: [Math.ceil(rows / 64), 1, 1],
      workgroupSize: [64, 1, 1],
      uniforms: 'rows : i32, n : i32,',
      getUserCode: () => `
        fn main(index : i32) {
          let row = ${WORKGROUP_INDEX} * 64 + i32(localIndex);
          if (row >= uniforms.rows) { return; }
          let slice = row / uniforms.n;
          var code = 0u;
          for (var t = 0; t < ${r}; t++) {
            var acc = 0.0;
            for (var c = 0; c < ${d}; c++) { acc = acc + X[row * ${d} + c] * planes[(slice * ${r} + t) * ${d} + c]; }
            if (acc > 0.0) { code = code | (1u << u32(t)); }
          }
          result[row] = f32(code ^ (code >> 1u));
        }`,
    },
    [x, planes],
    [int(rows), int(n)],
  );
  return out as Tensor2D;
}

/** ids [s, n] → per-tile histograms [s, T, R]. */
function tileHistograms(ids: Tensor2D, buckets: number): Tensor {
  const [s, n] = ids.shape;
  const tiles = Math.ceil(n / TILE);
  return runWebGpuProgram(
    {
      variableNames: ['ids'],
      outputShape: [s, tiles, buckets],
      shaderKey: `swapformerKdeHistogram_${buckets}`,
      dispatch: [s * tiles, 1, 1],
      workgroupSize: [TILE, 1, 1],
      uniforms: 'n : i32, tiles : i32, slices : i32,',
      getUserCode: () => `
        var<workgroup> counts : array<atomic<u32>, ${buckets}>;
        fn main(index : i32) {
          let group = ${WORKGROUP_INDEX};
          let valid = group < uniforms.slices * uniforms.tiles;
          let slice = group / uniforms.tiles;
          let tile = group % uniforms.tiles;
          let tid = i32(localIndex);
          for (var b = tid; b < ${buckets}; b += ${TILE}) { atomicStore(&counts[b], 0u); }
          workgroupBarrier();
          let e = tile * ${TILE} + tid;
          if (valid && e < uniforms.n) { atomicAdd(&counts[i32(ids[slice * uniforms.n + e])], 1u); }
          workgroupBarrier();
          for (var b = tid; valid && b < ${buckets}; b += ${TILE}) { result[group * ${buckets} + b] = f32(atomicLoad(&counts[b])); }
        }`,
    },
    [ids],
    [int(n), int(tiles), int(s)],
  );
}

/** Histograms [s, T, R] → first output position of each id in each tile [s, T, R]. */
function tileOffsets(histograms: Tensor): Tensor {
  const [s, tiles, buckets] = histograms.shape;
  return runWebGpuProgram(
    {
      variableNames: ['hist'],
      outputShape: [s, tiles, buckets],
      shaderKey: `swapformerKdeOffsets_${buckets}`,
      dispatch: [s, 1, 1],
      workgroupSize: [TILE, 1, 1],
      uniforms: 'tiles : i32, slices : i32,',
      getUserCode: () => `
        var<workgroup> totals : array<i32, ${TILE}>;
        fn main(index : i32) {
          let slice = min(${WORKGROUP_INDEX}, uniforms.slices - 1);
          let b = i32(localIndex);
          let base = slice * uniforms.tiles * ${buckets};
          var total = 0;
          for (var t = 0; b < ${buckets} && t < uniforms.tiles; t++) { total += i32(hist[base + t * ${buckets} + b]); }
          totals[b] = total;
          workgroupBarrier();
          var running = 0;
          for (var c = 0; c < b; c++) { running += totals[c]; }
          for (var t = 0; b < ${buckets} && t < uniforms.tiles; t++) {
            result[base + t * ${buckets} + b] = f32(running);
            running += i32(hist[base + t * ${buckets} + b]);
          }
        }`,
    },
    [histograms],
    [int(tiles), int(s)],
  );
}

/** ids [s, n] and tile offsets → [s, n]: the row index at each sorted position (float32). */
function scatterSorted(ids: Tensor2D, offsets: Tensor): Tensor2D {
  const [s, n] = ids.shape;
  const [, tiles, buckets] = offsets.shape;
  return runWebGpuProgram(
    {
      variableNames: ['ids', 'offsets'],
      outputShape: [s, n],
      shaderKey: `swapformerKdeScatter_${buckets}`,
      dispatch: [s * tiles, 1, 1],
      workgroupSize: [TILE, 1, 1],
      uniforms: 'n : i32, tiles : i32, slices : i32,',
      getUserCode: () => `
        var<workgroup> tileIds : array<i32, ${TILE}>;
        fn main(index : i32) {
          let group = ${WORKGROUP_INDEX};
          let valid = group < uniforms.slices * uniforms.tiles;
          let slice = group / uniforms.tiles;
          let tile = group % uniforms.tiles;
          let tid = i32(localIndex);
          let e = tile * ${TILE} + tid;
          var id = -1;
          if (valid && e < uniforms.n) { id = i32(ids[slice * uniforms.n + e]); }
          tileIds[tid] = id;
          workgroupBarrier();
          if (id >= 0) {
            var rank = 0;
            for (var t = 0; t < tid; t++) { if (tileIds[t] == id) { rank++; } }
            let at = i32(offsets[group * ${buckets} + id]) + rank;
            result[slice * uniforms.n + at] = f32(e);
          }
        }`,
    },
    [ids, offsets],
    [int(n), int(tiles), int(s)],
  ) as Tensor2D;
}

/** A bucket sort's result on the device. */
export interface DeviceBucketSort {
  /** [s, n]: the row index at each sorted position (float32, exact below 2^24). */
  readonly order: Tensor2D;
  /** [s, n]: each row's bucket id. */
  readonly ids: Tensor2D;
  /** [s, R + 1]: first sorted position of each id (the last entry is n). */
  readonly starts: Tensor2D;
}

/**
 * Rows of x [s, n, d] in bucket order, equal ids in row order — the device form of
 * `sortByBucket(bucketIds(…))` without a mask — with the ids and each id's first position.
 *
 * @example const { order } = bucketSortOnDevice(keys, planes); // planes [s, r, d]
 */
export function bucketSortOnDevice(x: Tensor3D, planes: Tensor3D): DeviceBucketSort {
  const r = planes.shape[1];
  if (r > MAX_DEVICE_PROJECTIONS) throw new RangeError(`KDEformer on webgpu sorts at most 2^${MAX_DEVICE_PROJECTIONS} buckets, got r = ${r}; use r ≤ ${MAX_DEVICE_PROJECTIONS} or backend 'wasm'/'cpu'`);
  const [s, n] = x.shape;
  return tf.tidy(() => {
    const ids = bucketIdsOnDevice(x, planes);
    const offsets = tileOffsets(tileHistograms(ids, 1 << r));
    // tile 0's offsets are the ids' first positions in the whole slice
    const starts = tf.concat([tf.reshape(tf.slice(offsets, [0, 0, 0], [-1, 1, -1]), [s, 1 << r]), tf.fill([s, 1], n)], 1) as Tensor2D;
    return { order: scatterSorted(ids, offsets), ids, starts };
  });
}
