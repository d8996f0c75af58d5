import { SwapformerError } from '../errors/SwapformerError';
import type { OperatorServices } from '../container/OperatorServices';
import type { AttentionOperator, OperatorGeometry } from '../operator/AttentionOperator';
import type { AttentionPlugin } from './AttentionPlugin';
import { resolveOptions } from './resolveOptions';

/**
 * Validates options (defaults applied) and calls `plugin.create`, stamping any failure with
 * the plugin name and layer. The one place operators are constructed.
 */
export function instantiateOperator<O>(
  plugin: AttentionPlugin<O>,
  rawOptions: unknown,
  services: OperatorServices,
  geometry: OperatorGeometry,
  optionsPath = '/options',
): AttentionOperator {
  const options = resolveOptions(plugin, rawOptions, optionsPath);
  const { heads, headDim } = geometry;
  if (!Number.isInteger(heads) || heads < 1 || !Number.isInteger(headDim) || headDim < 1) {
    throw new SwapformerError('invalid-input', `operator "${plugin.meta.name}": geometry needs positive integer heads and headDim, got heads = ${heads}, headDim = ${headDim}.`, {
      plugin: plugin.meta.name,
      layer: geometry.layerIndex,
    });
  }
  try {
    const operator = plugin.create(options, services, geometry);
    if (!operator || typeof operator.forward !== 'function') {
      throw new Error('create() did not return an operator with a forward() method');
    }
    return operator;
  } catch (error) {
    if (SwapformerError.is(error)) throw error;
    const layer = geometry.layerIndex === undefined ? '' : ` (layer ${geometry.layerIndex})`;
    const stamped = new SwapformerError('operator-failed', `[plugin:${plugin.meta.name}] create failed${layer}: ${(error as Error)?.message ?? String(error)}`, {
      plugin: plugin.meta.name,
      layer: geometry.layerIndex,
      cause: error,
    });
    try {
      services.hooks.error.call(stamped);
    } catch {
      // keep the original failure
    }
    throw stamped;
  }
}
