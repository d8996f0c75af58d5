/**
 * Top-u selection on tfjs-webgpu without tf.topk (whose bitonic sort is ≈ 45–70 dispatches):
 * one workgroup per 1,024-score chunk takes its u largest by u rounds of a workgroup argmax, and
 * the chunks' picks go through the same program until one chunk per slice is left.
 * Shape legend: S slices, m scores per slice, u picks.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { int32Uniform as int, runWebGpuProgram, WGSL_WORKGROUP_INDEX as WORKGROUP_INDEX } from '@swapformer/kernels';

const WORKGROUP = 256;
/** Scores per workgroup: 4 per invocation, 8 KiB of workgroup memory with their indices. */
const SELECT_CHUNK = 1024;
const REMOVED = '-3.4e38';

/**
 * WGSL: the u largest of each 1,024-entry chunk of each slice's m entries, as (value, index)
 * pairs `[S, chunks, u, 2]` in descending order (ties: lower index first). `paired`: the input
 * holds (value, index) pairs (a previous round's output); else plain values indexed by position.
 */
export function selectTopWgsl(picks: number, paired: boolean): string {
  const perInvocation = SELECT_CHUNK / WORKGROUP;
  const read = paired ? `vals[e] = In[2 * (s * uniforms.m + i)];
          ids[e] = In[2 * (s * uniforms.m + i) + 1];` : `vals[e] = In[s * uniforms.m + i];
          ids[e] = f32(i);`;
  return `
    var<workgroup> vals : array<f32, ${SELECT_CHUNK}>;
    var<workgroup> ids : array<f32, ${SELECT_CHUNK}>;
    var<workgroup> bestV : array<f32, ${WORKGROUP}>;
    var<workgroup> bestE : array<i32, ${WORKGROUP}>;
    fn main(index : i32) {
      let valid = ${WORKGROUP_INDEX} < uniforms.slices * uniforms.chunks;
      let wg = min(${WORKGROUP_INDEX}, uniforms.slices * uniforms.chunks - 1);
      let s = wg / uniforms.chunks;
      let chunk = wg % uniforms.chunks;
      let tid = i32(localIndex);
      for (var e = tid; e < ${SELECT_CHUNK}; e += ${WORKGROUP}) {
        let i = chunk * ${SELECT_CHUNK} + e;
        if (i < uniforms.m) {
          ${read}
        } else {
          vals[e] = ${REMOVED};
          ids[e] = 0.0;
        }
      }
      workgroupBarrier();
      for (var t = 0; t < ${picks}; t++) {
        var bv = ${REMOVED};
        var be = ${SELECT_CHUNK};
        for (var q = 0; q < ${perInvocation}; q++) {
          let e = tid + q * ${WORKGROUP};
          let candidate = vals[e];
          if (candidate > bv || (candidate == bv && ids[e] < ids[min(be, ${SELECT_CHUNK - 1})]) || be == ${SELECT_CHUNK}) { bv = candidate; be = e; }
        }
        bestV[tid] = bv;
        bestE[tid] = be;
        workgroupBarrier();
        for (var stride = ${WORKGROUP / 2}; stride > 0; stride = stride / 2) {
          if (tid < stride) {
            let ov = bestV[tid + stride];
            let oe = bestE[tid + stride];
            if (ov > bestV[tid] || (ov == bestV[tid] && ids[oe] < ids[bestE[tid]])) {
              bestV[tid] = ov;
              bestE[tid] = oe;
            }
          }
          workgroupBarrier();
        }
        if (tid == 0) {
          let e = bestE[0];
          if (valid) {
            result[2 * (wg * ${picks} + t)] = bestV[0];
            result[2 * (wg * ${picks} + t) + 1] = ids[e];
          }
          vals[e] = ${REMOVED};
          ids[e] = 3.0e38;
        }
        workgroupBarrier();
      }
    }
  `;
}

/**
 * The u largest of each slice's m scores `[S, m]` as (value, index) pairs `[S, 1, u, 2]`, in
 * descending order (ties: lower index first): rounds of the chunked selection until one chunk per
 * slice is left (one round up to 1,024 scores, two up to 32,768 for u = 32, …).
 *
 * @example const picks = selectTopPicks(scores, 4, 16384, 32); // [4, 1, 32, 2]
 */
export function selectTopPicks(scores: Tensor, slices: number, entries: number, picks: number): Tensor {
  return tf.tidy(() => {
    let input = scores;
    let m = entries;
    let paired = false;
    for (;;) {
      const chunks = Math.ceil(m / SELECT_CHUNK);
      input = runWebGpuProgram(
        {
          variableNames: ['In'],
          outputShape: [slices, chunks, picks, 2],
          shaderKey: `swapformerLevSelectTop_${picks}_${paired}`,
          dispatch: [slices * chunks, 1, 1],
          workgroupSize: [WORKGROUP, 1, 1],
          uniforms: 'm : i32, slices : i32, chunks : i32,',
          getUserCode: () => selectTopWgsl(picks, paired),
        },
        [input],
        [int(m), int(slices), int(chunks)],
      );
      if (chunks === 1) return input;
      m = chunks * picks;
      paired = true;
    }
  });
}
