/**
 * Causal Thinformer on the webgpu backend: causalThinformer.ts's split and weights (see there for
 * the why of the split and the + ln(n_block/nOut) coreset weights), laid out for few dispatches.
 * In Node each tfjs-webgpu dispatch costs ≈ 0.2 ms of host work, and a form with one coreset
 * call, gathers, fills, slices and concats per leaf took ≈ 400 dispatches at n = 16,384.
 *
 *   1. the split asks for a coreset of every left half; halves that thin to the same size n
 *      share a schedule, so each n is one batched coreset call (thinformerWebGpu.ts, ranges as
 *      extra slices): at n = 16,384 with leaves of 1,024 keys, two calls for 15 halves;
 *   2. one table (uploaded once) says, for each leaf and each context row, which coreset point
 *      it is and its log-weight; one program per operand builds every leaf's queries [q, 1],
 *      keys [coreset rows, own keys | w/s] and values straight from q, k, v and the positions;
 *   3. when every leaf has the same length and all its queries (the common case nq = nk, n a
 *      multiple of the leaf), the leaves are heads of one attention call: shorter contexts are
 *      padded at the front with rows of log-weight −1e30 (weight exactly 0 after the softmax).
 *      Otherwise each leaf is its own call of the same programs.
 *
 * Shapes: q [b, h, nq, dk], k [b, h, nk, dk], v [b, h, nk, dv] → [b, h, nq, dv].
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import { deriveSeed, type KernelContext } from '@swapformer/core';
import { float32Uniform, int32Uniform as int, runWebGpuProgram, softmaxAttention, WGSL_WORKGROUP_INDEX as WORKGROUP_INDEX, type DeviceUploadCache } from '@swapformer/kernels';
import type { CausalThinformerOptions } from './causalThinformer';
import { causalLeaves, checkQueriesAlignedToKeys, type CausalLeaf } from './causalSplit';
import { compressPlan } from './compressPlan';
import { asSlices, deviceCoresets, type DeviceCoresets, type KeyRange } from './thinformerWebGpu';

const WORKGROUP = 256;

/** Log-weight of padding rows: exp(scale·(−1e30)) is exactly 0 in float32, and no inf meets an inf. */
const PAD_LOG_WEIGHT = -1e30;

/** Floats per table entry: group (−1: padding), point index base, point index per slice, column. */
const ENTRY = 4;

/** A left half [lo, hi) the split asked a coreset of; `group`/`range` say where it was computed. */
interface RangeRequest {
  readonly lo: number;
  readonly hi: number;
  group: number;
  range: number;
}

/** Requests whose schedules match (same thinned size n) as one batch of ranges each. */
function batchRequests(requests: readonly RangeRequest[], options: CausalThinformerOptions): KeyRange[][] {
  const byN = new Map<number, RangeRequest[]>();
  for (const r of requests) {
    const { n } = compressPlan(r.hi - r.lo, options.g, options.delta);
    byN.set(n, [...(byN.get(n) ?? []), r]);
  }
  return [...byN.values()].map((list, group) => {
    list.forEach((r, range) => Object.assign(r, { group, range }));
    return list.map(({ lo, hi }) => ({ lo, hi }));
  });
}

/** Table [leaves, contextRows, ENTRY] of the context rows (padding first, then each context's points in order). */
function contextTable(leaves: readonly CausalLeaf<RangeRequest>[], groups: readonly DeviceCoresets[], slices: number, contextRows: number, scale: number): Float32Array {
  const table = new Float32Array(leaves.length * contextRows * ENTRY);
  leaves.forEach((leaf, l) => {
    const used = leaf.context.reduce((sum, c) => sum + groups[c.group].plan.nOut, 0);
    let row = l * contextRows;
    for (let p = used; p < contextRows; p++, row++) table.set([-1, 0, 0, PAD_LOG_WEIGHT / scale], row * ENTRY);
    for (const c of leaf.context) {
      const { nOut } = groups[c.group].plan;
      const column = Math.log((c.hi - c.lo) / nOut) / scale;
      for (let p = 0; p < nOut; p++, row++) table.set([c.group, c.range * slices * nOut + p, nOut, column], row * ENTRY);
    }
  });
  return table;
}

/** Where a leaf batch's own rows come from: leaf l's rows are first + l·step … + rows − 1 of x. */
interface OwnRows {
  readonly leaves: number;
  readonly first: number;
  readonly step: number;
  readonly rows: number;
}

/**
 * x [s, n, d] → [s·leaves, contextRows + rows, width] (row slice·leaves + l, so the attention's
 * output is already [b, h, leaves·rows, dv]): the context rows the
 * table names (the points of `groups`), then each leaf's own rows; width d + 1 puts the table's
 * column on context rows and `ownColumn` on own rows.
 */
function leafOperand(x: Tensor3D, own: OwnRows, ownColumn: number | undefined, groups: readonly DeviceCoresets[], table: Tensor | undefined, contextRows: number, contextColumn: boolean): Tensor3D {
  const [slices, n, d] = x.shape;
  const width = ownColumn === undefined ? d : d + 1;
  const rows = contextRows + own.rows;
  const size = own.leaves * slices * rows * width;
  const groupCount = contextRows > 0 ? groups.length : 0;
  const names = groupCount > 0 ? ['X', 'table', ...groups.map((_, g) => `P${g}`)] : ['X'];
  const inputs = groupCount > 0 ? [x, table!, ...groups.map((c) => c.points)] : [x];
  const pointCases = groups.map((_, g) => `case ${g}: { return P${g}[i]; }`).join(' ');
  const contextCode = `
          let t = (leaf * uniforms.contextRows + row) * ${ENTRY};
          ${contextColumn ? `if (c >= ${d}) { result[at] = table[t + 3]; return; }` : ''}
          let group = i32(table[t]);
          if (group < 0) { result[at] = 0.0; return; }
          let key = pointOf(group, i32(table[t + 1]) + slice * i32(table[t + 2]));
          result[at] = X[(slice * ${n} + i32(key)) * ${d} + c];`;
  return runWebGpuProgram(
    {
      variableNames: names,
      outputShape: [own.leaves * slices, rows, width],
      shaderKey: `swapformerThinformerLeaf_${n}_${d}_${width}_${groupCount}_${contextColumn}`,
      dispatch: [Math.ceil(size / WORKGROUP), 1, 1],
      workgroupSize: [WORKGROUP, 1, 1],
      uniforms: 'size : i32, leaves : i32, rows : i32, contextRows : i32, first : i32, step : i32, column : f32,',
      getUserCode: () => `
        ${groupCount > 0 ? `fn pointOf(group : i32, i : i32) -> f32 { switch group { ${pointCases} default: { return 0.0; } } }` : ''}
        fn main(index : i32) {
          let at = ${WORKGROUP_INDEX} * ${WORKGROUP} + i32(localIndex);
          if (at >= uniforms.size) { return; }
          let c = at % ${width};
          let row = (at / ${width}) % uniforms.rows;
          let leaf = (at / (${width} * uniforms.rows)) % uniforms.leaves;
          let slice = at / (${width} * uniforms.rows * uniforms.leaves);
          if (row >= uniforms.contextRows) {
            if (c >= ${d}) { result[at] = uniforms.column; return; }
            result[at] = X[(slice * ${n} + uniforms.first + leaf * uniforms.step + row - uniforms.contextRows) * ${d} + c];
            return;
          }
          ${groupCount > 0 ? contextCode : ''}
        }`,
    },
    inputs,
    [int(size), int(own.leaves), int(rows), int(contextRows), int(own.first), int(own.step), float32Uniform(ownColumn ?? 0)],
  ) as Tensor3D;
}

/**
 * Attention of a batch of leaves ([s·leaves, …] as heads of one call) → [s·leaves, rows, dv].
 * s·⟨[q, 1], [k, w/s]⟩ = s·⟨q, k⟩ + w: each coreset's log-weight rides on one extra coordinate,
 * and the causal offset (context rows) makes every context row visible and own keys causal.
 */
function leafBatchAttention(kernels: KernelContext, qs: Tensor3D, ks: Tensor3D, vs: Tensor3D, leaves: readonly CausalLeaf<RangeRequest>[], queries: OwnRows, keys: OwnRows, groups: readonly DeviceCoresets[], scale: number): Tensor3D {
  const slices = ks.shape[0];
  const contextRows = Math.max(...leaves.map((leaf) => leaf.context.reduce((sum, c) => sum + groups[c.group].plan.nOut, 0)));
  const table = contextRows > 0 ? tf.tensor1d(contextTable(leaves, groups, slices, contextRows, scale)) : undefined;
  const heads = leaves.length * slices;
  const as4d = (x: Tensor3D) => tf.reshape(x, [1, heads, x.shape[1], x.shape[2]]) as Tensor4D;
  const hasContext = contextRows > 0;
  const q = leafOperand(qs, queries, hasContext ? 1 : undefined, groups, undefined, 0, false);
  const k = leafOperand(ks, keys, hasContext ? 0 : undefined, groups, table, contextRows, true);
  const v = leafOperand(vs, keys, undefined, groups, table, contextRows, false);
  return tf.reshape(softmaxAttention(kernels, as4d(q), as4d(k), as4d(v), { scale, causal: true }), [heads, queries.rows, vs.shape[2]]) as Tensor3D;
}

/**
 * Causal Thinformer with every coreset built on the device (exact when nk ≤ exactBlock).
 *
 * @example const out = deviceCausalThinformerAttention(kernels, q, k, v, { g: 2, delta: 0.5, seed: 0, exactBlock: 1024 });
 */
export function deviceCausalThinformerAttention(kernels: KernelContext, q: Tensor4D, k: Tensor4D, v: Tensor4D, options: CausalThinformerOptions, uploads?: DeviceUploadCache): Tensor4D {
  const [b, h, nq, dk] = q.shape;
  const nk = k.shape[2];
  const dv = v.shape[3];
  const scale = options.scale ?? 1 / Math.sqrt(dk);
  checkQueriesAlignedToKeys(nq, nk);
  if (nk <= options.exactBlock) return softmaxAttention(kernels, q, k, v, { scale, causal: true });
  const offset = nk - nq;
  const requests: RangeRequest[] = [];
  const leaves = causalLeaves(0, nk, offset, options.exactBlock, (lo, hi) => {
    const request = { lo, hi, group: -1, range: -1 };
    requests.push(request);
    return request;
  });
  return tf.tidy(() => {
    const [qs, ks, vs] = [asSlices(q), asSlices(k), asSlices(v)];
    const groups = batchRequests(requests, options).map((ranges) => deviceCoresets(ks, vs, ranges, { ...options, scale }, (r) => deriveSeed(options.seed, 'causal-block', ranges[r].lo, ranges[r].hi), uploads));
    const length = leaves[0].hi - leaves[0].lo;
    const uniform = leaves[0].lo === offset && leaves.every((leaf, l) => leaf.lo === leaves[0].lo + l * length && leaf.hi - leaf.lo === length);
    if (uniform) {
      const out = leafBatchAttention(kernels, qs, ks, vs, leaves, { leaves: leaves.length, first: 0, step: length, rows: length }, { leaves: leaves.length, first: leaves[0].lo, step: length, rows: length }, groups, scale);
      return tf.reshape(out, [b, h, nq, dv]) as Tensor4D;
    }
    const outputs = leaves.map((leaf) => {
      const qFrom = Math.max(leaf.lo, offset) - offset;
      const queries = { leaves: 1, first: qFrom, step: 0, rows: leaf.hi - offset - qFrom };
      const out = leafBatchAttention(kernels, qs, ks, vs, [leaf], queries, { leaves: 1, first: leaf.lo, step: 0, rows: leaf.hi - leaf.lo }, groups, scale);
      return tf.reshape(out, [b, h, queries.rows, dv]);
    });
    return (outputs.length === 1 ? outputs[0] : tf.concat(outputs, 2)) as Tensor4D;
  });
}
