/**
 * The causal split's leaves and merges in one WGSL program (causalDeviceKdeformer.ts plans them):
 * each query row takes exact causal attention over the keys of its leaf up to itself, then folds
 * in, deepest level first, the KDEformer part of every level whose right half holds it, by
 * log-sum-exp: o = (wa·oa + wb·ob)/(wa + wb), lse = top + log(wa + wb), w = exp(lse − top).
 * One dispatch where the recursion took ≈ 20 tfjs ops per leaf and per merge.
 *
 * Workgroups are 64 consecutive queries of one slice; the keys they need, from the first query's
 * leaf start to the last query, are staged in workgroup memory a few rows at a time, so each K and
 * V row is read from global memory once per workgroup rather than once per query.
 *
 * `table` [nq, 1 + depth]: per query its leaf's first key, then per level (deepest first) its row
 * in `parts` [s, rows, dv + 1] (output, then log D̃), or −1. With `mask` [b, nk] (key padding;
 * only where no KDEformer part exists) a row that sees no key gives 0.
 */
import type { Tensor, Tensor3D } from '@tensorflow/tfjs-core';
import { float32Uniform, int32Uniform as int, runWebGpuProgram, WGSL_WORKGROUP_INDEX as WORKGROUP_INDEX } from '@swapformer/kernels';

const QUERIES = 64;

export interface CausalMergeSizes {
  readonly s: number;
  readonly heads: number;
  readonly nq: number;
  readonly nk: number;
  readonly dk: number;
  readonly dv: number;
  /** Levels per table row after the leaf start. */
  readonly depth: number;
  /** Rows per slice of `parts`. */
  readonly rows: number;
}

/** q [s, nq, dk], k [s, nk, dk], v [s, nk, dv] → [s, nq, dv]. */
export function causalLeavesAndMerge(q: Tensor, k: Tensor, v: Tensor, parts: Tensor, table: Tensor, mask: Tensor | undefined, sizes: CausalMergeSizes, scale: number): Tensor3D {
  const { s, heads, nq, nk, dk, dv, depth, rows } = sizes;
  const stage = dk + dv > 128 ? 8 : 16; // ≤ 16 KiB of workgroup memory, WebGPU's default limit
  const width = 1 + depth;
  const groupsPerSlice = Math.ceil(nq / QUERIES);
  const visible = mask ? `mask[(slice / uniforms.heads) * uniforms.nk + j] != 0.0` : 'true';
  return runWebGpuProgram(
    {
      variableNames: mask ? ['Q', 'K', 'V', 'parts', 'table', 'mask'] : ['Q', 'K', 'V', 'parts', 'table'],
      outputShape: [s, nq, dv],
      shaderKey: `swapformerKdeCausal_${dk}_${dv}_${depth}_${Boolean(mask)}`,
      dispatch: [s * groupsPerSlice, 1, 1],
      workgroupSize: [QUERIES, 1, 1],
      uniforms: 'nq : i32, nk : i32, heads : i32, rows : i32, groups : i32, slices : i32, offset : i32, scale : f32,',
      getUserCode: () => `
        var<workgroup> keys : array<f32, ${stage * dk}>;
        var<workgroup> values : array<f32, ${stage * dv}>;
        var<workgroup> span : array<i32, 2>;
        fn main(index : i32) {
          let group = ${WORKGROUP_INDEX};
          let slice = min(group / uniforms.groups, uniforms.slices - 1);
          let tid = i32(localIndex);
          let first = (group % uniforms.groups) * ${QUERIES};
          let i = min(first + tid, uniforms.nq - 1);
          let live = group < uniforms.slices * uniforms.groups && first + tid < uniforms.nq;
          let pos = uniforms.offset + i;
          let lo = i32(table[i * ${width}]);
          if (tid == 0) {
            span[0] = i32(table[first * ${width}]);
            span[1] = uniforms.offset + min(first + ${QUERIES}, uniforms.nq);
          }
          let firstKey = workgroupUniformLoad(&span[0]);
          let chunks = (workgroupUniformLoad(&span[1]) - firstKey + ${stage - 1}) / ${stage};
          var qv : array<f32, ${dk}>;
          for (var c = 0; c < ${dk}; c++) { qv[c] = Q[(slice * uniforms.nq + i) * ${dk} + c] * uniforms.scale; }
          var acc : array<f32, ${dv}>;
          var den = 0.0;
          var best = -3.0e38;
          for (var chunk = 0; chunk < chunks; chunk++) {
            let base = firstKey + chunk * ${stage};
            workgroupBarrier();
            for (var t = tid; t < ${stage * dk}; t += ${QUERIES}) { keys[t] = K[(slice * uniforms.nk + min(base + t / ${dk}, uniforms.nk - 1)) * ${dk} + t % ${dk}]; }
            for (var t = tid; t < ${stage * dv}; t += ${QUERIES}) { values[t] = V[(slice * uniforms.nk + min(base + t / ${dv}, uniforms.nk - 1)) * ${dv} + t % ${dv}]; }
            workgroupBarrier();
            for (var u = 0; u < ${stage}; u++) {
              let j = base + u;
              if (j >= lo && j <= pos && ${visible}) {
                var l = 0.0;
                for (var c = 0; c < ${dk}; c++) { l = l + qv[c] * keys[u * ${dk} + c]; }
                if (l > best) {
                  let rescale = exp(best - l);
                  den = den * rescale;
                  for (var c = 0; c < ${dv}; c++) { acc[c] = acc[c] * rescale; }
                  best = l;
                }
                let e = exp(l - best);
                den = den + e;
                for (var c = 0; c < ${dv}; c++) { acc[c] = acc[c] + e * values[u * ${dv} + c]; }
              }
            }
          }
          if (!live) { return; }
          let out = (slice * uniforms.nq + i) * ${dv};
          if (den == 0.0) {
            for (var c = 0; c < ${dv}; c++) { result[out + c] = 0.0; }
            return;
          }
          for (var c = 0; c < ${dv}; c++) { acc[c] = acc[c] / den; }
          var lse = best + log(den);
          for (var level = 1; level < ${width}; level++) {
            let row = i32(table[i * ${width} + level]);
            if (row >= 0) {
              let at = (slice * uniforms.rows + row) * ${dv + 1};
              let other = parts[at + ${dv}];
              let top = max(lse, other);
              let wa = exp(lse - top);
              let wb = exp(other - top);
              for (var c = 0; c < ${dv}; c++) { acc[c] = (wa * acc[c] + wb * parts[at + c]) / (wa + wb); }
              lse = top + log(wa + wb);
            }
          }
          for (var c = 0; c < ${dv}; c++) { result[out + c] = acc[c]; }
        }`,
    },
    mask ? [q, k, v, parts, table, mask] : [q, k, v, parts, table],
    [int(nq), int(nk), int(heads), int(rows), int(groupsPerSlice), int(s), int(sizes.nk - nq), float32Uniform(scale)],
  ) as Tensor3D;
}
