import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { resolveOptions, SwapformerError, validatePlugin, type AttentionPlugin } from '@swapformer/core';

/** The keyword a package.json must carry to be considered a Swapformer plugin. */
export const PLUGIN_KEYWORD = 'swapformer-plugin';

/** npm package-name rules (scoped or not, lowercase, no path tricks). */
export const PACKAGE_NAME_PATTERN = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;

/** A package that carries the plugin keyword (or was named explicitly), where it was found. */
export interface PluginPackageRef {
  readonly packageName: string;
  readonly version: string;
  readonly directory: string;
}

/** A plugin package found in a node_modules folder. */
export interface DiscoveredPackage extends PluginPackageRef {
  /** The named export holding the plugin object (package.json "swapformer.plugin"). */
  readonly exportName: string;
  /** node_modules folder it was found in. */
  readonly nodeModules: string;
}

/** What a scan found: loadable plugin packages, and keyword packages refused for their package.json. */
export interface PluginScan {
  readonly found: readonly DiscoveredPackage[];
  readonly malformed: ReadonlyArray<{ readonly package: PluginPackageRef; readonly reason: string }>;
}

/**
 * Where discovery looks: files or folders whose node_modules chains are searched in order (the
 * first package of a name wins). Pass the location of the code that asks (`__dirname`), so
 * what is found follows the installation, not the shell's working directory.
 */
export type DiscoveryLocations = string | readonly string[];

/**
 * The default location: this registry package's own folder. Installed in an app, its
 * node_modules chain is the app's; in the monorepo, the workspace's.
 */
export const REGISTRY_LOCATION: string = __dirname;

const MAX_PACKAGE_JSON_BYTES = 1 << 20;

function readPackageJson(dir: string): Record<string, unknown> | null {
  const file = path.join(dir, 'package.json');
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile() || stat.size > MAX_PACKAGE_JSON_BYTES) return null;
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

function candidateDirs(nodeModules: string): string[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(nodeModules);
  } catch {
    return [];
  }
  const dirs: string[] = [];
  for (const entry of entries) {
    if (entry.startsWith('.')) continue;
    if (entry.startsWith('@')) {
      try {
        for (const sub of fs.readdirSync(path.join(nodeModules, entry))) dirs.push(path.join(nodeModules, entry, sub));
      } catch {
        // unreadable scope: skip
      }
    } else {
      dirs.push(path.join(nodeModules, entry));
    }
  }
  return dirs;
}

/** node_modules folders from `from` (a folder, or a file's folder) up to the filesystem root (Node's own lookup order). */
export function nodeModulesChain(from: string): string[] {
  const out: string[] = [];
  let dir = path.resolve(from);
  try {
    if (!fs.statSync(dir).isDirectory()) dir = path.dirname(dir);
  } catch {
    // a location that does not exist still has parents worth searching
  }
  for (;;) {
    if (path.basename(dir) !== 'node_modules') out.push(path.join(dir, 'node_modules'));
    const parent = path.dirname(dir);
    if (parent === dir) return out;
    dir = parent;
  }
}

/** The node_modules folders of every location, in order, each folder once. */
export function nodeModulesChains(from: DiscoveryLocations): string[] {
  const locations = typeof from === 'string' ? [from] : from;
  return [...new Set(locations.flatMap((location) => nodeModulesChain(location)))];
}

const EXPORT_NAME_PATTERN = /^[A-Za-z_$][\w$]*$/;

/** Why a package.json's "swapformer" field cannot name a plugin export, or null when it can. */
function swapformerFieldProblem(pkg: Record<string, unknown>): string | null {
  const field = pkg.swapformer as { plugin?: unknown } | null | undefined;
  if (field === undefined) return 'its package.json has no "swapformer" field; add "swapformer": {"plugin": "<name of the export holding the plugin>"}';
  if (field === null || typeof field !== 'object' || Array.isArray(field)) return `its package.json "swapformer" field must be an object like {"plugin": "myPlugin"}, not ${JSON.stringify(field)}`;
  if (typeof field.plugin !== 'string' || !EXPORT_NAME_PATTERN.test(field.plugin)) {
    return `its package.json "swapformer.plugin" must name an export (a JavaScript identifier such as "myPlugin"), not ${JSON.stringify(field.plugin) ?? 'undefined'}`;
  }
  return null;
}

/**
 * Finds installed plugin packages: every package in the node_modules chains of `from` whose
 * package.json has the keyword `swapformer-plugin`, and whose folder is where that name
 * resolves (no package.json claiming another package's name). A keyword package whose
 * `"swapformer": {"plugin": "<export>"}` field is missing or malformed is reported in
 * `malformed`, with the fix. Reads package.json files only; loads no code. The first occurrence
 * of a name wins (Node's resolution order).
 *
 * @example const { found, malformed } = scanPluginPackages(__dirname);
 */
export function scanPluginPackages(from: DiscoveryLocations = REGISTRY_LOCATION): PluginScan {
  const found = new Map<string, DiscoveredPackage>();
  const malformed = new Map<string, { package: PluginPackageRef; reason: string }>();
  for (const nodeModules of nodeModulesChains(from)) {
    for (const dir of candidateDirs(nodeModules)) {
      const pkg = readPackageJson(dir);
      if (!pkg || typeof pkg.name !== 'string' || found.has(pkg.name) || malformed.has(pkg.name)) continue;
      const keywords = Array.isArray(pkg.keywords) ? pkg.keywords : [];
      if (!keywords.includes(PLUGIN_KEYWORD) || !PACKAGE_NAME_PATTERN.test(pkg.name)) continue;
      // Loading goes by name (require(pkg.name)), so a package.json that claims another
      // package's name would load different code than the one inspected: skip it.
      if (path.join(nodeModules, ...pkg.name.split('/')) !== dir) continue;
      const ref = { packageName: pkg.name, version: String(pkg.version ?? '0.0.0'), directory: dir };
      const problem = swapformerFieldProblem(pkg);
      if (problem) malformed.set(pkg.name, { package: ref, reason: `plugin package "${pkg.name}" is refused: ${problem}.` });
      else found.set(pkg.name, { ...ref, exportName: (pkg.swapformer as { plugin: string }).plugin, nodeModules });
    }
  }
  const byName = (a: { packageName: string }, b: { packageName: string }) => a.packageName.localeCompare(b.packageName);
  return { found: [...found.values()].sort(byName), malformed: [...malformed.values()].sort((a, b) => byName(a.package, b.package)) };
}

/**
 * The loadable plugin packages of `scanPluginPackages` (see there).
 *
 * @example const found = discoverPlugins(__dirname);
 */
export function discoverPlugins(from: DiscoveryLocations = REGISTRY_LOCATION): DiscoveredPackage[] {
  return [...scanPluginPackages(from).found];
}

/**
 * Finds one plugin package by its npm name, as Node resolves it from `from` (explicitly
 * named, so the keyword is not required; the "swapformer.plugin" field is). Throws naming the
 * package and the folders searched when it is not installed or its package.json is malformed.
 *
 * @example const found = findPluginPackage('@swapformer/plugin-performer', __dirname);
 */
export function findPluginPackage(packageName: string, from: DiscoveryLocations = REGISTRY_LOCATION): DiscoveredPackage {
  if (!PACKAGE_NAME_PATTERN.test(packageName)) {
    throw new SwapformerError('invalid-plugin', `refusing to load "${packageName}": not a valid npm package name (plugins are named by package, never by path).`);
  }
  const chain = nodeModulesChains(from);
  for (const nodeModules of chain) {
    const dir = path.join(nodeModules, ...packageName.split('/'));
    const pkg = readPackageJson(dir);
    if (!pkg || pkg.name !== packageName) continue;
    const ref = { packageName, version: String(pkg.version ?? '0.0.0'), directory: dir };
    const problem = swapformerFieldProblem(pkg);
    if (problem) throw new SwapformerError('invalid-plugin', `plugin package "${packageName}" is refused: ${problem}.`);
    return { ...ref, exportName: (pkg.swapformer as { plugin: string }).plugin, nodeModules };
  }
  throw new SwapformerError('invalid-plugin', `plugin package "${packageName}" is not installed where discovery looks (${chain.slice(0, 3).join(', ')}${chain.length > 3 ? ', …' : ''}).\n  Install it: npm install ${packageName}`);
}
/**
 * Loads a discovered plugin package by its npm name (resolved from its node_modules folder,
 * never from a path in a config) and returns the plugin object it exports by name, after
 * validating it and compiling its options schema.
 */
export function loadDiscoveredPlugin(found: DiscoveredPackage): AttentionPlugin {
  if (!PACKAGE_NAME_PATTERN.test(found.packageName)) {
    throw new SwapformerError('invalid-plugin', `refusing to load "${found.packageName}": not a valid npm package name.`);
  }
  const requireFrom = createRequire(path.join(path.dirname(found.nodeModules), 'noop.js'));
  let mod: Record<string, unknown>;
  try {
    mod = requireFrom(found.packageName) as Record<string, unknown>;
  } catch (error) {
    throw new SwapformerError('invalid-plugin', `plugin package "${found.packageName}" failed to load: ${(error as Error).message}\n  Is it built? (npm run build)`, { cause: error });
  }
  // Own exports only: "constructor" or "__proto__" must not reach Object.prototype.
  const plugin = Object.prototype.hasOwnProperty.call(mod, found.exportName) ? mod[found.exportName] : undefined;
  if (plugin === undefined) {
    throw new SwapformerError('invalid-plugin', `plugin package "${found.packageName}" has no export "${found.exportName}" (named in its package.json "swapformer.plugin"); exports: ${Object.keys(mod).join(', ') || '(none)'}.`);
  }
  validatePlugin(plugin, `package "${found.packageName}"`);
  try {
    // compile the options schema now, so that a broken one refuses the package here, by name,
    // instead of failing later inside ajv when a config selects it
    resolveOptions(plugin, {});
  } catch (error) {
    if (!SwapformerError.is(error)) {
      throw new SwapformerError('invalid-plugin', `plugin package "${found.packageName}" has an optionsSchema that does not compile: ${(error as Error)?.message ?? String(error)}`, { plugin: plugin.meta.name, cause: error });
    }
  }
  return plugin;
}
