/**
 * Thinformer forward passes that keep every tensor on the device (the webgpu backend): the
 * coreset from thinformerWebGpu.ts, then softmax attention against it on the kernels package's
 * paths. Same math and seeds as thinformer.ts and causalThinformer.ts (see there for the why of
 * the causal split and the + ln(n_block/nOut) coreset weights); only where the data lives differs.
 *
 * Shapes: q [b, h, nq, dk], k [b, h, nk, dk], v [b, h, nk, dv] → [b, h, nq, dv].
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor, Tensor3D, Tensor4D } from '@tensorflow/tfjs-core';
import { deriveSeed } from '@swapformer/core';
import { softmaxAttention } from '@swapformer/kernels';
import type { CausalThinformerOptions } from './causalThinformer';
import { compressPlan } from './compressPlan';
import type { CoresetOptions } from './thinformerCoreset';
import { asSlices, deviceCoresets, gatherCoresetRows, type DeviceCoresets } from './thinformerWebGpu';
import type { KernelContext } from '@swapformer/core';
import { causalLeaves, checkQueriesAlignedToKeys } from './causalSplit';

/**
 * Non-causal Thinformer with the coreset built on the device.
 *
 * @example const out = deviceThinformerAttention(kernels, q, k, v, { g: 2, delta: 0.5, seed: 0 }); // on webgpu
 */
export function deviceThinformerAttention(kernels: KernelContext, q: Tensor4D, k: Tensor4D, v: Tensor4D, options: CoresetOptions): Tensor4D {
  const scale = options.scale ?? 1 / Math.sqrt(q.shape[3]);
  const [b, h, nk, dk] = k.shape;
  const dv = v.shape[3];
  if (compressPlan(nk, options.g, options.delta).nOut === nk) return softmaxAttention(kernels, q, k, v, { scale });
  return tf.tidy(() => {
    const ks = asSlices(k);
    const vs = asSlices(v);
    const coresets = deviceCoresets(ks, vs, { lo: 0, length: nk, count: 1, step: 0 }, { ...options, scale }, () => options.seed);
    const { nOut } = coresets.plan;
    const keys = tf.reshape(gatherCoresetRows(ks, coresets), [b, h, nOut, dk]) as Tensor4D;
    const values = tf.reshape(gatherCoresetRows(vs, coresets), [b, h, nOut, dv]) as Tensor4D;
    return softmaxAttention(kernels, q, keys, values, { scale });
  });
}

/** A coreset standing for keys [lo, hi): positions [s, size] on the device, and each point's log-weight. */
interface WeightedCoreset {
  readonly coresets: DeviceCoresets;
  readonly logWeight: number;
}

/** x [s, n, d] rows [from, to) → [s, to − from, d]. */
function rowRange(x: Tensor3D, from: number, to: number): Tensor3D {
  return tf.slice(x, [0, from, 0], [-1, to - from, -1]);
}

/** Appends a constant column to x [s, n, d]. */
function withColumn(x: Tensor3D, value: number): Tensor3D {
  const [s, n] = x.shape;
  return tf.concat([x, tf.fill([s, n, 1], value)], 2) as Tensor3D;
}

/**
 * Causal Thinformer with every coreset built on the device (exact when nk ≤ exactBlock).
 *
 * @example const out = deviceCausalThinformerAttention(kernels, q, k, v, { g: 2, delta: 0.5, seed: 0, exactBlock: 1024 });
 */
export function deviceCausalThinformerAttention(kernels: KernelContext, q: Tensor4D, k: Tensor4D, v: Tensor4D, options: CausalThinformerOptions): Tensor4D {
  const [b, h, nq, dk] = q.shape;
  const nk = k.shape[2];
  const scale = options.scale ?? 1 / Math.sqrt(dk);
  checkQueriesAlignedToKeys(nq, nk);
  if (nk <= options.exactBlock) return softmaxAttention(kernels, q, k, v, { scale, causal: true });
  const offset = nk - nq;
  return tf.tidy(() => {
    const [qs, ks, vs] = [asSlices(q), asSlices(k), asSlices(v)];
    const coreset = (lo: number, hi: number): WeightedCoreset => {
      const coresets = deviceCoresets(ks, vs, { lo, length: hi - lo, count: 1, step: 0 }, { ...options, scale }, () => deriveSeed(options.seed, 'causal-block', lo, hi));
      return { coresets, logWeight: Math.log((hi - lo) / coresets.plan.nOut) };
    };
    const outputs = causalLeaves(0, nk, offset, options.exactBlock, coreset).map((leaf) => {
      const qFrom = Math.max(leaf.lo, offset) - offset;
      const queries = rowRange(qs, qFrom, leaf.hi - offset);
      const ownKeys = rowRange(ks, leaf.lo, leaf.hi);
      const ownValues = rowRange(vs, leaf.lo, leaf.hi);
      const rows = queries.shape[1];
      const as4d = (x: Tensor, n: number) => tf.reshape(x, [b, h, n, x.shape[2]!]) as Tensor4D;
      if (leaf.context.length === 0) return softmaxAttention(kernels, as4d(queries, rows), as4d(ownKeys, ownKeys.shape[1]), as4d(ownValues, ownValues.shape[1]), { scale, causal: true });
      // s·⟨[q, 1], [k, w/s]⟩ = s·⟨q, k⟩ + w: each coreset's log-weight rides on one extra coordinate
      const keys = tf.concat([...leaf.context.map((c) => gatherCoresetRows(ks, c.coresets, c.logWeight / scale)), withColumn(ownKeys, 0)], 1) as Tensor3D;
      const values = tf.concat([...leaf.context.map((c) => gatherCoresetRows(vs, c.coresets)), ownValues], 1) as Tensor3D;
      // causal offset m − rows makes every coreset row visible and the leaf's own keys causal
      return softmaxAttention(kernels, as4d(withColumn(queries, 1), rows), as4d(keys, keys.shape[1]), as4d(values, values.shape[1]), { scale, causal: true });
    });
    return (outputs.length === 1 ? outputs[0] : tf.concat(outputs, 2)) as Tensor4D;
  });
}
