/**
 * The Node-only part of the registry: plugin discovery in the node_modules chain and reading
 * JSON config files (both need the file system). The main entry also exports these in Node; a
 * bundle for the browser gets `./browser` instead, so importing them from here says plainly
 * that the code runs in Node.
 */
export { discoverPlugins, findPluginPackage, loadDiscoveredPlugin, nodeModulesChain, nodeModulesChains, scanPluginPackages, PLUGIN_KEYWORD, PACKAGE_NAME_PATTERN, REGISTRY_LOCATION } from './discovery/discoverPlugins';
export type { DiscoveredPackage, DiscoveryLocations, PluginPackageRef, PluginScan } from './discovery/discoverPlugins';
export { registerInstalledPlugins } from './discovery/registerInstalledPlugins';
export type { InstalledPluginsReport, PluginSources } from './discovery/registerInstalledPlugins';
export { readJsonFile, MAX_CONFIG_BYTES } from './config/readJsonFile';
