/**
 * The causal KDEformer split (causalKdeformer.ts) on the device, batched: the same leaves, parts,
 * seeds and estimator as the recursion, but its KDEformer parts of equal size run as one device
 * call, the parts as extra heads, and every leaf and every log-sum-exp merge runs in one program
 * (causalMergeWebGpu.ts). The recursion dispatched ≈ 20 tfjs ops per leaf and per merge
 * (≈ 1,100 dispatches at n = 16,384, exactBlock 1,024); this takes one device call per distinct
 * part size — O(log(n/exactBlock)) of them — plus the merge.
 *
 * Shapes: q [b, h, nq, dk], k [b, h, nk, dk], v [b, h, nk, dv] → [b, h, nq, dv], nq ≤ nk, queries
 * aligned to the end of the keys.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import { deriveSeed } from '@swapformer/core';
import type { CausalKdeformerOptions } from './causalKdeformer';
import { causalLeavesAndMerge } from './causalMergeWebGpu';
import { deviceKdeformerSlices } from './deviceKdeformer';

/** A KDEformer part: queries at key positions [qFrom, qTo) against keys [lo, mid). */
export interface SplitPart {
  readonly lo: number;
  readonly mid: number;
  readonly qFrom: number;
  readonly qTo: number;
  /** Recursion depth of the node split at mid (0 for the whole range). */
  readonly level: number;
}

/** The recursion's parts and leaves, in the order the recursion visits them. */
export interface CausalSplitPlan {
  readonly parts: readonly SplitPart[];
  /** Leaf key ranges [lo, hi) that hold queries; exact causal attention inside each. */
  readonly leaves: ReadonlyArray<{ readonly lo: number; readonly hi: number }>;
  /** Levels that hold parts. */
  readonly depth: number;
}

/**
 * The split of causalKdeformer.ts for nk keys and nq queries (aligned to the end).
 *
 * @example planCausalSplit(512, 512, 128).parts.length // 3: one at level 0, two at level 1
 */
export function planCausalSplit(nk: number, nq: number, exactBlock: number): CausalSplitPlan {
  const offset = nk - nq;
  const parts: SplitPart[] = [];
  const leaves: Array<{ lo: number; hi: number }> = [];
  const visit = (lo: number, hi: number, level: number): void => {
    if (hi - lo <= exactBlock) {
      leaves.push({ lo, hi });
      return;
    }
    const mid = lo + Math.floor((hi - lo) / 2);
    visit(mid, hi, level + 1);
    parts.push({ lo, mid, qFrom: Math.max(mid, offset), qTo: hi, level });
    if (mid > offset) visit(lo, mid, level + 1);
  };
  visit(0, nk, 0);
  return { parts, leaves, depth: parts.reduce((most, part) => Math.max(most, part.level + 1), 0) };
}

/** Parts with the same key and query counts, which one device call can batch. */
function groupBySize(parts: readonly SplitPart[]): SplitPart[][] {
  const groups = new Map<string, SplitPart[]>();
  for (const part of parts) {
    const key = `${part.mid - part.lo}×${part.qTo - part.qFrom}`;
    groups.set(key, [...(groups.get(key) ?? []), part]);
  }
  return [...groups.values()];
}

/**
 * Per query: its leaf's first key, then per level (deepest first) its row among the batched
 * parts' outputs or −1 — what causalLeavesAndMerge reads.
 */
function mergeTable(plan: CausalSplitPlan, groups: readonly SplitPart[][], nk: number, nq: number): Float32Array {
  const offset = nk - nq;
  const width = 1 + plan.depth;
  const table = new Float32Array(nq * width).fill(-1);
  for (const leaf of plan.leaves) {
    for (let p = Math.max(leaf.lo, offset); p < leaf.hi; p++) table[(p - offset) * width] = leaf.lo;
  }
  let row = 0;
  for (const group of groups) {
    for (const part of group) {
      const column = plan.depth - part.level;
      for (let p = part.qFrom; p < part.qTo; p++) table[(p - offset) * width + column] = row++;
    }
  }
  return table;
}

/**
 * Causal KDEformer on the device (webgpu): same output as `causalKdeformerAttention` on the host
 * for the same seeds, up to float32 rounding.
 *
 * @example const out = deviceCausalKdeformerAttention(q, k, v, { blockSize: 32, samples: 64, projections: 7, seed: 0, exactBlock: 1024 });
 */
export function deviceCausalKdeformerAttention(q: Tensor4D, k: Tensor4D, v: Tensor4D, options: CausalKdeformerOptions): Tensor4D {
  const [b, h, nq, dk] = q.shape;
  const [, , nk, dv] = v.shape;
  const s = b * h;
  const offset = nk - nq;
  const scale = options.scale ?? 1 / Math.sqrt(dk);
  const plan = planCausalSplit(nk, nq, options.exactBlock);
  const groups = groupBySize(plan.parts);
  const table = mergeTable(plan, groups, nk, nq);
  return tf.tidy(() => {
    const outputs = groups.map((group) => {
      const count = group.length;
      const nkPart = group[0].mid - group[0].lo;
      const nqPart = group[0].qTo - group[0].qFrom;
      // Slice (bi, hi, part) is head hi·count + part of the batch; each part keeps the recursion's
      // seeds and reads its rows in place (no gather).
      const sources = (bi: number, hv: number) => {
        const part = group[hv % count];
        const slice = bi * h + Math.floor(hv / count);
        const derive = (seed: number) => deriveSeed(seed, 'causal-block', part.lo, part.mid);
        return { seed: derive(options.seed), sampleSeed: derive(options.sampleSeed ?? options.seed), bi, hi: Math.floor(hv / count), keyRow: slice * nk + part.lo, queryRow: slice * nq + part.qFrom - offset };
      };
      const view = { b, h: h * count, nq: nqPart, nk: nkPart, dk, dv };
      const out = deviceKdeformerSlices(q, k, v, view, { ...options, scale }, 'bucket', true, sources);
      return tf.reshape(out, [s, count * nqPart, dv + 1]);
    });
    const tableTensor = tf.tensor1d(table);
    const parts: Tensor = outputs.length === 0 ? tableTensor : outputs.length === 1 ? outputs[0] : tf.concat(outputs, 1);
    const mask = options.mask ? tf.cast(options.mask, 'float32') : undefined;
    const rows = outputs.reduce((total, out) => total + out.shape[1]!, 0);
    const [qs, ks, vs] = [q, k, v].map((x) => tf.reshape(x, [s, x.shape[2], x.shape[3]]));
    const out = causalLeavesAndMerge(qs, ks, vs, parts, tableTensor, mask, { s, heads: h, nq, nk, dk, dv, depth: plan.depth, rows }, scale);
    return tf.reshape(out, [b, h, nq, dv]) as Tensor4D;
  });
}
