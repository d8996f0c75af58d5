/**
 * The causal KDEformer split (causalKdeformer.ts) on the device, batched: the same leaves, parts,
 * seeds and estimator as the recursion, but its KDEformer parts run as a few device calls, the
 * parts as extra heads (batchParts), and every leaf and every log-sum-exp merge runs in one
 * program (causalMergeWebGpu.ts). The recursion dispatched ≈ 20 tfjs ops per leaf and per merge
 * (≈ 1,100 dispatches at n = 16,384, exactBlock 1,024); this takes 4 dispatches per device call —
 * at most one call per level, O(log(n/exactBlock)), and fewer since a call serves several
 * levels — plus a concat and the merge.
 *
 * Shapes: q [b, h, nq, dk], k [b, h, nk, dk], v [b, h, nk, dv] → [b, h, nq, dv], nq ≤ nk, queries
 * aligned to the end of the keys.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import { deriveSeed } from '@swapformer/core';
import type { DeviceUploadCache } from '@swapformer/kernels';
import type { CausalKdeformerOptions } from './kdeformerOptions';
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

/**
 * Parts batched into device calls: largest first, a call takes parts while its padded size (each
 * part padded to the call's largest) stays within twice their own, so one call serves several
 * levels (at n = 16,384, exactBlock 1,024: the 15 parts take 2 calls) without the padding growing
 * like the number of parts.
 */
export function batchParts(parts: readonly SplitPart[]): SplitPart[][] {
  const bySize = [...parts].sort((x, y) => y.qTo - y.qFrom - (x.qTo - x.qFrom) || y.mid - y.lo - (x.mid - x.lo));
  const batches: SplitPart[][] = [];
  let rows = 0;
  let keys = 0;
  for (const part of bySize) {
    const batch = batches[batches.length - 1];
    const [nq, nk] = [part.qTo - part.qFrom, part.mid - part.lo];
    if (batch) {
      const [maxQ, maxK] = [batch[0].qTo - batch[0].qFrom, batch.reduce((most, other) => Math.max(most, other.mid - other.lo), nk)];
      if ((batch.length + 1) * maxQ <= 2 * (rows + nq) && (batch.length + 1) * maxK <= 2 * (keys + nk)) {
        batch.push(part);
        rows += nq;
        keys += nk;
        continue;
      }
    }
    batches.push([part]);
    rows = nq;
    keys = nk;
  }
  return batches;
}

const maxQueries = (batch: readonly SplitPart[]) => batch.reduce((most, part) => Math.max(most, part.qTo - part.qFrom), 0);
const maxKeys = (batch: readonly SplitPart[]) => batch.reduce((most, part) => Math.max(most, part.mid - part.lo), 0);

/**
 * Per query: its leaf's first key, then per level (deepest first) its row among the batched
 * parts' outputs or −1 — what causalLeavesAndMerge reads.
 */
function mergeTable(plan: CausalSplitPlan, batches: readonly SplitPart[][], nk: number, nq: number): Float32Array {
  const offset = nk - nq;
  const width = 1 + plan.depth;
  const table = new Float32Array(nq * width).fill(-1);
  for (const leaf of plan.leaves) {
    for (let p = Math.max(leaf.lo, offset); p < leaf.hi; p++) table[(p - offset) * width] = leaf.lo;
  }
  let base = 0;
  for (const batch of batches) {
    const padded = maxQueries(batch);
    batch.forEach((part, index) => {
      const column = plan.depth - part.level;
      for (let p = part.qFrom; p < part.qTo; p++) table[(p - offset) * width + column] = base + index * padded + p - part.qFrom;
    });
    base += batch.length * padded;
  }
  return table;
}

/**
 * Causal KDEformer on the device (webgpu): same output as `causalKdeformerAttention` on the host
 * for the same seeds, up to float32 rounding.
 *
 * @example const out = deviceCausalKdeformerAttention(q, k, v, { blockSize: 32, samples: 64, projections: 7, seed: 0, exactBlock: 1024 });
 */
export function deviceCausalKdeformerAttention(q: Tensor4D, k: Tensor4D, v: Tensor4D, options: CausalKdeformerOptions, uploads?: DeviceUploadCache): Tensor4D {
  const [b, h, nq, dk] = q.shape;
  const [, , nk, dv] = v.shape;
  const s = b * h;
  const offset = nk - nq;
  const scale = options.scale ?? 1 / Math.sqrt(dk);
  const plan = planCausalSplit(nk, nq, options.exactBlock);
  const batches = batchParts(plan.parts);
  const table = mergeTable(plan, batches, nk, nq);
  return tf.tidy(() => {
    const outputs = batches.map((batch) => {
      const count = batch.length;
      const padded = maxQueries(batch);
      // Slice (bi, hi, part) is head hi·count + part of the call; each part keeps the recursion's
      // seeds and reads its rows in place (no gather); outputs are padded to the largest part.
      const sources = (bi: number, hv: number) => {
        const part = batch[hv % count];
        const slice = bi * h + Math.floor(hv / count);
        const derive = (seed: number) => deriveSeed(seed, 'causal-block', part.lo, part.mid);
        return {
          seed: derive(options.seed),
          sampleSeed: derive(options.sampleSeed ?? options.seed),
          bi,
          hi: Math.floor(hv / count),
          keyRow: slice * nk + part.lo,
          queryRow: slice * nq + part.qFrom - offset,
          keys: part.mid - part.lo,
          queries: part.qTo - part.qFrom,
        };
      };
      const view = { b, h: h * count, nq: padded, nk: maxKeys(batch), dk, dv };
      const out = deviceKdeformerSlices(q, k, v, view, { ...options, scale }, 'bucket', true, sources, uploads);
      return tf.reshape(out, [s, count * padded, dv + 1]);
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
