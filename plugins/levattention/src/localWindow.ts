/**
 * A local window for LevAttention (our extension, issue #21; the sliding-window + global-key
 * pattern of Longformer and BigBird). Each query attends with one softmax to the union of the
 * keys the leverage rule keeps and the keys of its window: causal t − w < j ≤ t, otherwise
 * |t − j| < w, with t = i + nk − nq the query's key position. A key in both sets counts once.
 *
 * Why: a character model needs the previous few characters most, and a top-32 of leverage
 * scores almost never contains them (the causal GPT falls to bigram level without them).
 *
 * Cost: queries run in chunks of c = max(w, 16) rows, each against its slice's u kept keys and
 * the two (causal) or three key blocks of c around it, so O(nq·(u + 3c)·(dk + dv)) per slice and
 * never an `[nq, nk]` product (unless the kept set or the window is all the keys). The chunks are
 * one batch axis, so a call is a fixed ~40 tfjs ops whatever n, and the masks are arithmetic on
 * positions (clipByValue of differences; broadcast comparisons are slow on tfjs-wasm). Every step
 * is a tfjs op: it runs on the host and on webgpu without host reads, and gradients reach q, and
 * k and v through the caller's gathered kept rows and the key blocks.
 *
 * Shape legend: S slices (b·h), nq queries, nk keys, u kept-key slots per slice, c chunk rows,
 * bw band keys of a chunk.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import { SwapformerError } from '@swapformer/core';
import { gatherRows, MASKED_LOGIT } from '@swapformer/kernels';

/** A key position beyond any sequence: a slot kept for every query has enter −ALWAYS, leave ALWAYS (exact in float32). */
export const ALWAYS = 2 ** 30;
/** Smaller chunks would only shrink the batched products' inner sizes further (the op count is fixed). */
const MIN_CHUNK_ROWS = 16;
/**
 * Logit entries of one slice group (16 MiB of float32); larger calls run in groups of slices. A
 * handful of tensors this size live at once: at 2^26 a ViT eval batch of 500 images aborted tfjs-wasm.
 */
const CHUNK_ENTRIES = 1 << 22;

/** The keys the leverage rule keeps, one row of slots per slice (unused slots: enter = leave). */
export interface KeptKeys {
  /** `[S, u, dk]` kept keys, gathered so that gradients reach k. */
  readonly keys: Tensor3D;
  /** `[S, u, dv]` their values. */
  readonly values: Tensor3D;
  /** `[S, u]` each slot's key position j. */
  readonly position: Tensor2D;
  /** `[S, u]` the slot is kept for query positions enter ≤ t < leave. */
  readonly enter: Tensor2D;
  readonly leave: Tensor2D;
}

export interface LocalWindowOptions {
  /** w ≥ 1. */
  readonly window: number;
  readonly causal: boolean;
  /** Logit entries of one group of slices (default 2^22, 16 MiB of float32); larger calls run group by group. */
  readonly maxEntries?: number;
}

/**
 * Checks the `localWindow` of a direct call (the plugin's schema checks it for configs).
 *
 * @example localWindowOf({ localWindow: 32 }) // 32
 */
export function localWindowOf(options: { readonly localWindow?: number }): number {
  const w = options.localWindow ?? 0;
  if (!Number.isInteger(w) || w < 0) {
    throw new SwapformerError('invalid-options', `LevAttention: localWindow ${w} is not an integer ≥ 0.\nUse 0 (off, the paper's operator) or a window such as 32.`);
  }
  return w;
}

/** 1 where integer-valued x ≥ 1, 0 where x ≤ 0: comparisons as arithmetic (broadcast comparisons are slow on wasm). */
function step(x: Tensor): Tensor {
  return tf.clipByValue(x, 0, 1);
}

/** 1/0 of "a ≤ t < b" for integer-valued tensors. */
function within(t: Tensor, a: Tensor, b: Tensor): Tensor {
  return tf.mul(step(tf.add(tf.sub(t, a), 1)), step(tf.sub(b, t)));
}

/** Keys `[S, nk, d]` laid out as blocks `[S, blocks, c, d]` of positions from `first`, zero rows outside [0, nk). */
function keyBlocks(x: Tensor3D, first: number, blocks: number, c: number): Tensor4D {
  const [slices, nk, d] = x.shape;
  const lo = Math.max(0, first);
  const hi = Math.min(nk, first + blocks * c);
  const inside = hi > lo ? tf.slice(x, [0, lo, 0], [slices, hi - lo, d]) : tf.zeros([slices, 0, d]);
  const padded = tf.pad(inside, [
    [0, 0],
    [lo - first, first + blocks * c - Math.max(hi, lo)],
    [0, 0],
  ]);
  return tf.reshape(padded, [slices, blocks, c, d]) as Tensor4D;
}

/** Each chunk's band: `spread` consecutive blocks side by side, `[S, chunks, spread·c, d]`. */
function bands(blocks: Tensor4D, chunks: number, spread: number): Tensor4D {
  const [slices, , c, d] = blocks.shape;
  const parts = Array.from({ length: spread }, (_, o) => tf.slice(blocks, [0, o, 0, 0], [slices, chunks, c, d]));
  return (spread === 1 ? parts[0] : tf.concat(parts, 2)) as Tensor4D;
}

/**
 * Softmax of every query over its kept keys ∪ its window, once each: q `[S, nq, dk]` (already
 * scaled), k `[S, nk, dk]`, v `[S, nk, dv]`, visible `[S, nk]` 1/0 or null → `[S, nq, dv]`. A query
 * that sees no key at all outputs zeros, like exact attention under a padding mask.
 *
 * Queries go in chunks of c ≥ w rows, laid out as one batch axis (a fixed ~40 ops whatever n, which
 * matters on webgpu): key block m holds positions [o + (m − 1)c, o + mc), o = nk − nq, so chunk m's
 * window lies in blocks m, m + 1 (and m + 2 when non-causal), and whether band key b is in the
 * window of chunk row r depends on r and b only (t − j = c + r − b).
 *
 * @example const out = windowedUnionAttention(q, k, v, kept, null, { window: 32, causal: true });
 */
export function windowedUnionAttention(q: Tensor3D, k: Tensor3D, v: Tensor3D, kept: KeptKeys, visible: Tensor2D | null, options: LocalWindowOptions): Tensor3D {
  const [slices, nq] = q.shape;
  const nk = k.shape[1];
  const u = kept.keys.shape[1];
  // |t − j| < max(nq, nk) for every query and key, so a wider window changes nothing.
  const w = Math.min(options.window, Math.max(nq, nk));
  const c = Math.max(w, MIN_CHUNK_ROWS);
  const chunks = Math.ceil(nq / c);
  const spread = options.causal ? 2 : 3;
  const perSlice = chunks * c * (u + spread * c);
  const group = Math.max(1, Math.min(slices, Math.floor((options.maxEntries ?? CHUNK_ENTRIES) / perSlice)));
  if (group >= slices) return windowedGroup(q, k, v, kept, visible, { ...options, window: w }, c);
  return tf.tidy(() => {
    const outs: Tensor[] = [];
    for (let s0 = 0; s0 < slices; s0 += group) {
      const size = Math.min(group, slices - s0);
      const part = <T extends Tensor>(x: T) => tf.slice(x, [s0], [size]) as T;
      const keptPart = { keys: part(kept.keys), values: part(kept.values), position: part(kept.position), enter: part(kept.enter), leave: part(kept.leave) };
      outs.push(windowedGroup(part(q), part(k), part(v), keptPart, visible && part(visible), { ...options, window: w }, c));
    }
    return tf.concat(outs, 0) as Tensor3D;
  });
}

/** `windowedUnionAttention` on a group of slices whose logits fit the budget; c ≥ w rows per chunk. */
function windowedGroup(q: Tensor3D, k: Tensor3D, v: Tensor3D, kept: KeptKeys, visible: Tensor2D | null, options: LocalWindowOptions, c: number): Tensor3D {
  const [slices, nq, dk] = q.shape;
  const nk = k.shape[1];
  const dv = v.shape[2];
  const u = kept.keys.shape[1];
  const w = options.window;
  const offset = nk - nq;
  const chunks = Math.ceil(nq / c);
  const rows = chunks * c;
  const spread = options.causal ? 2 : 3;
  const back = options.causal ? 0 : w - 1; // the window is t − w < j ≤ t + back
  return tf.tidy(() => {
    // Kept slots: active on [enter, leave) minus the positions whose window holds the key,
    // t ∈ [j − back, j + w): two disjoint intervals, so no key is counted twice.
    const slot = (x: Tensor2D) => tf.reshape(x, [slices, 1, u]);
    const [position, enter, leave] = [kept.position, kept.enter, kept.leave].map(slot);
    const t = tf.reshape(tf.range(offset, offset + rows, 1, 'float32'), [1, rows, 1]);
    const keptActive = tf.add(within(t, enter, tf.minimum(leave, tf.sub(position, back))), within(t, tf.maximum(enter, tf.add(position, w)), leave)); // [S, rows, u]
    const qPadded =
      rows > nq
        ? tf.pad(q, [
            [0, 0],
            [0, rows - nq],
            [0, 0],
          ])
        : q;
    const keptLogits = tf.matMul(qPadded, kept.keys, false, true); // [S, rows, u]
    // Band: chunk m sees blocks m … m + spread − 1; row r and band key b are t − j = c + r − b apart.
    const first = offset - c;
    const blocks = chunks + spread - 1;
    const bandKeys = bands(keyBlocks(k, first, blocks, c), chunks, spread); // [S, chunks, spread·c, dk]
    const bandValues = bands(keyBlocks(v, first, blocks, c), chunks, spread);
    const seen = visible ?? tf.ones([slices, nk]);
    const bandSeen = tf.reshape(bands(keyBlocks(tf.reshape(seen, [slices, nk, 1]) as Tensor3D, first, blocks, c), chunks, spread), [slices, chunks, 1, spread * c]);
    const gap = tf.sub(tf.reshape(tf.range(c, 2 * c, 1, 'float32'), [c, 1]), tf.reshape(tf.range(0, spread * c, 1, 'float32'), [1, spread * c])); // [c, spread·c]
    const bandWindow = tf.mul(step(tf.add(gap, back + 1)), step(tf.sub(w, gap))); // −back ≤ t − j < w
    const bandActive = tf.mul(bandWindow, bandSeen); // [S, chunks, c, spread·c]
    const bandLogits = tf.matMul(tf.reshape(qPadded, [slices, chunks, c, dk]), bandKeys, false, true);
    const active = tf.concat([tf.reshape(keptActive, [slices, chunks, c, u]), bandActive], 3);
    const logits = tf.add(tf.concat([tf.reshape(keptLogits, [slices, chunks, c, u]), bandLogits], 3), tf.mul(tf.sub(1, active), MASKED_LOGIT));
    const p = tf.softmax(logits);
    const fromKept = tf.matMul(tf.reshape(tf.slice(p, [0, 0, 0, 0], [slices, chunks, c, u]), [slices, rows, u]), kept.values); // [S, rows, dv]
    const fromBand = tf.reshape(tf.matMul(tf.slice(p, [0, 0, 0, u], [slices, chunks, c, spread * c]), bandValues), [slices, rows, dv]);
    const out = tf.mul(tf.add(fromKept, fromBand), tf.reshape(tf.max(active, 3), [slices, rows, 1]));
    return (rows > nq ? tf.slice(out, [0, 0, 0], [slices, nq, dv]) : out) as Tensor3D;
  });
}

/**
 * Kept keys from host selections (one per slice): gathered rows, padded to the widest slice with
 * zero rows that are never active. A slot without an interval is kept for every query.
 *
 * @example const kept = hostKeptKeys(k, v, selections); // causalSelection results, one per (b, h)
 */
export function hostKeptKeys(k: Tensor4D, v: Tensor4D, selections: ReadonlyArray<{ readonly keys: Int32Array; readonly enter?: Int32Array; readonly leave?: Int32Array }>): KeptKeys {
  const [b, h, nk, dk] = k.shape;
  const dv = v.shape[3];
  const slices = b * h;
  const width = Math.max(1, ...selections.map((sel) => sel.keys.length));
  const index = new Int32Array(slices * width).fill(-1); // −1: gatherRows' zero row
  const position = new Float32Array(slices * width);
  const enter = new Float32Array(slices * width);
  const leave = new Float32Array(slices * width);
  selections.forEach((sel, s) => {
    sel.keys.forEach((j, c) => {
      index[s * width + c] = s * nk + j;
      position[s * width + c] = j;
      enter[s * width + c] = sel.enter ? sel.enter[c] : -ALWAYS;
      leave[s * width + c] = sel.leave ? sel.leave[c] : ALWAYS;
    });
  });
  return {
    keys: tf.reshape(gatherRows(tf.reshape(k, [slices * nk, dk]), index), [slices, width, dk]) as Tensor3D,
    values: tf.reshape(gatherRows(tf.reshape(v, [slices * nk, dv]), index), [slices, width, dv]) as Tensor3D,
    position: tf.tensor2d(position, [slices, width]),
    enter: tf.tensor2d(enter, [slices, width]),
    leave: tf.tensor2d(leave, [slices, width]),
  };
}

/**
 * `windowedUnionAttention` on `[b, h, n, d]` tensors: q scaled by `scale` (default 1/√dk),
 * (b, h) folded into the slice axis. Call inside tf.tidy.
 *
 * @example const out = tf.tidy(() => localWindowAttention(q, k, v, kept, null, { window: 32, causal: true }));
 */
export function localWindowAttention(q: Tensor4D, k: Tensor4D, v: Tensor4D, kept: KeptKeys, visible: Tensor2D | null, options: LocalWindowOptions & { readonly scale?: number }): Tensor4D {
  const [b, h, nq, dk] = q.shape;
  const nk = k.shape[2];
  const dv = v.shape[3];
  const slices = b * h;
  const out = windowedUnionAttention(
    tf.reshape(tf.mul(q, options.scale ?? 1 / Math.sqrt(dk)), [slices, nq, dk]) as Tensor3D,
    tf.reshape(k, [slices, nk, dk]) as Tensor3D,
    tf.reshape(v, [slices, nk, dv]) as Tensor3D,
    kept,
    visible,
    options,
  );
  return tf.reshape(out, [b, h, nq, dv]) as Tensor4D;
}
