import type { OperatorRegistry } from '../registry/OperatorRegistry';
import { discoverPlugins, loadDiscoveredPlugin, type DiscoveredPackage } from './discoverPlugins';

export interface InstalledPluginsReport {
  readonly registered: readonly DiscoveredPackage[];
  /** Packages that were found but refused, with the reason. */
  readonly refused: ReadonlyArray<{ readonly package: DiscoveredPackage; readonly reason: string }>;
}

/**
 * Discovers plugin packages from `cwd` and registers each into `registry`. A package that
 * fails (broken build, incompatible API version, duplicate name) is refused and reported; it
 * does not stop the others.
 *
 * @example const report = registerInstalledPlugins(registry);
 */
export function registerInstalledPlugins(registry: OperatorRegistry, cwd: string = process.cwd()): InstalledPluginsReport {
  const registered: DiscoveredPackage[] = [];
  const refused: Array<{ package: DiscoveredPackage; reason: string }> = [];
  for (const found of discoverPlugins(cwd)) {
    try {
      registry.register(loadDiscoveredPlugin(found), { packageName: found.packageName });
      registered.push(found);
    } catch (error) {
      refused.push({ package: found, reason: (error as Error).message });
    }
  }
  return { registered, refused };
}
