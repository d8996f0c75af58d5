import * as tf from '@tensorflow/tfjs-core';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { SwapformerError } from '../errors/SwapformerError';
import type { AttentionContext, AttentionOperator } from '../operator/AttentionOperator';
import type { OperatorCapabilities } from '../plugin/OperatorCapabilities';
import { assertFinite, assertMaskValues, validateAttentionInputs } from '../validation/validateAttentionInputs';
import type { AttentionCallInfo, SwapformerHooks } from './SwapformerHooks';

/** Everything `runAttention` needs to know about the call site. */
export interface AttentionCallSite {
  readonly hooks: SwapformerHooks;
  readonly operator: AttentionOperator;
  readonly capabilities: OperatorCapabilities;
  readonly layerIndex?: number;
  readonly model?: string;
  /** Check q/k/v and the output for NaN/Inf and a mask for values other than 0/1 (one small device sync each); default true. */
  readonly checkFinite?: boolean;
}

/** Fires `error` once, then returns the error stamped with plugin and layer. */
function report(site: AttentionCallSite, error: unknown): SwapformerError {
  const stamped = SwapformerError.is(error)
    ? withLayer(site, error)
    : new SwapformerError(
        'operator-failed',
        `[plugin:${site.operator.name}]${site.layerIndex === undefined ? '' : ` layer ${site.layerIndex}`}: forward failed: ${(error as Error)?.message ?? String(error)}`,
        { plugin: site.operator.name, layer: site.layerIndex, cause: error },
      );
  try {
    site.hooks.error.call(stamped);
  } catch {
    // An error tap must not mask the original failure.
  }
  return stamped;
}

/**
 * A plugin's own SwapformerError knows neither the layer nor, often, its plugin name: stamp a copy
 * (same kind, message prefixed `[plugin:<name>] layer <i>:` unless already prefixed).
 */
function withLayer(site: AttentionCallSite, error: SwapformerError): SwapformerError {
  if (error.layer !== undefined || site.layerIndex === undefined) return error;
  const plugin = error.plugin ?? site.operator.name;
  const message = error.message.startsWith(`[plugin:${plugin}]`) ? error.message : `[plugin:${plugin}] layer ${site.layerIndex}: ${error.message}`;
  return new SwapformerError(error.kind, message, { plugin, layer: site.layerIndex, tap: error.tap, path: error.path, cause: error });
}

/** Refuses what a forward returned unless it is a tensor of q's dtype shaped `[b, h, nq, dv]`. */
function checkForwardOutput(site: AttentionCallSite, q: Tensor4D, v: Tensor4D, raw: unknown): asserts raw is Tensor4D {
  const [b, h, nq, dq] = q.shape;
  const dv = site.capabilities.projections === 'qkv' ? v.shape[3] : dq;
  const expected = [b, h, nq, dv];
  const isTensor = raw instanceof tf.Tensor;
  if (isTensor && raw.dtype === q.dtype && raw.rank === 4 && raw.shape.every((size: number, i: number) => size === expected[i])) return;
  const a = (word: string) => `${/^[aeiou]/.test(word) ? 'an' : 'a'} ${word}`;
  const actual = isTensor
    ? `${a(raw.dtype)} tensor of shape [${raw.shape.join(', ')}]`
    : raw === null || raw === undefined
      ? String(raw)
      : `${a(Array.isArray(raw) ? 'array' : typeof raw)} (not a tensor)`;
  throw new SwapformerError(
    'operator-failed',
    `[plugin:${site.operator.name}]${site.layerIndex === undefined ? '' : ` layer ${site.layerIndex}`}: forward returned ${actual}; expected ${a(q.dtype)} tensor of shape [b, h, nq, dv] = [${expected.join(', ')}].`,
    { plugin: site.operator.name, layer: site.layerIndex },
  );
}

/**
 * Runs one attention call the way every model graph does: validate inputs against the
 * operator's capabilities, fire `beforeAttention` (may rewrite q/k/v), run the operator, fire
 * `afterAttention` (may rewrite the output). Intermediates are released even when something
 * throws; failures are stamped with the plugin and layer and reported on the `error` hook.
 *
 * @example const out = runAttention({ hooks, operator, capabilities }, q, k, v, { causal: true });
 */
export function runAttention(site: AttentionCallSite, q: Tensor4D, k: Tensor4D, v: Tensor4D, ctx: AttentionContext): Tensor4D {
  const target = { operator: site.operator.name, capabilities: site.capabilities, layerIndex: site.layerIndex };
  const info: AttentionCallInfo = { operator: site.operator.name, layerIndex: site.layerIndex, model: site.model, ctx };
  try {
    validateAttentionInputs(target, q, k, v, ctx);
    if (site.checkFinite !== false) {
      assertFinite(target, 'q', q);
      if (site.capabilities.projections === 'qkv') {
        assertFinite(target, 'k', k);
        assertFinite(target, 'v', v);
      }
      if (ctx.mask !== undefined) assertMaskValues(target, ctx.mask);
    }
    const output = tf.tidy(() => {
      const inputs = site.hooks.beforeAttention.call({ q, k, v }, info);
      const raw: unknown = site.operator.forward(inputs.q, inputs.k, inputs.v, ctx);
      checkForwardOutput(site, q, v, raw);
      return site.hooks.afterAttention.call(raw, info);
    });
    if (site.checkFinite !== false) {
      try {
        assertFinite(target, 'the output', output);
      } catch (error) {
        output.dispose();
        throw error;
      }
    }
    return output;
  } catch (error) {
    throw report(site, error);
  }
}
