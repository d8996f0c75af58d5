/**
 * A local window for LevAttention (our extension, issue #21; the sliding-window + global-key
 * pattern of Longformer and BigBird). Each query attends with one softmax to the union of the
 * keys the leverage rule keeps and the keys of its window: causal t − w < j ≤ t, otherwise
 * |t − j| < w, with t = i + nk − nq the query's key position. A key in both sets counts once.
 *
 * Why: a character model needs the previous few characters most, and a top-32 of leverage
 * scores almost never contains them (the causal GPT falls to bigram level without them).
 *
 * Cost: queries run in chunks of c ≈ w rows, each against its slice's u kept keys and the band
 * of keys its rows can see (c + w − 1 causal, c + 2w − 2 otherwise), so O(nq·(u + w)·(dk + dv))
 * per slice and never an `[nq, nk]` product (unless the kept set or the window is all the keys).
 * Every step is a tfjs op on tensors: it runs on the host and on webgpu without host reads, and
 * gradients reach q, and k and v through the caller's gathered kept rows and the band slices.
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
/** Fewer rows per chunk would multiply the op count for small windows without saving work. */
const MIN_CHUNK_ROWS = 32;
/** Logit entries of one chunk, all slices together (64 MiB of float32). */
const CHUNK_ENTRIES = 1 << 24;

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

/** `[rows, 1]`-broadcastable 1/0 of "key position j is in the window of query position t". */
function inWindow(t: Tensor, j: Tensor, options: LocalWindowOptions): Tensor {
  const w = options.window;
  const after = tf.greater(j, tf.sub(t, w)); // j > t − w
  const before = options.causal ? tf.lessEqual(j, t) : tf.less(j, tf.add(t, w));
  return tf.cast(tf.logicalAnd(after, before), 'float32');
}

/**
 * Softmax of every query over its kept keys ∪ its window, once each: q `[S, nq, dk]` (already
 * scaled), k `[S, nk, dk]`, v `[S, nk, dv]`, visible `[S, nk]` 1/0 or null → `[S, nq, dv]`. A query
 * that sees no key at all outputs zeros, like exact attention under a padding mask.
 *
 * @example const out = windowedUnionAttention(q, k, v, kept, null, { window: 32, causal: true });
 */
export function windowedUnionAttention(q: Tensor3D, k: Tensor3D, v: Tensor3D, kept: KeptKeys, visible: Tensor2D | null, options: LocalWindowOptions): Tensor3D {
  const [slices, nq, dk] = q.shape;
  const nk = k.shape[1];
  const dv = v.shape[2];
  const w = options.window;
  const u = kept.keys.shape[1];
  const reach = options.causal ? 0 : w - 1; // band keys after the chunk's last query
  const bandFor = (rows: number) => Math.min(nk, rows + w - 1 + reach);
  let rowsPerChunk = Math.min(nq, Math.max(w, MIN_CHUNK_ROWS));
  while (rowsPerChunk > 1 && slices * rowsPerChunk * (u + bandFor(rowsPerChunk)) > CHUNK_ENTRIES) rowsPerChunk = Math.ceil(rowsPerChunk / 2);
  const offset = nk - nq;
  return tf.tidy(() => {
    const position = tf.reshape(kept.position, [slices, 1, u]);
    const enter = tf.reshape(kept.enter, [slices, 1, u]);
    const leave = tf.reshape(kept.leave, [slices, 1, u]);
    const chunks: Tensor[] = [];
    for (let i0 = 0; i0 < nq; i0 += rowsPerChunk) {
      const rows = Math.min(rowsPerChunk, nq - i0);
      const t0 = i0 + offset;
      const t = tf.reshape(tf.range(t0, t0 + rows, 1, 'float32'), [1, rows, 1]);
      // Kept slots active at t, minus those the window already covers (no key twice).
      const keptActive = tf.mul(
        tf.cast(tf.logicalAnd(tf.lessEqual(enter, t), tf.less(t, leave)), 'float32'),
        tf.sub(1, inWindow(t, position, options)),
      ); // [S, rows, u]
      const lo = Math.max(0, t0 - w + 1);
      const hi = Math.min(nk, t0 + rows + reach);
      const parts = { keys: [kept.keys] as Tensor[], values: [kept.values] as Tensor[], active: [keptActive] as Tensor[] };
      if (hi > lo) {
        const band = hi - lo;
        let bandActive = tf.tile(inWindow(t, tf.reshape(tf.range(lo, hi, 1, 'float32'), [1, 1, band]), options), [slices, 1, 1]); // [S, rows, bw]
        if (visible) bandActive = tf.mul(bandActive, tf.reshape(tf.slice(visible, [0, lo], [slices, band]), [slices, 1, band]));
        parts.keys.push(tf.slice(k, [0, lo, 0], [slices, band, dk]));
        parts.values.push(tf.slice(v, [0, lo, 0], [slices, band, dv]));
        parts.active.push(bandActive);
      }
      const active = parts.active.length === 1 ? parts.active[0] : tf.concat(parts.active, 2); // [S, rows, u + bw]
      const keys = parts.keys.length === 1 ? parts.keys[0] : tf.concat(parts.keys, 1);
      const values = parts.values.length === 1 ? parts.values[0] : tf.concat(parts.values, 1);
      const logits = tf.add(tf.matMul(tf.slice(q, [0, i0, 0], [slices, rows, dk]), keys, false, true), tf.mul(tf.sub(1, active), MASKED_LOGIT));
      chunks.push(tf.mul(tf.matMul(tf.softmax(logits), values), tf.max(active, 2, true)));
    }
    return (chunks.length === 1 ? chunks[0] : tf.concat(chunks, 1)) as Tensor3D;
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
