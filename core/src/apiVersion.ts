import * as semver from 'semver';
import { SwapformerError } from './errors/SwapformerError';

/**
 * The operator-contract API version this core serves. It changes only when the contract in
 * `operator/` or `plugin/` changes: a new optional field is a minor bump, anything a plugin
 * written for the old contract could trip over is a major bump.
 */
export const CORE_API_VERSION = '2.1.0';

/**
 * Throws unless this core can serve a plugin written against `apiVersion`
 * (same major, and a minor no newer than the core's — Babel's `assertVersion`, made semver).
 *
 * @example assertApiCompatible('performer', '1.0.0');
 */
export function assertApiCompatible(pluginName: string, apiVersion: string): void {
  const wanted = semver.valid(apiVersion);
  if (wanted === null) {
    throw new SwapformerError('incompatible-plugin', `plugin "${pluginName}" declares apiVersion "${apiVersion}", which is not a semver version (e.g. "${CORE_API_VERSION}").`, { plugin: pluginName });
  }
  const core = semver.parse(CORE_API_VERSION)!;
  const plugin = semver.parse(wanted)!;
  if (plugin.major !== core.major || semver.gt(`${plugin.major}.${plugin.minor}.0`, `${core.major}.${core.minor}.0`)) {
    throw new SwapformerError(
      'incompatible-plugin',
      [
        `plugin "${pluginName}" needs operator API ${apiVersion}, but @swapformer/core serves API ${CORE_API_VERSION}.`,
        plugin.major > core.major || (plugin.major === core.major && plugin.minor > core.minor)
          ? `  Upgrade @swapformer/core to a version that serves API ^${plugin.major}.${plugin.minor}.`
          : `  Upgrade the plugin to a version built for API ^${core.major}.0.`,
      ].join('\n'),
      { plugin: pluginName },
    );
  }
}
