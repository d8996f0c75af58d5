/**
 * KDEformer's angular-LSH bucket ids and the stable bucket sort (steps 2–3 of
 * https://arxiv.org/abs/2302.02451) of keys and queries together, as two WGSL programs on
 * tfjs-webgpu. Same ids and the same order as angularLsh.ts (bucketIds + sortByBucket) up to
 * projections within float32 rounding of 0.
 *
 * Why two dispatches for both sorts: in Node every tfjs-webgpu dispatch costs ≈ 0.2 ms of host
 * work, more than these programs take on a GPU. So keys and queries are tiles of one grid
 * (T = Tk + Tq tiles of 256 rows per slice), and the pass that hashes a key tile also computes
 * what the residual sampling needs from those rows (‖vaug‖ per row and the tile's partial
 * VaugᵀVaug), instead of a tfjs matMul with an nk-long reduction.
 *   1. `hashTiles`: per tile, the ids, a histogram (workgroup atomics), and for key tiles the
 *      ‖vaug‖ of each row and the partial Gram;
 *   2. `sortTiles`: per tile, each id's first output position (the ids below it in the whole
 *      segment plus the same id in earlier tiles, summed from the histograms: T·2^r reads) and
 *      every row's position, its rank among equal ids before it in the tile keeping the sort
 *      stable. Query tiles also write each query's key block (blockLayout.ts's rank split, or
 *      bucketQueryKde.ts's bucket placement).
 * A counting sort rather than a bitonic one: 2^r ≤ 256 ids fit a tile histogram and it is O(n).
 *
 * Shape legend: s slices, nk keys, nq queries, d dims, r hyperplanes, R = 2^r ids.
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import { int32Uniform as int, runWebGpuProgram, WGSL_WORKGROUP_INDEX as WORKGROUP_INDEX } from '@swapformer/kernels';
import { augNormWgsl, type DeviceGeometry, SOURCE_ROWS_WGSL } from './deviceGeometry';

/** Rows per tile and threads per workgroup of both programs. */
export const TILE = 256;
/** Most hyperplanes the device sort takes: 2^r ids must fit one tile histogram of workgroup memory. */
export const MAX_DEVICE_PROJECTIONS = 8;
/** vaug rows staged in workgroup memory at a time for the partial Gram (16 × 129 floats ≈ 8 KiB). */
const STAGE = 16;

/** WGSL: slice, tile, segment (key or query) and row range of this workgroup's tile. */
const TILE_PREAMBLE = `
          let group = ${WORKGROUP_INDEX};
          let tiles = uniforms.tk + uniforms.tq;
          let valid = group < uniforms.slices * tiles;
          let slice = min(group / tiles, uniforms.slices - 1);
          let tile = group % tiles;
          let isKey = tile < uniforms.tk;
          let tid = i32(localIndex);
          var e = tile * ${TILE} + tid;
          let keysHere = keyCount(slice);
          var rows = keysHere;
          if (!isKey) { e = (tile - uniforms.tk) * ${TILE} + tid; rows = queryCount(slice); }
          let live = valid && e < rows;`;

/**
 * [s, T, tileStride]: per tile, ids (TILE), histogram (R), ‖vaug‖ of key rows (TILE), then with
 * `withGram` the partial VaugᵀVaug of the key rows (dv1², row-major). `drawn` holds each slice's
 * planes [r, dk] at `slice · drawnStride`.
 */
export function hashTiles(k: Tensor, q: Tensor, v: Tensor, drawn: Tensor, geo: DeviceGeometry): Tensor {
  const { s, nk, nq, dk, dv, r, tk, tq, tileStride, withGram } = geo;
  const buckets = 1 << r;
  const dv1 = dv + 1;
  const gram = withGram ? dv1 * dv1 : 0;
  const perThread = Math.ceil(gram / TILE);
  const gramCode = `
          var partial : array<f32, ${Math.max(perThread, 1)}>;
          for (var first = 0; first < ${TILE}; first += ${STAGE}) {
            workgroupBarrier();
            // vaug rows, the ones column included (0 past the last key), so the sums take no branch
            for (var t = tid; t < ${STAGE * dv1}; t += ${TILE}) {
              let row = tile * ${TILE} + first + t / ${dv1};
              let c = t % ${dv1};
              var x = 0.0;
              if (isKey && valid && row < keysHere) { x = 1.0; if (c < ${dv}) { x = V[(keys0 + row) * ${dv} + c]; } }
              staged[t] = x;
            }
            workgroupBarrier();
            for (var i = 0; i < ${perThread}; i++) {
              let entry = tid + i * ${TILE};
              if (isKey && entry < ${gram}) {
                let a = entry / ${dv1};
                let c = entry % ${dv1};
                for (var u = 0; u < ${STAGE}; u++) { partial[i] = partial[i] + staged[u * ${dv1} + a] * staged[u * ${dv1} + c]; }
              }
            }
          }
          for (var i = 0; i < ${perThread}; i++) {
            let entry = tid + i * ${TILE};
            if (valid && isKey && entry < ${gram}) { result[base + ${2 * TILE + buckets} + entry] = partial[i]; }
          }`;
  return runWebGpuProgram(
    {
      variableNames: ['K', 'Q', 'V', 'drawn'],
      outputShape: [s, tk + tq, tileStride],
      shaderKey: `swapformerKdeHash_${dk}_${dv}_${r}_${withGram}_${geo.planesAt}`,
      dispatch: [s * (tk + tq), 1, 1],
      workgroupSize: [TILE, 1, 1],
      uniforms: 'nk : i32, nq : i32, tk : i32, tq : i32, slices : i32, drawnStride : i32,',
      getUserCode: () => `
        var<workgroup> plane : array<f32, ${r * dk}>;
        var<workgroup> counts : array<atomic<u32>, ${buckets}>;
        var<workgroup> staged : array<f32, ${STAGE * dv1}>;
        ${augNormWgsl(dv)}
        ${SOURCE_ROWS_WGSL}
        fn main(index : i32) {
          ${TILE_PREAMBLE}
          let base = group * ${tileStride};
          let keys0 = keyRow0(slice);
          let queries0 = queryRow0(slice);
          for (var i = tid; i < ${r * dk}; i += ${TILE}) { plane[i] = drawn[slice * uniforms.drawnStride + ${geo.planesAt} + i]; }
          for (var b = tid; b < ${buckets}; b += ${TILE}) { atomicStore(&counts[b], 0u); }
          workgroupBarrier();
          if (live) {
            var row : array<f32, ${dk}>;
            for (var c = 0; c < ${dk}; c++) {
              if (isKey) { row[c] = K[(keys0 + e) * ${dk} + c]; } else { row[c] = Q[(queries0 + e) * ${dk} + c]; }
            }
            var code = 0u;
            for (var t = 0; t < ${r}; t++) {
              var acc = 0.0;
              for (var c = 0; c < ${dk}; c++) { acc = acc + row[c] * plane[t * ${dk} + c]; }
              if (acc > 0.0) { code = code | (1u << u32(t)); }
            }
            let id = code ^ (code >> 1u);
            result[base + tid] = f32(id);
            atomicAdd(&counts[id], 1u);
            if (isKey) { result[base + ${TILE + buckets} + tid] = augNorm(keys0 + e); }
          }
          ${withGram ? gramCode : ''}
          workgroupBarrier();
          for (var b = tid; valid && b < ${buckets}; b += ${TILE}) { result[base + ${TILE} + b] = f32(atomicLoad(&counts[b])); }
        }`,
    },
    [k, q, v, drawn],
    [int(nk), int(nq), int(tk), int(tq), int(s), int(geo.drawnStride)],
  );
}

/**
 * [s, sortedStride]: the key row at each sorted key position, then per query entry (query row, key
 * block), then with `withGram` the ‖vaug‖ of each sorted key (read contiguously by the CDF) and
 * VaugᵀVaug, the key tiles' partial Grams summed (each key tile's workgroup sums a share of the
 * entries, so the sum is spread over Tk workgroups, not one per slice). With `placement` 'rank' entry ρ is the ρ-th query in bucket order and its block is
 * `drawn[blocksAt + ρ]` (blockLayout.ts's split, drawn on the host); with 'bucket' entry i is
 * query i and its block holds the middle of its bucket's keys (bucketQueryKde.ts's bucketBlock).
 */
export function sortTiles(hashed: Tensor, drawn: Tensor, geo: DeviceGeometry): Tensor {
  const { s, nk, nq, r, tk, tq, tileStride, placement, withGram } = geo;
  const buckets = 1 << r;
  const gram = withGram ? (geo.dv + 1) ** 2 : 0;
  const gramShare = Math.ceil(gram / tk);
  const sumGram = `
          for (var i = tid; valid && isKey && i < uniforms.gramShare; i += ${TILE}) {
            let entry = tile * uniforms.gramShare + i;
            if (entry < ${gram}) {
              var sum = 0.0;
              for (var t = 0; t < uniforms.tk; t++) { sum = sum + hashed[(sliceTiles + t) * ${tileStride} + ${2 * TILE + buckets} + entry]; }
              result[out + uniforms.gramAt + entry] = sum;
            }
          }`;
  const bucketBlock = `
            let first = keyStart[id];
            var count = keysHere - first;
            if (id + 1 < ${buckets}) { count = keyStart[id + 1] - first; }
            let block = min(first + count / 2, keysHere - 1) / min(uniforms.blockSize, keysHere);
            result[out + uniforms.nk + 2 * e] = f32(e);
            result[out + uniforms.nk + 2 * e + 1] = f32(block);`;
  const rankBlock = `
            result[out + uniforms.nk + 2 * at] = f32(e);
            result[out + uniforms.nk + 2 * at + 1] = drawn[uniforms.blocksAt + at];`;
  return runWebGpuProgram(
    {
      variableNames: ['hashed', 'drawn'],
      outputShape: [s, geo.sortedStride],
      shaderKey: `swapformerKdeSort_${r}_${tileStride}_${placement}_${withGram}`,
      dispatch: [s * (tk + tq), 1, 1],
      workgroupSize: [TILE, 1, 1],
      uniforms: 'nk : i32, nq : i32, tk : i32, tq : i32, slices : i32, blocksAt : i32, blockSize : i32, sortedStride : i32, normsAt : i32, gramAt : i32, gramShare : i32, drawnStride : i32,',
      getUserCode: () => `
        var<workgroup> tileIds : array<i32, ${TILE}>;
        var<workgroup> totals : array<i32, ${buckets}>;
        var<workgroup> firstAt : array<i32, ${buckets}>;
        var<workgroup> keyStart : array<i32, ${buckets}>;
        ${SOURCE_ROWS_WGSL}
        fn main(index : i32) {
          ${TILE_PREAMBLE}
          let sliceTiles = slice * tiles;
          let out = slice * uniforms.sortedStride;
          var lowTile = 0;
          var highTile = uniforms.tk;
          if (!isKey) { lowTile = uniforms.tk; highTile = tiles; }
          if (tid < ${buckets}) {
            var total = 0;
            var before = 0;
            var keys = 0;
            for (var t = 0; t < tiles; t++) {
              let count = i32(hashed[(sliceTiles + t) * ${tileStride} + ${TILE} + tid]);
              if (t < uniforms.tk) { keys += count; }
              if (t >= lowTile && t < highTile) { total += count; if (t < tile) { before += count; } }
            }
            totals[tid] = total;
            firstAt[tid] = before;
            keyStart[tid] = keys;
          }
          workgroupBarrier();
          var below = 0;
          var keysBelow = 0;
          if (tid < ${buckets}) {
            for (var c = 0; c < tid; c++) { below += totals[c]; keysBelow += keyStart[c]; }
          }
          workgroupBarrier();
          if (tid < ${buckets}) { firstAt[tid] += below; keyStart[tid] = keysBelow; }
          var id = -1;
          if (live) { id = i32(hashed[group * ${tileStride} + tid]); }
          tileIds[tid] = id;
          workgroupBarrier();
          if (id >= 0) {
            var rank = 0;
            for (var t = 0; t < tid; t++) { if (tileIds[t] == id) { rank++; } }
            let at = firstAt[id] + rank;
            if (isKey) {
              result[out + at] = f32(e);
              ${withGram ? `result[out + uniforms.normsAt + at] = hashed[group * ${tileStride} + ${TILE + buckets} + tid];` : ''}
            } else { ${placement === 'rank' ? rankBlock : bucketBlock} }
          }
          ${withGram ? sumGram : ''}
        }`,
    },
    [hashed, drawn],
    [int(nk), int(nq), int(tk), int(tq), int(s), int(geo.blocksAt), int(geo.blockSize), int(geo.sortedStride), int(geo.normsAt), int(geo.gramAt), int(gramShare), int(geo.drawnStride)],
  );
}
