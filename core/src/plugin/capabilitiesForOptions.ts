import { SwapformerError } from '../errors/SwapformerError';
import type { AttentionPlugin } from './AttentionPlugin';
import type { OperatorCapabilities } from './OperatorCapabilities';
import { capabilityProblem } from './validatePlugin';

/**
 * The capabilities of `plugin`'s operator with these resolved options: `capabilitiesFor(options)`
 * where the plugin has it (checked like `capabilities` at registration), else `capabilities`.
 *
 * @example operatorCapabilities(performerPlugin, { featureMap: 'learned', features: 64 }).dropInForPretrained // false
 */
export function operatorCapabilities<Options>(plugin: AttentionPlugin<Options>, options: Options): OperatorCapabilities {
  if (!plugin.capabilitiesFor) return plugin.capabilities;
  const caps = plugin.capabilitiesFor(options);
  const problem = capabilityProblem(caps, `"${plugin.meta.name}".capabilitiesFor(${JSON.stringify(options)})`);
  if (problem) throw new SwapformerError('invalid-plugin', `plugin "${plugin.meta.name}" is not a valid Swapformer plugin: ${problem}`, { plugin: plugin.meta.name });
  return caps;
}
