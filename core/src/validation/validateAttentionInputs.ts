import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { SwapformerError } from '../errors/SwapformerError';
import type { AttentionContext } from '../operator/AttentionOperator';
import type { OperatorCapabilities } from '../plugin/OperatorCapabilities';

export interface ValidationTarget {
  readonly operator: string;
  readonly capabilities: OperatorCapabilities;
  readonly layerIndex?: number;
}

function where(target: ValidationTarget): string {
  return target.layerIndex === undefined ? `operator "${target.operator}"` : `operator "${target.operator}" at layer ${target.layerIndex}`;
}

function invalid(target: ValidationTarget, message: string): SwapformerError {
  return new SwapformerError('invalid-input', `${where(target)}: ${message}`, { plugin: target.operator, layer: target.layerIndex });
}

function checkTensor(target: ValidationTarget, name: string, t: Tensor): void {
  if (t.rank !== 4) throw invalid(target, `${name} must be [batch, heads, n, d] (rank 4), got shape [${t.shape.join(', ')}].`);
  if (t.dtype !== 'float32') throw invalid(target, `${name} must be float32, got ${t.dtype}.`);
  if (t.shape.some((s) => s === 0)) throw invalid(target, `${name} has an empty dimension: shape [${t.shape.join(', ')}]; sequences need at least one token.`);
}

/**
 * Checks shapes, dtypes and that the call asks only for what the operator declares
 * (causal, key-padding masks, cross-attention). Refuses instead of silently dropping a mask.
 */
export function validateAttentionInputs(target: ValidationTarget, q: Tensor, k: Tensor, v: Tensor, ctx: AttentionContext): void {
  checkTensor(target, 'q', q);
  const caps = target.capabilities;
  if (caps.projections === 'qkv') {
    checkTensor(target, 'k', k);
    checkTensor(target, 'v', v);
    const [b, h, nq, dk] = q.shape;
    const [kb, kh, nk, kd] = k.shape;
    const [vb, vh, vn] = v.shape;
    if (kb !== b || vb !== b || vh !== kh) {
      throw invalid(target, `batch and heads must agree: q [${q.shape.join(', ')}], k [${k.shape.join(', ')}], v [${v.shape.join(', ')}].`);
    }
    if (kh !== h) {
      if (!caps.groupedKeyValues) {
        throw invalid(target, `k and v have ${kh} heads and q has ${h}; the operator does not declare groupedKeyValues, so k/v must be repeated to ${h} heads before the call (models do it with repeatKeyValueHeads).`);
      }
      if (h % kh !== 0) throw invalid(target, `q has ${h} heads, not a multiple of the ${kh} key/value heads (grouped-query attention shares each k/v head among h / kvHeads query heads).`);
    }
    if (kd !== dk) throw invalid(target, `q and k head dims differ: ${dk} vs ${kd}.`);
    if (vn !== nk) throw invalid(target, `k and v must have the same number of keys: ${nk} vs ${vn}.`);
    if (nq !== nk && !caps.crossAttention) {
      throw invalid(target, `needs as many queries as keys (got nq = ${nq}, nk = ${nk}); it does not declare crossAttention.`);
    }
  }
  if (ctx.causal && caps.causal === 'none') {
    throw new SwapformerError(
      'missing-capability',
      `${where(target)}: a causal forward was requested, but the operator declares capabilities.causal = "none".\n  It would attend to future tokens. Pick an operator with causal support (see \`swapformer list\`).`,
      { plugin: target.operator, layer: target.layerIndex },
    );
  }
  if (ctx.mask !== undefined) {
    if (!caps.keyPaddingMask) {
      throw new SwapformerError(
        'missing-capability',
        `${where(target)}: a key-padding mask was passed, but the operator declares keyPaddingMask = false; refusing rather than ignoring the mask.`,
        { plugin: target.operator, layer: target.layerIndex },
      );
    }
    const [b, , , ] = q.shape;
    const nk = caps.projections === 'qkv' ? k.shape[2] : q.shape[2];
    if (ctx.mask.rank !== 2 || ctx.mask.shape[0] !== b || ctx.mask.shape[1] !== nk) {
      throw invalid(target, `mask must be [batch, nk] = [${b}, ${nk}], got [${ctx.mask.shape.join(', ')}].`);
    }
  }
  if (ctx.scale !== undefined && !(Number.isFinite(ctx.scale) && ctx.scale > 0)) {
    throw invalid(target, `scale must be a finite positive number, got ${ctx.scale}.`);
  }
}

/** Throws a `non-finite-input` error naming the tensor if it holds NaN or ±Inf. */
export function assertFinite(target: ValidationTarget, name: string, t: Tensor): void {
  const bad = tf.tidy(() => tf.logicalNot(tf.all(tf.isFinite(t))).dataSync()[0]);
  if (bad) {
    throw new SwapformerError('non-finite-input', `${where(target)}: ${name} contains NaN or Inf.`, { plugin: target.operator, layer: target.layerIndex });
  }
}

/**
 * Throws an `invalid-input` error unless every entry of a key-padding mask is 0 or 1: a NaN or
 * fractional mask would otherwise be read differently by each kernel (kept, hidden, or NaN).
 */
export function assertMaskValues(target: ValidationTarget, mask: Tensor): void {
  const bad = tf.tidy(() => tf.logicalNot(tf.all(tf.logicalOr(tf.equal(mask, 0), tf.equal(mask, 1)))).dataSync()[0]);
  if (bad) {
    throw invalid(target, 'the key-padding mask must hold only 0 and 1 (1 keeps a key, 0 hides it); it holds other values (NaN, ±Inf or fractions).');
  }
}
