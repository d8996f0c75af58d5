/**
 * The per-slice constants of KH-Compress(g)'s kernel on tfjs-webgpu (thinformerWebGpu.ts): c, the
 * overflow guard of exp, and β, the value offset (spec §2; pairDifferenceGrams.ts for the host's).
 * One dispatch of partial maxima; the round programs take the max of a slice's partials.
 */
import type { Tensor, Tensor3D } from '@tensorflow/tfjs-core';
import { float32Uniform, int32Uniform as int, runWebGpuProgram, WGSL_WORKGROUP_INDEX as WORKGROUP_INDEX } from '@swapformer/kernels';
import type { CompressPlan } from './compressPlan';

const WORKGROUP = 256;

/** WGSL: max tree over `red[0..256)` into red[0] (constant bounds keep barriers in uniform control flow). */
const TREE_MAX = `for (var stride = ${WORKGROUP / 2}; stride > 0; stride = stride / 2) {
          if (tid < stride) { red[tid] = max(red[tid], red[tid + stride]); }
          workgroupBarrier();
        }`;

/** WGSL: key row of thinned point j of virtual slice vs (range vs / slices of slice vs % slices; the draws header holds each range's first key and stride). */
const RANGE_ROW = `(vs % uniforms.slices) * uniforms.nk + i32(draws[2 * (vs / uniforms.slices)]) + j * i32(draws[2 * (vs / uniforms.slices) + 1])`;

/** Partial maxima per virtual slice: enough workgroups to spread n rows one per thread (one per slice left an H100 ≈ 1 ms on 4 workgroups at n = 16,384). */
export function statsPartials(n: number): number {
  return Math.min(64, Math.ceil(n / WORKGROUP));
}

/**
 * Per virtual slice and part of its stride-thinned points: c = max‖k̃‖² with k̃ = root·k rounded
 * per coordinate as the host does, and β = max|v| → [V, partials, 2] (consumers take the max).
 */
export function sliceStats(k: Tensor3D, v: Tensor3D, draws: Tensor, ranges: number, plan: CompressPlan, root: number): Tensor3D {
  const [slices, nk, dk] = k.shape;
  const dv = v.shape[2];
  const virtual = slices * ranges;
  const partials = statsPartials(plan.n);
  return runWebGpuProgram(
    {
      variableNames: ['K', 'V', 'draws'],
      outputShape: [virtual, partials, 2],
      shaderKey: `swapformerThinformerStats_${dk}_${dv}`,
      dispatch: [virtual * partials, 1, 1],
      workgroupSize: [WORKGROUP, 1, 1],
      uniforms: 'nk : i32, n : i32, slices : i32, parts : i32, total : i32, root : f32,',
      getUserCode: () => `
        var<workgroup> red : array<f32, ${WORKGROUP}>;
        fn main(index : i32) {
          let w = min(${WORKGROUP_INDEX}, uniforms.total - 1);
          let vs = w / uniforms.parts;
          let chunk = (uniforms.n + uniforms.parts - 1) / uniforms.parts;
          let start = (w % uniforms.parts) * chunk;
          let tid = i32(localIndex);
          var norm = 0.0;
          var largest = 0.0;
          for (var j = start + tid; j < min(start + chunk, uniforms.n); j += ${WORKGROUP}) {
            let row = ${RANGE_ROW};
            var sq = 0.0;
            for (var c = 0; c < ${dk}; c++) { let x = K[row * ${dk} + c] * uniforms.root; sq = sq + x * x; }
            norm = max(norm, sq);
            for (var c = 0; c < ${dv}; c++) { largest = max(largest, abs(V[row * ${dv} + c])); }
          }
          red[tid] = norm;
          workgroupBarrier();
          ${TREE_MAX}
          let shift = red[0];
          workgroupBarrier();
          red[tid] = largest;
          workgroupBarrier();
          ${TREE_MAX}
          if (tid == 0 && ${WORKGROUP_INDEX} < uniforms.total) {
            result[w * 2] = shift;
            result[w * 2 + 1] = red[0];
          }
        }`,
    },
    [k, v, draws],
    [int(nk), int(plan.n), int(slices), int(partials), int(virtual * partials), float32Uniform(root)],
  ) as Tensor3D;
}
