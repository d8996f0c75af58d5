/**
 * Non-causal TSSA (see `tost.ts`) as four WebGPU compute programs for tfjs-webgpu, where the op
 * composition takes 22 dispatches. On tfjs-webgpu in Node every dispatch costs ≈ 0.15–0.25 ms of
 * host work (bind group, uniform upload, encoding), which at these sizes is most of the call:
 *
 *   1. column sums of w² over token chunks          (code form: the token-axis norms)
 *   2. Π: the per-token softmax over heads           (one invocation per (batch, token))
 *   3. column sums of Π·w² and of Π over token chunks
 *   4. Y = −w·Π / (1 + Σ Π·w² / (Σ Π + 1e-8)), / n in the paper form
 *
 * Programs 2 and 4 finish the chunk sums of 1 and 3 in workgroup memory. Same values as the op
 * path up to float rounding; no gradient (callers take it only with no tape recording), no mask.
 * Shape legend: b batch, h heads, n tokens, p head dim.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import type { KernelSettings } from '@swapformer/core';
import { float32Uniform, int32Uniform as int, runWebGpuProgram, WGSL_WORKGROUP_INDEX as WORKGROUP_INDEX, type WebGpuProgramSpec } from '@swapformer/kernels';
import type { TostForm, TostParameters } from './tostParameters';

const WORKGROUP = 256;
/** Tokens per chunk of the column sums (programs 1 and 3). */
const CHUNK = 256;
/** Output elements per workgroup of program 4 (16 per invocation). */
const OUTPUT_BLOCK = 4096;
/** Π's head softmax keeps one energy per head in registers. */
const MAX_HEADS = 64;
/** Program 2 keeps h·p reciprocal norms in workgroup memory (16 KiB, WebGPU's default limit). */
const MAX_NORMS = 4096;

/**
 * True when `tssa` on `w` can take the WebGPU programs: webgpu backend, no gradient tape, no
 * mask, p ≤ 256, h ≤ 64 and h·p ≤ 4096.
 */
export function canRunTssaOnWebGpu(kernels: KernelSettings, w: Tensor4D, masked: boolean): boolean {
  const [, h, , p] = w.shape;
  return !masked && tf.getBackend() === 'webgpu' && kernels.webGpuPrograms && !tf.engine().isTapeOn() && p <= WORKGROUP && h <= MAX_HEADS && h * p <= MAX_NORMS;
}

/** WGSL of programs 1 and 3: per (slice, chunk), column sums of w² (weighted: of Π·w², plus Σ Π in column p). */
export function columnSumsWgsl(p: number, weighted: boolean): string {
  const rows = Math.floor(WORKGROUP / p);
  const width = weighted ? p + 1 : p;
  return `
    var<workgroup> part : array<f32, ${WORKGROUP}>;
    var<workgroup> piPart : array<f32, ${WORKGROUP}>;
    fn main(index : i32) {
      let wg = ${WORKGROUP_INDEX};
      let tid = i32(localIndex);
      let slice = wg / uniforms.chunks;
      let chunk = wg % uniforms.chunks;
      let c = tid % ${p};
      let r = tid / ${p};
      var acc = 0.0;
      var piAcc = 0.0;
      if (slice < uniforms.slices && r < ${rows}) {
        let end = min(chunk * ${CHUNK} + ${CHUNK}, uniforms.n);
        for (var i = chunk * ${CHUNK} + r; i < end; i += ${rows}) {
          let x = W[(slice * uniforms.n + i) * ${p} + c];
          ${weighted ? `let pi = Pi[slice * uniforms.n + i];
          acc = acc + pi * x * x;
          piAcc = piAcc + pi;` : 'acc = acc + x * x;'}
        }
      }
      part[tid] = acc;
      piPart[tid] = piAcc;
      workgroupBarrier();
      if (slice < uniforms.slices && tid < ${p}) {
        var s = 0.0;
        var sp = 0.0;
        for (var k = 0; k < ${rows}; k++) {
          s = s + part[k * ${p} + tid];
          sp = sp + piPart[k * ${p} + tid];
        }
        let base = (slice * uniforms.chunks + chunk) * ${width};
        result[base + tid] = s;
        ${weighted ? `if (tid == 0) { result[base + ${p}] = sp; }` : ''}
      }
    }
  `;
}

/** WGSL of program 2: Π[b, h, i], the softmax over heads of temp_h · Σ_c (normalised) w². */
export function membershipWgsl(h: number, p: number, form: TostForm): string {
  const normalised = form === 'code';
  return `
    ${normalised ? `var<workgroup> invNorm : array<f32, ${h * p}>;` : ''}
    fn main(index : i32) {
      let wg = ${WORKGROUP_INDEX};
      let tid = i32(localIndex);
      let blocks = (uniforms.n + ${WORKGROUP - 1}) / ${WORKGROUP};
      let bb = wg / blocks;
      let i = (wg % blocks) * ${WORKGROUP} + tid;
      ${
        normalised
          ? `for (var e = tid; e < ${h * p}; e += ${WORKGROUP}) {
        var s = 0.0;
        if (bb < uniforms.batch) {
          let head = e / ${p};
          for (var ch = 0; ch < uniforms.chunks; ch++) {
            s = s + Sq[((bb * ${h} + head) * uniforms.chunks + ch) * ${p} + e % ${p}];
          }
        }
        invNorm[e] = 1.0 / max(s, 1e-24);
      }
      workgroupBarrier();`
          : ''
      }
      if (bb < uniforms.batch && i < uniforms.n) {
        var energy : array<f32, ${h}>;
        var m = -3.0e38;
        for (var head = 0; head < ${h}; head++) {
          let base = ((bb * ${h} + head) * uniforms.n + i) * ${p};
          var s = 0.0;
          for (var c = 0; c < ${p}; c++) {
            let x = W[base + c];
            s = s + x * x${normalised ? ` * invNorm[head * ${p} + c]` : ''};
          }
          let en = Temp[head] * s;
          energy[head] = en;
          m = max(m, en);
        }
        var z = 0.0;
        for (var head = 0; head < ${h}; head++) {
          let ex = exp(energy[head] - m);
          energy[head] = ex;
          z = z + ex;
        }
        for (var head = 0; head < ${h}; head++) {
          result[(bb * ${h} + head) * uniforms.n + i] = energy[head] / z;
        }
      }
    }
  `;
}

/** WGSL of program 4: Y = −w · Π / ((1 + Σ Π·w² / (Σ Π + 1e-8)) · stepDivisor). */
export function outputWgsl(p: number): string {
  const perInvocation = OUTPUT_BLOCK / WORKGROUP;
  return `
    var<workgroup> scale : array<f32, ${p}>;
    fn main(index : i32) {
      let wg = ${WORKGROUP_INDEX};
      let tid = i32(localIndex);
      let slab = uniforms.n * ${p};
      let blocks = (slab + ${OUTPUT_BLOCK - 1}) / ${OUTPUT_BLOCK};
      let slice = wg / blocks;
      let block = wg % blocks;
      if (tid < ${p}) {
        var s = 0.0;
        var sp = 0.0;
        if (slice < uniforms.slices) {
          for (var ch = 0; ch < uniforms.chunks; ch++) {
            let base = (slice * uniforms.chunks + ch) * ${p + 1};
            s = s + Part[base + tid];
            sp = sp + Part[base + ${p}];
          }
        }
        scale[tid] = -1.0 / ((1.0 + s / (sp + 1e-8)) * uniforms.stepDivisor);
      }
      workgroupBarrier();
      if (slice < uniforms.slices) {
        for (var k = 0; k < ${perInvocation}; k++) {
          let j = block * ${OUTPUT_BLOCK} + k * ${WORKGROUP} + tid;
          if (j < slab) {
            result[slice * slab + j] = W[slice * slab + j] * Pi[slice * uniforms.n + j / ${p}] * scale[j % ${p}];
          }
        }
      }
    }
  `;
}

/**
 * `tssa` (non-causal, unmasked) on the webgpu backend in four dispatches (three in the paper form).
 *
 * @example if (canRunTssaOnWebGpu(kernels, w, false)) y = tssaWebGpu(w, params, 'code');
 */
export function tssaWebGpu(w: Tensor4D, params: TostParameters, form: TostForm): Tensor4D {
  const [b, h, n, p] = w.shape;
  const slices = b * h;
  const chunks = Math.ceil(n / CHUNK);
  const columnSums = (weighted: boolean): WebGpuProgramSpec => ({
    variableNames: weighted ? ['W', 'Pi'] : ['W'],
    outputShape: [slices, chunks, weighted ? p + 1 : p],
    shaderKey: `swapformerTssaColumnSums_${p}_${weighted}`,
    dispatch: [slices * chunks, 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    uniforms: 'n : i32, slices : i32, chunks : i32,',
    getUserCode: () => columnSumsWgsl(p, weighted),
  });
  return tf.tidy(() => {
    const sums = [int(n), int(slices), int(chunks)];
    const squares: Tensor[] = form === 'code' ? [runWebGpuProgram(columnSums(false), [w], sums)] : [];
    const pi = runWebGpuProgram(
      {
        variableNames: form === 'code' ? ['W', 'Temp', 'Sq'] : ['W', 'Temp'],
        outputShape: [b, h, n],
        shaderKey: `swapformerTssaMembership_${h}_${p}_${form}`,
        dispatch: [b * Math.ceil(n / WORKGROUP), 1, 1],
        workgroupSize: [WORKGROUP, 1, 1],
        uniforms: 'n : i32, batch : i32, chunks : i32,',
        getUserCode: () => membershipWgsl(h, p, form),
      },
      [w, params.temp, ...squares],
      [int(n), int(b), int(chunks)],
    );
    const weightedSums = runWebGpuProgram(columnSums(true), [w, pi], sums);
    const y = runWebGpuProgram(
      {
        variableNames: ['W', 'Pi', 'Part'],
        outputShape: [slices, n, p],
        shaderKey: `swapformerTssaOutput_${p}`,
        dispatch: [slices * Math.ceil((n * p) / OUTPUT_BLOCK), 1, 1],
        workgroupSize: [WORKGROUP, 1, 1],
        uniforms: 'n : i32, slices : i32, chunks : i32, stepDivisor : f32,',
        getUserCode: () => outputWgsl(p),
      },
      [w, pi, weightedSums],
      [int(n), int(slices), int(chunks), float32Uniform(form === 'paper' ? n : 1)],
    );
    return tf.reshape(y, [b, h, n, p]) as Tensor4D;
  });
}
