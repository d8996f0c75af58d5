/**
 * Sliding-window + linear attention in one normalisation (the hybrid of LoLCATs: Zhang et al.,
 * "LoLCATs: On Low-Rank Linearizing of Large Language Models", 2024, arXiv:2410.10254).
 *
 * Query at key position t weighs key j by the exact softmax kernel exp(s·q·k) inside the window
 * (causal: t − w < j ≤ t; non-causal: |t − j| < w) and by the feature map φ(q)·φ(k) outside it;
 * numerator and denominator sum both parts, so nothing is renormalised twice. The two parts live on
 * different scales, so the map reports for each query a log factor ℓ that puts φ(q)·φ(k) on exp's
 * scale (FAVOR+: the stabiliser shifts it subtracted; learned map: LoLCATs' window factor).
 *
 * Queries are taken B ≥ w at a time (`windowBlock`: w on CPU backends, max(w, chunkSize) on
 * GPUs). Keys are split into blocks of B as well; each key block's features are folded into running sums (prefix, and for the
 * non-causal form a suffix) with a running maximum, as in causalScan.ts. A query block meets the
 * key blocks that hold its window (the band: 2 blocks causal, 3 non-causal, when queries and keys
 * align) with the exact kernel, the band blocks that also hold older keys (causal: only the
 * previous one) with the features, and the sums of the blocks outside: time
 * O(n·B·(d + e + F) + n·F·(d + e)), memory O(B² + n·F) per slice — never `[n, n]`. Everything is
 * tfjs ops (blocks cut with `split`, whose gradient every backend has), so gradients flow.
 *
 * This is not scanCausal: its prefix state must lag the query block by the band, and the
 * non-causal form needs a suffix too; the running-maximum fold is the same (addPrefixSums).
 *
 * Shape legend: bh batch·heads, n tokens, d head dim, e = dv + 1, F features, B block, L band keys.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import { isGpuBackend } from '@swapformer/kernels';
import { addPrefixSums, emptyPrefixSums, type PrefixSums } from './causalScan';
import { appendOnes, normalizeRows } from './performer';

/** Below any real logit: window entries outside the band mask. */
const OUTSIDE_LOGIT = -1e30;

/** Features of one key block, relative to their own stabiliser. */
export interface KeyBlockFeatures {
  /** `[bh, F, c]`; hidden (padded) keys are 0. */
  readonly phiKT: Tensor;
  /** `[bh, 1, 1]`: raw features = exp(shift) · phiKT. */
  readonly shift: Tensor;
}

/** Features of one query block. */
export interface QueryBlockFeatures {
  /** `[bh, c, F]`. */
  readonly phiQ: Tensor;
  /** `[bh, c, 1]` or `[bh, 1, 1]`: exp(logScale + key shift) · phiQ·phiKT is on exp(s·q·k)'s scale. */
  readonly logScale: Tensor;
}

/** A linear-attention feature map as the hybrid needs it. */
export interface WindowFeatureMap {
  readonly features: number;
  /** Keys `[bh, c, d]`, keep `[bh, 1, c]` (1 keep, 0 padded) or undefined. */
  keyBlock(keys: Tensor3D, keep: Tensor | undefined): KeyBlockFeatures;
  queryBlock(queries: Tensor3D): QueryBlockFeatures;
  /**
   * True when logScale is relative to each query's window maximum (LoLCATs' learned map: the two
   * parts are weighed by a factor, not by a common scale); false when it is absolute (FAVOR+).
   */
  readonly relativeToWindow: boolean;
}

/** Inputs of the hybrid, batched over slices. Queries are aligned to the end of the keys. */
export interface WindowInputs {
  /** `[bh, nq, d]`. */
  readonly queries: Tensor3D;
  /** `[bh, nk, d]`. */
  readonly keys: Tensor3D;
  /** Values with a ones column, `[bh, nk, e]`. */
  readonly values: Tensor3D;
  /** `[bh, 1, nk]` 1 keep / 0 hide, or undefined. */
  readonly keep?: Tensor;
}

export interface WindowOptions {
  /** w ≥ 1. */
  readonly window: number;
  /** B ≥ w: queries and keys per block. */
  readonly block: number;
  readonly causal: boolean;
  /** Logit scale s. */
  readonly scale: number;
}

/** Sum of the key blocks' sums over `[from, to)`, folded with a running maximum. */
function foldBlocks(start: PrefixSums, blocks: readonly PrefixSums[], from: number, to: number, step: 1 | -1): PrefixSums[] {
  // states[i] = start ⊕ blocks in the direction of travel before index i (exclusive scan)
  const states: PrefixSums[] = [start];
  for (let i = from; i !== to; i += step) states.push(addPrefixSums(states[states.length - 1], blocks[i]));
  return states;
}

/** `[c, L]` float masks of the window and linear parts, from key-position differences t − j. */
function bandMasks(c: number, t0: number, l: number, j0: number, o: WindowOptions): { exact: Tensor; linear: Tensor } {
  const diff = tf.sub(tf.reshape(tf.range(t0, t0 + c, 1, 'int32'), [c, 1]), tf.reshape(tf.range(j0, j0 + l, 1, 'int32'), [1, l])); // [c, L]
  if (o.causal) {
    const exact = tf.logicalAnd(tf.greaterEqual(diff, 0), tf.less(diff, o.window));
    return { exact: tf.cast(exact, 'float32'), linear: tf.cast(tf.greaterEqual(diff, o.window), 'float32') };
  }
  const far = tf.greaterEqual(tf.abs(diff), o.window);
  return { exact: tf.cast(tf.logicalNot(far), 'float32'), linear: tf.cast(far, 'float32') };
}

/**
 * Numerators|denominators `[bh, nq, e]` of the hybrid; `prefix` holds keys that came before
 * `inputs.keys` (decoding; they are all older than the window). Normalise with `normalizeRows`.
 *
 * @example const numDen = windowedNumDen({ queries, keys, values }, favorWindowMap(proj, projAug, 1e-4), { window: 64, block: 128, causal: true, scale: 0.125 });
 */
export function windowedNumDen(inputs: WindowInputs, map: WindowFeatureMap, o: WindowOptions, prefix?: PrefixSums): Tensor {
  return tf.tidy(() => {
    const [bh, nq] = inputs.queries.shape;
    const nk = inputs.keys.shape[1];
    const e = inputs.values.shape[2];
    const offset = nk - nq;
    const B = o.block;
    const keySizes = blockSizes(nk, B);
    const keyBlocks = splitBlocks(inputs.keys, keySizes, 1);
    const valueBlocks = splitBlocks(inputs.values, keySizes, 1);
    const keepBlocks = inputs.keep ? splitBlocks(inputs.keep, keySizes, 2) : null;
    const features: KeyBlockFeatures[] = [];
    const blockSums: PrefixSums[] = [];
    keySizes.forEach((_, i) => {
      const [phiKT, shift, sums] = tf.tidy(() => {
        const f = map.keyBlock(keyBlocks[i] as Tensor3D, keepBlocks?.[i]);
        return [f.phiKT, f.shift, tf.matMul(f.phiKT, valueBlocks[i])];
      });
      features.push({ phiKT, shift });
      blockSums.push({ sums, shift });
    });
    const empty = emptyPrefixSums(bh, map.features, e);
    const nBlocks = keySizes.length;
    const prefixes = foldBlocks(prefix ?? empty, blockSums, 0, nBlocks, 1); // prefixes[k]: keys before block k
    const suffixes = o.causal ? null : foldBlocks(empty, blockSums, nBlocks - 1, -1, -1).reverse(); // suffixes[k]: keys of blocks k… on

    const blind = o.causal ? Math.min(nq, Math.max(0, -offset)) : 0; // queries before the first key see nothing
    const querySizes = [...(blind > 0 ? [blind] : []), ...blockSizes(nq - blind, B)];
    const queryBlocks = splitBlocks(inputs.queries, querySizes, 1);
    const outputs: Tensor[] = [];
    let q0 = 0;
    querySizes.forEach((c, i) => {
      const t0 = q0 + offset;
      q0 += c;
      if (i === 0 && blind > 0) return outputs.push(tf.zeros([bh, blind, e]));
      const lo = Math.max(0, Math.min(nBlocks - 1, Math.floor(Math.max(0, t0 - o.window + 1) / B)));
      const hi = Math.min(nBlocks - 1, Math.floor(Math.max(0, o.causal ? t0 + c - 1 : t0 + c + o.window - 2) / B));
      const band: BandBlock[] = [];
      for (let k = lo; k <= hi; k++) band.push({ j0: k * B, keys: keyBlocks[k] as Tensor3D, values: valueBlocks[k] as Tensor3D, keep: keepBlocks?.[k], features: features[k] });
      const outside = suffixes ? addPrefixSums(prefixes[lo], suffixes[hi + 1]) : prefixes[lo];
      outputs.push(tf.tidy(() => queryBlockNumDen(map, o, { queries: queryBlocks[i] as Tensor3D, t0, band, outside })));
    });
    return outputs.length === 1 ? outputs[0] : tf.concat(outputs, 1);
  });
}

/** Sizes of consecutive blocks of `size` covering n (none for n = 0). */
function blockSizes(n: number, size: number): number[] {
  return Array.from({ length: Math.ceil(n / size) }, (_, i) => Math.min(size, n - i * size));
}

/**
 * `x` cut into blocks along `axis` with one `split` (differentiable on every backend, unlike
 * gather's gradient on wasm); a single block is `x` itself (tfjs's split gradient fails on one output).
 */
function splitBlocks(x: Tensor, sizes: number[], axis: number): Tensor[] {
  return sizes.length === 1 ? [x] : tf.split(x, sizes, axis);
}

/** One key block of a query block's band. */
interface BandBlock {
  /** Key position of its first key. */
  readonly j0: number;
  readonly keys: Tensor3D;
  readonly values: Tensor3D;
  readonly keep?: Tensor;
  readonly features: KeyBlockFeatures;
}

/** One query block, its band (the key blocks holding its window) and the sums of the keys outside. */
interface QueryBlock {
  readonly queries: Tensor3D;
  /** Key position of the first query. */
  readonly t0: number;
  readonly band: readonly BandBlock[];
  readonly outside: PrefixSums;
}

/** `tf.concat` that passes a single tensor through. */
function joined(parts: Tensor[], axis: number): Tensor {
  return parts.length === 1 ? parts[0] : tf.concat(parts, axis);
}

/** One query block: exact kernel on the window, features on the rest of the band and the outside sums. */
function queryBlockNumDen(map: WindowFeatureMap, o: WindowOptions, qb: QueryBlock): Tensor {
  const c = qb.queries.shape[1];
  const { t0, band } = qb;
  const keys = joined(
    band.map((b) => b.keys),
    1,
  ) as Tensor3D;
  const values = joined(
    band.map((b) => b.values),
    1,
  ) as Tensor3D; // [bh, L, e]
  const e = values.shape[2];
  const masks = bandMasks(c, t0, keys.shape[1], band[0].j0, o);
  const keep = band[0].keep
    ? joined(
        band.map((b) => b.keep!),
        2,
      )
    : null; // [bh, 1, L]
  const exactMask = keep ? tf.mul(masks.exact, keep) : masks.exact; // [bh|1, c, L]

  // Window: exact kernel, stabilised by each query's window maximum.
  const logits = tf.mul(tf.matMul(qb.queries, keys, false, true), o.scale); // [bh, c, L]
  // Outside entries sink to ~OUTSIDE_LOGIT by a broadcast add (`where` would tile the mask per slice).
  const masked = tf.add(logits, tf.mul(tf.sub(1, exactMask), OUTSIDE_LOGIT));
  const windowMax = tf.max(masked, 2, true); // [bh, c, 1]
  const exact = tf.matMul(tf.mul(tf.exp(tf.sub(masked, windowMax)), exactMask), values); // [bh, c, e]

  // Rest: the band blocks that hold keys beyond some query's window (with B ≥ w only the previous
  // block, causal), their features rescaled to one shift, and the sums of the keys outside.
  const last = t0 + c - 1;
  const partly = band.filter((b) => last - b.j0 >= o.window || (!o.causal && b.j0 + b.keys.shape[1] - 1 - t0 >= o.window));
  const shift = partly.reduce((acc, b) => tf.maximum(acc, b.features.shift), qb.outside.shift); // [bh, 1, 1]
  const { phiQ, logScale } = map.queryBlock(qb.queries);
  const outsideSums = tf.mul(qb.outside.sums, tf.exp(tf.sub(qb.outside.shift, shift)));
  let linear = tf.matMul(phiQ, outsideSums); // [bh, c, e]
  if (partly.length > 0) {
    const phiKT = joined(
      partly.map((b) => tf.mul(b.features.phiKT, tf.exp(tf.sub(b.features.shift, shift)))),
      2,
    ); // [bh, F, L']
    const linearMask = joined(
      partly.map((b) => bandMasks(c, t0, b.keys.shape[1], b.j0, o).linear),
      1,
    ); // [c, L']
    const local = tf.mul(tf.matMul(phiQ, phiKT), linearMask); // [bh, c, L']
    linear = tf.add(
      linear,
      tf.matMul(
        local,
        joined(
          partly.map((b) => b.values),
          1,
        ),
      ),
    );
  }

  // One normalisation: both parts on exp(s·q·k)'s scale, divided by a common stabiliser.
  const linearDen = tf.maximum(tf.split(linear, [e - 1, 1], 2)[1], 1e-30); // [bh, c, 1]
  const linearLog = tf.add(tf.add(logScale, shift), map.relativeToWindow ? windowMax : 0); // [bh, c, 1]
  const common = tf.maximum(windowMax, tf.add(linearLog, tf.log(linearDen)));
  return tf.add(tf.mul(exact, tf.exp(tf.sub(windowMax, common))), tf.mul(linear, tf.exp(tf.sub(linearLog, common))));
}

/** The hybrid on `[b, h, n, d]` tensors. */
export interface WindowAttentionOptions {
  readonly window: number;
  readonly chunkSize: number;
  readonly causal?: boolean;
  readonly scale?: number;
  /** `[b, nk]`, 1 keep / 0 hide. */
  readonly mask?: Tensor;
}

/**
 * Block size of the hybrid, at least the window (a causal band then spans two blocks). On wasm and
 * cpu, where FLOPs dominate, the window itself (a band costs 2w keys per query), but at least
 * min(chunkSize, 32) so that tiny windows do not turn into thousands of small products; on GPU
 * backends, where every dispatch has a fixed host cost, max(w, chunkSize): fewer, larger blocks.
 *
 * @example windowBlock(64, 128, 'wasm'); // 64 (128 on webgpu)
 */
export function windowBlock(window: number, chunkSize: number, backend: string = tf.getBackend()): number {
  return Math.max(1, window, isGpuBackend(backend) ? chunkSize : Math.min(chunkSize, 32));
}

/**
 * Sliding-window + linear attention on `[b, h, n, d]` inputs; `makeMap(scale)` builds the feature
 * map inside the call's tidy.
 *
 * @example const out = windowedAttention(q, k, v, (s) => favorWindowMap(omega, s, 1e-4), { window: 64, chunkSize: 128, causal: true });
 */
export function windowedAttention(q: Tensor4D, k: Tensor4D, v: Tensor4D, makeMap: (scale: number) => WindowFeatureMap, options: WindowAttentionOptions): Tensor4D {
  return tf.tidy(() => {
    const [b, h, nq, d] = q.shape;
    const nk = k.shape[2];
    const dv = v.shape[3];
    const scale = options.scale ?? 1 / Math.sqrt(d);
    const keep = options.mask ? tf.reshape(tf.tile(tf.reshape(tf.cast(options.mask, 'float32'), [b, 1, 1, nk]), [1, h, 1, 1]), [b * h, 1, nk]) : undefined;
    const inputs: WindowInputs = {
      queries: tf.reshape(q, [b * h, nq, d]),
      keys: tf.reshape(k, [b * h, nk, d]),
      values: tf.reshape(appendOnes(v), [b * h, nk, dv + 1]),
      keep,
    };
    const numDen = windowedNumDen(inputs, makeMap(scale), { window: options.window, block: windowBlock(options.window, options.chunkSize), causal: options.causal ?? false, scale });
    return normalizeRows(tf.reshape(numDen, [b, h, nq, dv + 1]) as Tensor4D);
  });
}
