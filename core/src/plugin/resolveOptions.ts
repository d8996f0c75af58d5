import { formatIssues, validateAgainst } from '@swapformer/schemas';
import { SwapformerError } from '../errors/SwapformerError';
import type { AttentionPlugin } from './AttentionPlugin';

/**
 * Validates raw options against the plugin's `optionsSchema` and returns them with defaults
 * applied. Unknown keys and out-of-range values are errors naming the JSON path.
 *
 * @example resolveOptions(performerPlugin, { m: 256 }, '/attention/options')
 */
export function resolveOptions<O>(plugin: AttentionPlugin<O>, options: unknown, basePath = '/options'): O {
  const result = validateAgainst<O>(plugin.optionsSchema, options ?? {}, basePath);
  if (!result.valid) {
    throw new SwapformerError(
      'invalid-options',
      `invalid options for operator "${plugin.meta.name}":\n${formatIssues(result.issues)}`,
      { plugin: plugin.meta.name },
    );
  }
  return result.value;
}
