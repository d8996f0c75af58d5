/**
 * KDEformer's importance-sampled residual draws (step 5 of https://arxiv.org/abs/2302.02451) and
 * the fused block + residual attention, as WGSL programs on tfjs-webgpu (residualSampling.ts and
 * kdeformer.ts hold the host forms and the math):
 *
 *   σ² = λ_max(VaugᵀVaug) by power iteration (seeded start),  w_j = ‖vaug_j‖/σ² + 1/nk,
 *   draws by inverse CDF of host-drawn seeded uniforms,        weight = Σw / (m·w_j),
 *   O_i = Σ_block e^{l−c}·vaug + Σ_samples∉block(i) weight·e^{l−c}·vaug, divided by its last column.
 *
 * The attention is one dispatch instead of the ≈ 20 tfjs ops of the slot-layout form, each of
 * which costs host time in Node.
 *
 * Shape legend: s slices, nq queries, nk keys, dk, dv, dv1 = dv + 1, m samples, bk keys per block.
 */
import type { Tensor, Tensor3D } from '@tensorflow/tfjs-core';
import { float32Uniform, int32Uniform as int, runWebGpuProgram, WGSL_WORKGROUP_INDEX as WORKGROUP_INDEX } from '@swapformer/kernels';
import { type DeviceGeometry, SOURCE_ROWS_WGSL } from './deviceGeometry';
import { POWER_ITERATIONS } from './residualSampling';

const WORKGROUP = 256;
/** Register arrays of the attention program bound the head dims. */
export const MAX_DEVICE_DIM = 128;

/**
 * Per slice, in one workgroup: σ² by power iteration on VaugᵀVaug (summed by sortTiles) from the
 * host-drawn start, the inclusive CDF of w_j = ‖vaug_j‖/σ² + 1/nk over the sorted keys, and the m
 * inverse-CDF draws of the host-drawn uniforms → [s, 2m + nk]: (key slot, weight Σw/(m·w_slot))
 * per draw, then the CDF. One dispatch for what were a matMul, a CDF and a draw program. Each
 * thread sums a run of ⌈nk/256⌉ consecutive weights and one 256-wide scan joins the runs, so the
 * CDF takes two barriers per scan step instead of two per 256 keys.
 */
export function sampleResidual(sorted: Tensor, drawn: Tensor, geo: DeviceGeometry): Tensor {
  const { s, nk, dv, m } = geo;
  const dv1 = dv + 1;
  const stride = 2 * m + nk;
  const tree = `for (var stride = ${WORKGROUP / 2}; stride > 0; stride = stride / 2) {
          if (tid < stride) { red[tid] = red[tid] + red[tid + stride]; }
          workgroupBarrier();
        }`;
  return runWebGpuProgram(
    {
      variableNames: ['sorted', 'drawn'],
      outputShape: [s, stride],
      shaderKey: `swapformerKdeSample_${dv}`,
      dispatch: [s, 1, 1],
      workgroupSize: [WORKGROUP, 1, 1],
      uniforms: 'nk : i32, m : i32, slices : i32, drawnStride : i32, startAt : i32, uniformsAt : i32, stride : i32, sortedStride : i32, normsAt : i32, gramAt : i32,',
      getUserCode: () => `
        var<workgroup> x : array<f32, ${WORKGROUP}>;
        var<workgroup> red : array<f32, ${WORKGROUP}>;
        ${SOURCE_ROWS_WGSL}
        fn weight(slice : i32, slot : i32, sigma2 : f32) -> f32 {
          var w = 1.0 / f32(keyCount(slice));
          if (sigma2 > 0.0) { w = sorted[slice * uniforms.sortedStride + uniforms.normsAt + slot] / sigma2 + w; }
          return w;
        }
        fn main(index : i32) {
          let slice = min(${WORKGROUP_INDEX}, uniforms.slices - 1);
          let tid = i32(localIndex);
          let nk = keyCount(slice);
          let out = slice * uniforms.stride;
          let gramAt = slice * uniforms.sortedStride + uniforms.gramAt;
          let drawnAt = slice * uniforms.drawnStride;
          if (tid < ${dv1}) { x[tid] = drawn[drawnAt + uniforms.startAt + tid]; } else { x[tid] = 0.0; }
          workgroupBarrier();
          var norm = 0.0;
          for (var it = 0; it < ${POWER_ITERATIONS}; it++) {
            var y = 0.0;
            if (tid < ${dv1}) {
              for (var c = 0; c < ${dv1}; c++) { y = y + sorted[gramAt + tid * ${dv1} + c] * x[c]; }
            }
            red[tid] = y * y;
            workgroupBarrier();
            ${tree}
            norm = sqrt(red[0]);
            workgroupBarrier();
            if (norm > 0.0) { x[tid] = y / norm; }
            workgroupBarrier();
          }
          let sigma2 = norm;
          let run = (nk + ${WORKGROUP - 1}) / ${WORKGROUP};
          let firstSlot = min(nk, tid * run);
          let endSlot = min(nk, firstSlot + run);
          var local = 0.0;
          for (var j = firstSlot; j < endSlot; j++) { local = local + weight(slice, j, sigma2); }
          red[tid] = local;
          workgroupBarrier();
          for (var offset = 1; offset < ${WORKGROUP}; offset = offset * 2) {
            var add = 0.0;
            if (tid >= offset) { add = red[tid - offset]; }
            workgroupBarrier();
            red[tid] = red[tid] + add;
            workgroupBarrier();
          }
          var cdf = red[tid] - local;
          for (var j = firstSlot; j < endSlot; j++) {
            cdf = cdf + weight(slice, j, sigma2);
            result[out + 2 * uniforms.m + j] = cdf;
          }
          storageBarrier();
          workgroupBarrier();
          let total = result[out + 2 * uniforms.m + nk - 1];
          for (var t = tid; t < uniforms.m; t += ${WORKGROUP}) {
            let goal = drawn[drawnAt + uniforms.uniformsAt + t] * total;
            var lo = 0;
            var hi = nk - 1;
            while (lo < hi) {
              let mid = (lo + hi) / 2;
              if (result[out + 2 * uniforms.m + mid] > goal) { hi = mid; } else { lo = mid + 1; }
            }
            result[out + 2 * t] = f32(lo);
            result[out + 2 * t + 1] = total / (f32(uniforms.m) * weight(slice, lo, sigma2));
          }
        }`,
    },
    [sorted, drawn],
    [int(nk), int(m), int(s), int(geo.drawnStride), int(geo.startAt), int(geo.uniformsAt), int(stride), int(geo.sortedStride), int(geo.normsAt), int(geo.gramAt)],
  );
}

/** Queries per workgroup of the attention. */
const QUERIES = 64;

/**
 * The fused attention: entry p = (slice, ρ) of `sorted` names a query and its key block; that
 * query takes the exact block of bk sorted keys plus the off-block samples, normalised by the
 * estimated denominator, written to the query's own row → [s, nq, dv], or [s, nq, dv + 1] with
 * `withLogSumExp`: the last column is then log D̃, the log of the estimated denominator (what the
 * causal split merges by). `samples` is sampleResidual's output (m = 0: any tensor).
 *
 * One thread per query with an online softmax (running max); a workgroup is 64 queries of one
 * slice. Staging the shared samples' K and V rows in workgroup memory was tried: on lavapipe it
 * took twice as long, and on a GPU the threads of a workgroup read each sample row together,
 * which the cache already serves as one read.
 */
export function blockResidualAttention(q: Tensor, k: Tensor, v: Tensor, sorted: Tensor, samples: Tensor, drawn: Tensor, geo: DeviceGeometry, scale: number, withLogSumExp: boolean): Tensor3D {
  const { s, nq, nk, dk, dv, m } = geo;
  const width = withLogSumExp ? dv + 1 : dv;
  const sampleStride = 2 * m + nk;
  const groups = Math.ceil(nq / QUERIES);
  // head dims that are multiples of 4 read q, k, v as vec4s: a quarter of the load instructions,
  // which bound this program (every thread streams its block's and the samples' rows)
  const vec = dk % 4 === 0 && dv % 4 === 0;
  const [DK, DV] = vec ? [dk / 4, dv / 4] : [dk, dv];
  const T = vec ? 'vec4<f32>' : 'f32';
  const dotOf = (a: string, b: string) => (vec ? `dot(${a}, ${b})` : `${a} * ${b}`);
  const update = (logit: string, weight: string, row: string) => `{
              let l = ${logit};
              if (l > best) {
                let rescale = exp(best - l);
                den = den * rescale;
                for (var c = 0; c < ${DV}; c++) { acc[c] = acc[c] * rescale; }
                best = l;
              }
              let e = ${weight} * exp(l - best);
              den = den + e;
              for (var c = 0; c < ${DV}; c++) { acc[c] = fma(${T}(e), V[${row} * ${DV} + c], acc[c]); }
            }`;
  return runWebGpuProgram(
    {
      variableNames: ['Q', 'K', 'V', 'sorted', 'samples', 'drawn'],
      outputShape: [s, nq, width],
      shaderKey: `swapformerKdeAttend_${dk}_${dv}_${withLogSumExp}`,
      dispatch: [s * groups, 1, 1],
      workgroupSize: [QUERIES, 1, 1],
      variableComponents: vec ? [4, 4, 4, 1, 1, 1] : undefined,
      uniforms: 'nq : i32, nk : i32, m : i32, blockSize : i32, groups : i32, slices : i32, sampleStride : i32, drawnStride : i32, sortedStride : i32, scale : f32,',
      getUserCode: () => `
        ${SOURCE_ROWS_WGSL}
        fn main(index : i32) {
          let group = ${WORKGROUP_INDEX};
          let slice = min(group / uniforms.groups, uniforms.slices - 1);
          let tid = i32(localIndex);
          let rank = (group % uniforms.groups) * ${QUERIES} + tid;
          let nq = queryCount(slice);
          let nk = keyCount(slice);
          let bk = min(uniforms.blockSize, nk);
          if (group >= uniforms.slices * uniforms.groups || rank >= nq) { return; }
          let keysAt = slice * uniforms.sortedStride;
          let entry = keysAt + uniforms.nk + 2 * rank;
          let query = i32(sorted[entry]);
          let block = i32(sorted[entry + 1]);
          let keys0 = keyRow0(slice);
          var qv : array<${T}, ${DK}>;
          let queryAt = (queryRow0(slice) + query) * ${DK};
          for (var c = 0; c < ${DK}; c++) { qv[c] = Q[queryAt + c] * uniforms.scale; }
          var acc : array<${T}, ${DV}>;
          for (var c = 0; c < ${DV}; c++) { acc[c] = ${T}(0.0); }
          var den = 0.0;
          var best = -3.0e38;
          let last = min((block + 1) * bk, nk);
          for (var u = block * bk; u < last; u++) {
            let row = keys0 + i32(sorted[keysAt + u]);
            var l = 0.0;
            for (var c = 0; c < ${DK}; c++) { l = l + ${dotOf('qv[c]', `K[row * ${DK} + c]`)}; }
            ${update('l', '1.0', 'row')}
          }
          for (var t = 0; t < uniforms.m; t++) {
            let at = slice * uniforms.sampleStride + 2 * t;
            let slot = i32(samples[at]);
            if (slot / bk != block) {
              let row = keys0 + i32(sorted[keysAt + slot]);
              var l = 0.0;
              for (var c = 0; c < ${DK}; c++) { l = l + ${dotOf('qv[c]', `K[row * ${DK} + c]`)}; }
              ${update('l', 'samples[at + 1]', 'row')}
            }
          }
          let out = (slice * uniforms.nq + query) * ${width};
          ${
            vec
              ? `for (var c = 0; c < ${DV}; c++) { let o = acc[c] / den; result[out + 4 * c] = o.x; result[out + 4 * c + 1] = o.y; result[out + 4 * c + 2] = o.z; result[out + 4 * c + 3] = o.w; }`
              : `for (var c = 0; c < ${DV}; c++) { result[out + c] = acc[c] / den; }`
          }
          ${withLogSumExp ? `result[out + ${dv}] = best + log(den);` : ''}
        }`,
    },
    [q, k, v, sorted, samples, drawn],
    [int(nq), int(nk), int(m), int(geo.blockSize), int(groups), int(s), int(sampleStride), int(geo.drawnStride), int(geo.sortedStride), float32Uniform(scale)],
  ) as Tensor3D;
}
