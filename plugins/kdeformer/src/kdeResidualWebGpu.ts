/**
 * KDEformer's importance-sampled residual draws (step 5 of https://arxiv.org/abs/2302.02451) and
 * the fused block + residual attention, as WGSL programs on tfjs-webgpu (residualSampling.ts and
 * kdeformer.ts hold the host forms and the math):
 *
 *   σ² = λ_max(VaugᵀVaug) by power iteration (seeded start),  w_j = ‖vaug_j‖/σ² + 1/nk,
 *   draws by inverse CDF of host-drawn seeded uniforms,        weight = Σw / (m·w_j),
 *   O_i = Σ_block e^{l−c}·vaug + Σ_samples∉block(i) weight·e^{l−c}·vaug, divided by its last column.
 *
 * The attention is one thread per query with an online softmax (running max c): one dispatch
 * instead of the ≈ 20 tfjs ops of the slot-layout form, each of which costs host time in Node.
 *
 * Shape legend: s slices, nq queries, nk keys, dk, dv, dv1 = dv + 1, m samples, bk keys per block.
 */
import type { Tensor, Tensor2D, Tensor3D } from '@tensorflow/tfjs-core';
import { float32Uniform, int32Uniform as int, runWebGpuProgram, WGSL_WORKGROUP_INDEX as WORKGROUP_INDEX } from '@swapformer/kernels';
import { POWER_ITERATIONS } from './residualSampling';

const WORKGROUP = 256;
/** Register arrays of the attention program bound the head dims. */
export const MAX_DEVICE_DIM = 128;

/** WGSL: ‖vaug‖ of row `row` of V (dv columns). */
function augNormWgsl(dv: number): string {
  return `fn augNorm(row : i32) -> f32 {
      var sq = 1.0;
      for (var c = 0; c < ${dv}; c++) { let x = V[row * ${dv} + c]; sq = sq + x * x; }
      return sqrt(sq);
    }`;
}

/**
 * Per slice: σ² by power iteration on gram [s, dv1, dv1] from start [s, dv1], then the inclusive
 * CDF of w_j over the sorted keys → [s, nk + 1] (the CDF, then σ²). One workgroup per slice; the
 * chunk carry is compensated (Kahan) since it adds nk/256 partial sums.
 */
export function samplingCdf(gram: Tensor3D, start: Tensor2D, v: Tensor3D, sortedKeys: Tensor2D): Tensor2D {
  const [s, nk, dv] = v.shape;
  const dv1 = dv + 1;
  const tree = `for (var stride = ${WORKGROUP / 2}; stride > 0; stride = stride / 2) {
          if (tid < stride) { red[tid] = red[tid] + red[tid + stride]; }
          workgroupBarrier();
        }`;
  return runWebGpuProgram(
    {
      variableNames: ['gram', 'start', 'V', 'sortedKeys'],
      outputShape: [s, nk + 1],
      shaderKey: `swapformerKdeCdf_${dv}`,
      dispatch: [s, 1, 1],
      workgroupSize: [WORKGROUP, 1, 1],
      uniforms: 'nk : i32, slices : i32,',
      getUserCode: () => `
        var<workgroup> x : array<f32, ${WORKGROUP}>;
        var<workgroup> red : array<f32, ${WORKGROUP}>;
        ${augNormWgsl(dv)}
        fn main(index : i32) {
          let slice = min(${WORKGROUP_INDEX}, uniforms.slices - 1);
          let tid = i32(localIndex);
          let nk = uniforms.nk;
          if (tid < ${dv1}) { x[tid] = start[slice * ${dv1} + tid]; } else { x[tid] = 0.0; }
          workgroupBarrier();
          var norm = 0.0;
          for (var it = 0; it < ${POWER_ITERATIONS}; it++) {
            var y = 0.0;
            if (tid < ${dv1}) {
              for (var c = 0; c < ${dv1}; c++) { y = y + gram[(slice * ${dv1} + tid) * ${dv1} + c] * x[c]; }
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
          var carry = 0.0;
          var lost = 0.0;
          for (var base = 0; base < nk; base += ${WORKGROUP}) {
            let j = base + tid;
            var w = 0.0;
            if (j < nk) {
              w = 1.0 / f32(nk);
              if (sigma2 > 0.0) { w = augNorm(slice * nk + i32(sortedKeys[slice * nk + j])) / sigma2 + w; }
            }
            red[tid] = w;
            workgroupBarrier();
            for (var offset = 1; offset < ${WORKGROUP}; offset = offset * 2) {
              var add = 0.0;
              if (tid >= offset) { add = red[tid - offset]; }
              workgroupBarrier();
              red[tid] = red[tid] + add;
              workgroupBarrier();
            }
            if (j < nk) { result[slice * (nk + 1) + j] = carry + red[tid]; }
            let chunk = red[${WORKGROUP - 1}] - lost;
            workgroupBarrier();
            let sum = carry + chunk;
            lost = (sum - carry) - chunk;
            carry = sum;
          }
          if (tid == 0) { result[slice * (nk + 1) + nk] = sigma2; }
        }`,
    },
    [gram, start, v, sortedKeys],
    [int(nk), int(s)],
  ) as Tensor2D;
}

/** Inverse-CDF draws of host uniforms u [s, m] in [0, 1) → [s, m, 2]: (key slot, weight Σw/(m·w_slot)). */
export function drawSamples(cdf: Tensor2D, uniforms: Tensor2D, v: Tensor3D, sortedKeys: Tensor2D): Tensor3D {
  const [s, m] = uniforms.shape;
  const [, nk, dv] = v.shape;
  return runWebGpuProgram(
    {
      variableNames: ['cdf', 'draws', 'V', 'sortedKeys'],
      outputShape: [s, m, 2],
      shaderKey: `swapformerKdeDraws_${dv}`,
      dispatch: [Math.ceil((s * m) / 64), 1, 1],
      workgroupSize: [64, 1, 1],
      uniforms: 'nk : i32, m : i32, count : i32,',
      getUserCode: () => `
        ${augNormWgsl(dv)}
        fn main(index : i32) {
          let p = ${WORKGROUP_INDEX} * 64 + i32(localIndex);
          if (p >= uniforms.count) { return; }
          let nk = uniforms.nk;
          let slice = p / uniforms.m;
          let row = slice * (nk + 1);
          let total = cdf[row + nk - 1];
          let goal = draws[p] * total;
          var lo = 0;
          var hi = nk - 1;
          while (lo < hi) {
            let mid = (lo + hi) / 2;
            if (cdf[row + mid] > goal) { hi = mid; } else { lo = mid + 1; }
          }
          let sigma2 = cdf[row + nk];
          var w = 1.0 / f32(nk);
          if (sigma2 > 0.0) { w = augNorm(slice * nk + i32(sortedKeys[slice * nk + lo])) / sigma2 + w; }
          result[2 * p] = f32(lo);
          result[2 * p + 1] = total / (f32(uniforms.m) * w);
        }`,
    },
    [cdf, uniforms, v, sortedKeys],
    [int(nk), int(m), int(s * m)],
  ) as Tensor3D;
}

/**
 * The fused attention: for entry p = (slice, ρ) the query `queryOrder[p]` with key block
 * `queryBlock[p]` takes the exact block of bk sorted keys plus the off-block samples, normalised
 * by the estimated denominator, written to the query's original row → [s, nq, dv], or [s, nq, dv + 1] with `withLogSumExp`: the last
 * column is then log D̃, the log of the estimated denominator (what the causal split merges by).
 * `samples` [s, m, 2] (m = 0: pass any tensor and m 0).
 */
export function blockResidualAttention(q: Tensor3D, k: Tensor3D, v: Tensor3D, queryOrder: Tensor2D, sortedKeys: Tensor2D, queryBlock: Tensor, samples: Tensor, m: number, keysPerBlock: number, scale: number, withLogSumExp = false): Tensor3D {
  const [s, nq, dk] = q.shape;
  const [, nk, dv] = v.shape;
  const width = withLogSumExp ? dv + 1 : dv;
  const update = (logit: string, weight: string, row: string) => `{
              let l = ${logit};
              if (l > best) {
                let rescale = exp(best - l);
                den = den * rescale;
                for (var c = 0; c < ${dv}; c++) { acc[c] = acc[c] * rescale; }
                best = l;
              }
              let e = ${weight} * exp(l - best);
              den = den + e;
              for (var c = 0; c < ${dv}; c++) { acc[c] = acc[c] + e * V[${row} * ${dv} + c]; }
            }`;
  return runWebGpuProgram(
    {
      variableNames: ['Q', 'K', 'V', 'queryOrder', 'sortedKeys', 'queryBlock', 'samples'],
      outputShape: [s, nq, width],
      shaderKey: `swapformerKdeAttend_${dk}_${dv}_${withLogSumExp}`,
      dispatch: [Math.ceil((s * nq) / 64), 1, 1],
      workgroupSize: [64, 1, 1],
      uniforms: 'nq : i32, nk : i32, m : i32, bk : i32, count : i32, scale : f32,',
      getUserCode: () => `
        fn dotKey(qv : ptr<function, array<f32, ${dk}>>, row : i32) -> f32 {
          var sum = 0.0;
          for (var c = 0; c < ${dk}; c++) { sum = sum + (*qv)[c] * K[row * ${dk} + c]; }
          return sum;
        }
        fn main(index : i32) {
          let p = ${WORKGROUP_INDEX} * 64 + i32(localIndex);
          if (p >= uniforms.count) { return; }
          let nq = uniforms.nq;
          let nk = uniforms.nk;
          let slice = p / nq;
          let query = i32(queryOrder[p]);
          let block = i32(queryBlock[p]);
          var qv : array<f32, ${dk}>;
          for (var c = 0; c < ${dk}; c++) { qv[c] = Q[(slice * nq + query) * ${dk} + c] * uniforms.scale; }
          var acc : array<f32, ${dv}>;
          for (var c = 0; c < ${dv}; c++) { acc[c] = 0.0; }
          var den = 0.0;
          var best = -3.0e38;
          let last = min((block + 1) * uniforms.bk, nk);
          for (var u = block * uniforms.bk; u < last; u++) {
            let row = slice * nk + i32(sortedKeys[slice * nk + u]);
            ${update('dotKey(&qv, row)', '1.0', 'row')}
          }
          for (var t = 0; t < uniforms.m; t++) {
            let at = (slice * uniforms.m + t) * 2;
            let slot = i32(samples[at]);
            if (slot / uniforms.bk != block) {
              let row = slice * nk + i32(sortedKeys[slice * nk + slot]);
              ${update('dotKey(&qv, row)', 'samples[at + 1]', 'row')}
            }
          }
          let out = (slice * nq + query) * ${width};
          for (var c = 0; c < ${dv}; c++) { result[out + c] = acc[c] / den; }
          ${withLogSumExp ? `result[out + ${dv}] = best + log(den);` : ''}
        }`,
    },
    [q, k, v, queryOrder, sortedKeys, queryBlock, samples],
    [int(nq), int(nk), int(m), int(keysPerBlock), int(s * nq), float32Uniform(scale)],
  ) as Tensor3D;
}
