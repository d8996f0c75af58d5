import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import type { KernelSettings } from '@swapformer/core';
import { MASKED_LOGIT } from '../attentionBias';
import { int32Uniform, runWebGpuProgram, WGSL_WORKGROUP_INDEX, type WebGpuProgramSpec } from './runWebGpuProgram';

/**
 * Exact attention as one WebGPU compute program (flash-attention style) for tfjs-webgpu.
 *
 * One workgroup of 64 invocations owns 64 query rows of one (batch, head) slice; each
 * invocation keeps its query row and its output accumulator in registers, and the workgroup
 * walks the keys in tiles of KEY_TILE keys staged in workgroup memory: scores for the tile,
 * one rescale of the accumulator by exp(m_old − m_new), then p·v. Nothing of size `[n, n]`
 * exists, so n = 65536 needs no chunking and no 2 GiB binding; one dispatch replaces the
 * thousands of the op composition.
 *
 * Shapes: q [b, h, nq, dk], k [b, h, nk, dk], v [b, h, nk, dv] → [b, h, nq, dv]; dk and dv must
 * be multiples of 4 and at most 256 (registers per invocation). Time O(b·h·nq·nk·(dk + dv)).
 *
 * Opt-in (kernel setting `webGpuFusedAttention`; the CLI sets it from SWAPFORMER_WEBGPU_FUSED=1): on the H100 it is
 * slower than the row-block op path. CI checks it against the cpu kernel on lavapipe, and the GPU
 * benchmark script against the op path before turning it on.
 */

/** Keys staged in workgroup memory per step: 32 × (64 + 64) floats = 16 KiB, WebGPU's default limit. */
const KEY_TILE = 32;
const ROWS = 64;

/** True when this call can take the fused WebGPU program: turned on in `kernels` (`webGpuFusedAttention`), webgpu active, dk and dv fit, no gradient tape. */
export function canUseWebGpuFusedAttention(kernels: KernelSettings, q: Tensor4D, v: Tensor4D): boolean {
  const dk = q.shape[3];
  const dv = v.shape[3];
  return kernels.webGpuFusedAttention && tf.getBackend() === 'webgpu' && dk % 4 === 0 && dv % 4 === 0 && dk <= 256 && dv <= 256 && !tf.engine().isTapeOn();
}

/** The WGSL body (tfjs-webgpu adds bindings, uniforms and the entry point). */
export function fusedAttentionWgsl(dk: number, dv: number): string {
  const dq4 = dk / 4;
  const dv4 = dv / 4;
  return `
    const TK = ${KEY_TILE};
    const DQ = ${dq4};
    const DV = ${dv4};
    var<workgroup> kTile : array<vec4<f32>, ${KEY_TILE * dq4}>;
    var<workgroup> vTile : array<vec4<f32>, ${KEY_TILE * dv4}>;

    fn main(index : i32) {
      let wg = ${WGSL_WORKGROUP_INDEX};
      let blocks = (uniforms.nq + ${ROWS - 1}) / ${ROWS};
      let slice = wg / blocks;
      let row0 = (wg % blocks) * ${ROWS};
      let tid = i32(localIndex);
      let row = row0 + tid;
      let valid = slice < uniforms.slices && row < uniforms.nq;
      let batch = slice / uniforms.heads;

      var q : array<vec4<f32>, DQ>;
      var acc : array<vec4<f32>, DV>;
      let qBase = (slice * uniforms.nq + min(row, uniforms.nq - 1)) * ${dk};
      for (var t = 0; t < DQ; t++) {
        if (valid) {
          q[t] = vec4<f32>(Q[qBase + 4 * t], Q[qBase + 4 * t + 1], Q[qBase + 4 * t + 2], Q[qBase + 4 * t + 3]);
        } else {
          q[t] = vec4<f32>(0.0);
        }
      }
      for (var t = 0; t < DV; t++) { acc[t] = vec4<f32>(0.0); }
      var m = -3.0e38;
      var l = 0.0;
      // keys the last row of the block may see; tiles past it are skipped, but the loop itself
      // runs over every tile so the barriers stay in uniform control flow (the workgroup id comes
      // through a private variable, which WGSL's uniformity analysis treats as non-uniform)
      let lastRow = min(row0 + ${ROWS - 1}, uniforms.nq - 1);
      let kEnd = min(uniforms.nk, lastRow + uniforms.offset + 1);
      let myEnd = min(uniforms.nk, row + uniforms.offset + 1);
      let kSlice = slice * uniforms.nk;
      for (var k0 = 0; k0 < uniforms.nk; k0 += TK) {
        let inRange = k0 < kEnd;
        for (var e = tid; inRange && e < TK * DQ; e += ${ROWS}) {
          let j = k0 + e / DQ;
          let base = (kSlice + j) * ${dk} + 4 * (e % DQ);
          if (j < uniforms.nk && slice < uniforms.slices) {
            kTile[e] = vec4<f32>(K[base], K[base + 1], K[base + 2], K[base + 3]);
          } else {
            kTile[e] = vec4<f32>(0.0);
          }
        }
        for (var e = tid; inRange && e < TK * DV; e += ${ROWS}) {
          let j = k0 + e / DV;
          let base = (kSlice + j) * ${dv} + 4 * (e % DV);
          if (j < uniforms.nk && slice < uniforms.slices) {
            vTile[e] = vec4<f32>(V[base], V[base + 1], V[base + 2], V[base + 3]);
          } else {
            vTile[e] = vec4<f32>(0.0);
          }
        }
        workgroupBarrier();
        var s : array<f32, TK>;
        var tileMax = -3.0e38;
        for (var j = 0; inRange && j < TK; j++) {
          var dotv = vec4<f32>(0.0);
          for (var t = 0; t < DQ; t++) {
            dotv = fma(q[t], kTile[j * DQ + t], dotv);
          }
          let key = k0 + j;
          var sc = -3.0e38;
          if (key < myEnd && key < uniforms.nk) {
            sc = dotv.x + dotv.y + dotv.z + dotv.w + Bias[batch * uniforms.nk + key];
          }
          s[j] = sc;
          tileMax = max(tileMax, sc);
        }
        let mNew = max(m, tileMax);
        if (inRange && mNew > -1.0e38) {
          let corr = exp(m - mNew);
          l = l * corr;
          for (var t = 0; t < DV; t++) { acc[t] = acc[t] * corr; }
          for (var j = 0; j < TK; j++) {
            var p = 0.0;
            if (s[j] > -1.0e38) { p = exp(s[j] - mNew); }
            l = l + p;
            for (var t = 0; t < DV; t++) {
              acc[t] = fma(vec4<f32>(p), vTile[j * DV + t], acc[t]);
            }
          }
          m = mNew;
        }
        workgroupBarrier();
      }
      if (valid) {
        var inv = 0.0;
        if (l > 0.0 && m > ${MASKED_LOGIT / 2}.0) { inv = 1.0 / l; }
        let oBase = (slice * uniforms.nq + row) * ${dv};
        for (var t = 0; t < DV; t++) {
          let o = acc[t] * inv;
          result[oBase + 4 * t] = o.x;
          result[oBase + 4 * t + 1] = o.y;
          result[oBase + 4 * t + 2] = o.z;
          result[oBase + 4 * t + 3] = o.w;
        }
      }
    }
  `;
}

/**
 * Runs the fused program on the webgpu backend. Same semantics as the other exact kernels:
 * causal keeps j ≤ i + (nk − nq); mask `[b, nk]` hides keys with 0; rows with no visible key
 * give 0.
 *
 * @example const out = fusedWebGpuAttention(q, k, v, { causal: true });
 */
export function fusedWebGpuAttention(q: Tensor4D, k: Tensor4D, v: Tensor4D, options: { readonly scale?: number; readonly causal?: boolean; readonly mask?: Tensor2D } = {}): Tensor4D {
  const [b, h, nq, dk] = q.shape;
  const nk = k.shape[2];
  const dv = v.shape[3];
  if (tf.getBackend() !== 'webgpu') throw new Error(`fusedWebGpuAttention: needs the webgpu backend, the active one is "${tf.getBackend()}"`);
  if (dk % 4 !== 0 || dv % 4 !== 0 || dk > 256 || dv > 256) throw new Error(`fusedWebGpuAttention: dk and dv must be multiples of 4 up to 256, got dk ${dk}, dv ${dv}`);
  const scale = options.scale ?? 1 / Math.sqrt(dk);
  const slices = b * h;
  const program: WebGpuProgramSpec = {
    variableNames: ['Q', 'K', 'V', 'Bias'],
    outputShape: [slices, nq, dv],
    shaderKey: `swapformerFusedAttention_${dk}_${dv}`,
    dispatch: [slices * Math.ceil(nq / ROWS), 1, 1],
    workgroupSize: [ROWS, 1, 1],
    uniforms: 'nq : i32, nk : i32, heads : i32, slices : i32, offset : i32,',
    getUserCode: () => fusedAttentionWgsl(dk, dv),
  };
  return tf.tidy(() => {
    const q3 = tf.reshape(tf.mul(q, scale), [slices, nq, dk]);
    const k3 = tf.reshape(k, [slices, nk, dk]);
    const v3 = tf.reshape(v, [slices, nk, dv]);
    const bias: Tensor = options.mask ? tf.mul(tf.sub(1, tf.cast(options.mask, 'float32')), MASKED_LOGIT) : tf.zeros([b, nk]);
    const uniforms = [nq, nk, h, slices, options.causal ? nk - nq : nk].map(int32Uniform);
    return tf.reshape(runWebGpuProgram(program, [q3, k3, v3, bias], uniforms), [b, h, nq, dv]) as Tensor4D;
  });
}
