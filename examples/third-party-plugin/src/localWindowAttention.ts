/**
 * Local-window (sliding-window) attention: query i attends only to the keys within `window`
 * positions of it — Longformer's local attention (Beltagy, Peters & Cohan 2020,
 * https://arxiv.org/abs/2004.05150) and the local heads of the Sparse Transformer (Child et al.
 * 2019, https://arxiv.org/abs/1904.10509), without their global or strided tokens.
 *
 * Queries are aligned to the end of the keys (the core's convention): query i sits at key
 * position p = i + (nk − nq) and sees keys j with p − window ≤ j ≤ p + window, or
 * p − window ≤ j ≤ p when causal. Query rows are processed in blocks; each block multiplies only
 * against the keys some row of it can see, so the cost is O(b·h·nq·(queryBlock + 2·window)·d)
 * instead of O(b·h·nq·nk·d), and nothing of size [nq, nk] is ever built.
 *
 * Shape legend: b batch, h heads, nq queries, nk keys, dk query/key head dim, dv value head dim,
 * r rows of a query block, c key columns a block can see.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import { SwapformerError } from '@swapformer/core';

/** Logit of a hidden key: exp underflows to 0 in float32, yet stays finite so a fully hidden row gives no NaN. */
const MASKED_LOGIT = -1e9;

export interface LocalWindowAttentionOptions {
  /** Keys visible on each side of a query (only the past side when causal). */
  readonly window: number;
  /** Query rows per block (a speed/memory knob; the output does not depend on it). */
  readonly queryBlock: number;
  /** Logit scale, default 1/sqrt(dk). */
  readonly scale?: number;
  readonly causal?: boolean;
  /** Key-padding mask [b, nk]: 1 keeps a key, 0 hides it; any other value is refused. */
  readonly mask?: Tensor2D;
}

/** The key columns [lo, hi] some row of a block can see, or null if none. */
interface BlockSpan {
  readonly q0: number;
  readonly rows: number;
  readonly lo: number;
  readonly cols: number;
}

function blockSpans(nq: number, nk: number, block: number, window: number, causal: boolean): Array<BlockSpan | null> {
  const offset = nk - nq;
  const right = causal ? 0 : window;
  const spans: Array<BlockSpan | null> = [];
  for (let q0 = 0; q0 < nq; q0 += block) {
    const rows = Math.min(block, nq - q0);
    const lo = Math.max(0, q0 + offset - window);
    const hi = Math.min(nk - 1, q0 + rows - 1 + offset + right);
    spans.push(hi < lo ? null : { q0, rows, lo, cols: hi - lo + 1 });
  }
  return spans;
}

/**
 * Additive bias [r, c] for one block (0 visible, MASKED_LOGIT hidden: band, causal side and
 * padding together) and a [r, 1] 0/1 column that zeroes rows with no visible key — the same
 * convention as exact attention, instead of averaging hidden values.
 */
function blockBias(span: BlockSpan, nq: number, nk: number, window: number, causal: boolean, keep: ArrayLike<number> | null): { bias: Tensor2D; rowVisible: Tensor2D | null } {
  const offset = nk - nq;
  const right = causal ? 0 : window;
  const data = new Float32Array(span.rows * span.cols);
  const visibleRows = new Float32Array(span.rows);
  let hiddenRows = 0;
  for (let r = 0; r < span.rows; r++) {
    const p = span.q0 + r + offset;
    for (let c = 0; c < span.cols; c++) {
      const j = span.lo + c;
      const visible = j >= p - window && j <= p + right && (keep === null || keep[j] !== 0);
      if (visible) visibleRows[r] = 1;
      else data[r * span.cols + c] = MASKED_LOGIT;
    }
    if (visibleRows[r] === 0) hiddenRows++;
  }
  return {
    bias: tf.tensor2d(data, [span.rows, span.cols]),
    rowVisible: hiddenRows === 0 ? null : tf.tensor2d(visibleRows, [span.rows, 1]),
  };
}

/**
 * q [b, h, nq, dk], k [b, h, nk, dk], v [b, h, nk, dv] → [b, h, nq, dv]. Equals exact softmax
 * attention when `window >= max(nq, nk)`.
 *
 * @example const out = localWindowAttention(q, k, v, { window: 32, queryBlock: 64, causal: true });
 */
export function localWindowAttention(q: Tensor4D, k: Tensor4D, v: Tensor4D, options: LocalWindowAttentionOptions): Tensor4D {
  const [b, h, nq, dk] = q.shape;
  const nk = k.shape[2];
  const dv = v.shape[3];
  const causal = options.causal ?? false;
  const window = options.window;
  const block = Math.max(1, Math.min(options.queryBlock, nq));
  const scale = options.scale ?? 1 / Math.sqrt(dk);
  const keepAll = options.mask ? options.mask.dataSync() : null; // [b·nk], read once
  const bad = keepAll === null ? -1 : keepAll.findIndex((x) => x !== 0 && x !== 1);
  if (bad >= 0) {
    throw new SwapformerError('invalid-input', `operator "local-window": the key-padding mask must hold only 0 and 1, got ${keepAll![bad]} at [${Math.floor(bad / nk)}, ${bad % nk}].`, { plugin: 'local-window' });
  }
  const spans = blockSpans(nq, nk, block, window, causal);
  return tf.tidy(() => {
    // rank-2 products per (b, h) slice: the fast path of tfjs-wasm (batched matMul is ~15× slower)
    const qs = tf.unstack(tf.reshape(tf.mul(q, scale), [b * h, nq, dk])) as Tensor2D[]; // [nq, dk] each
    const kT = tf.unstack(tf.reshape(tf.transpose(k, [0, 1, 3, 2]), [b * h, dk, nk])) as Tensor2D[]; // [dk, nk]
    const vs = tf.unstack(tf.reshape(v, [b * h, nk, dv])) as Tensor2D[]; // [nk, dv]
    const slices: Tensor2D[] = [];
    for (let bi = 0; bi < b; bi++) {
      const keep = keepAll === null ? null : keepAll.subarray(bi * nk, (bi + 1) * nk);
      // the bias of a block depends on the batch row (padding) but not on the head
      const biases = spans.map((span) => (span === null ? null : blockBias(span, nq, nk, window, causal, keep)));
      for (let hi = 0; hi < h; hi++) {
        const i = bi * h + hi;
        const rows = spans.map((span, s) => {
          if (span === null) return tf.zeros([Math.min(block, nq - s * block), dv]) as Tensor2D;
          const { bias, rowVisible } = biases[s]!;
          const logits = tf.add(tf.matMul(tf.slice(qs[i], [span.q0, 0], [span.rows, dk]), tf.slice(kT[i], [0, span.lo], [dk, span.cols])), bias); // [r, c]
          const out = tf.matMul(tf.softmax(logits), tf.slice(vs[i], [span.lo, 0], [span.cols, dv])) as Tensor2D; // [r, dv]
          return rowVisible === null ? out : (tf.mul(out, rowVisible) as Tensor2D);
        });
        slices.push(rows.length === 1 ? rows[0] : (tf.concat(rows, 0) as Tensor2D)); // [nq, dv]
      }
    }
    return tf.reshape(tf.stack(slices), [b, h, nq, dv]) as Tensor4D;
  });
}
