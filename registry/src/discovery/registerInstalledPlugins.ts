import type { AttentionPlugin } from '@swapformer/core';
import type { OperatorRegistry } from '../registry/OperatorRegistry';
import { findPluginPackage, loadDiscoveredPlugin, REGISTRY_LOCATION, scanPluginPackages, type DiscoveredPackage, type DiscoveryLocations, type PluginPackageRef } from './discoverPlugins';

export interface InstalledPluginsReport {
  readonly registered: readonly DiscoveredPackage[];
  /** Packages that were found but refused, with the reason. */
  readonly refused: ReadonlyArray<{ readonly package: PluginPackageRef; readonly reason: string }>;
}

/** Where plugins come from: a search of node_modules chains, or an explicit list. */
export interface PluginSources {
  /**
   * Files or folders whose node_modules chains are searched, in order (default: the registry
   * package's own location). Pass `__dirname` of the code that asks, not `process.cwd()`.
   */
  readonly from?: DiscoveryLocations;
  /**
   * Exactly these plugins, instead of a search: npm package names (resolved from `from`, like
   * `require` would) or plugin objects imported in code.
   */
  readonly plugins?: ReadonlyArray<string | AttentionPlugin>;
}

function refusal(packageName: string, error: unknown): { package: PluginPackageRef; reason: string } {
  return { package: { packageName, version: '', directory: '' }, reason: (error as Error).message };
}

/**
 * Registers plugins into `registry`: the plugin packages installed in the node_modules chains
 * of `sources.from` (a string or array is taken as `from`), or exactly `sources.plugins`. A
 * package that fails (malformed package.json field, broken build, incompatible API version,
 * duplicate name) is refused and reported; it does not stop the others. A plugin object given
 * in code that fails throws, as `registry.register` does.
 *
 * @example registerInstalledPlugins(registry, { from: __dirname });
 * @example registerInstalledPlugins(registry, { plugins: ['@swapformer/plugin-performer', myPlugin] });
 */
export function registerInstalledPlugins(registry: OperatorRegistry, sources: DiscoveryLocations | PluginSources = {}): InstalledPluginsReport {
  const { from = REGISTRY_LOCATION, plugins } = typeof sources === 'string' || Array.isArray(sources) ? { from: sources as DiscoveryLocations } : (sources as PluginSources);
  const registered: DiscoveredPackage[] = [];
  const refused: Array<{ package: PluginPackageRef; reason: string }> = [];
  let packages: DiscoveredPackage[];
  if (plugins) {
    packages = [];
    for (const entry of plugins) {
      if (typeof entry !== 'string') {
        registry.register(entry);
        continue;
      }
      try {
        packages.push(findPluginPackage(entry, from));
      } catch (error) {
        refused.push(refusal(entry, error));
      }
    }
  } else {
    const scan = scanPluginPackages(from);
    refused.push(...scan.malformed);
    packages = [...scan.found];
  }
  for (const found of packages) {
    try {
      registry.register(loadDiscoveredPlugin(found), { packageName: found.packageName });
      registered.push(found);
    } catch (error) {
      refused.push({ package: found, reason: (error as Error).message });
    }
  }
  return { registered, refused };
}
