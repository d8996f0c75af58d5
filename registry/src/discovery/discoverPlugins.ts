import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { resolveOptions, SwapformerError, validatePlugin, type AttentionPlugin } from '@swapformer/core';

/** The keyword a package.json must carry to be considered a Swapformer plugin. */
export const PLUGIN_KEYWORD = 'swapformer-plugin';

/** npm package-name rules (scoped or not, lowercase, no path tricks). */
export const PACKAGE_NAME_PATTERN = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;

/** A plugin package found in a node_modules folder. */
export interface DiscoveredPackage {
  readonly packageName: string;
  readonly version: string;
  readonly directory: string;
  /** The named export holding the plugin object (package.json "swapformer.plugin"). */
  readonly exportName: string;
  /** node_modules folder it was found in. */
  readonly nodeModules: string;
}

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

/** node_modules folders from `cwd` up to the filesystem root (Node's own lookup order). */
export function nodeModulesChain(cwd: string): string[] {
  const out: string[] = [];
  let dir = path.resolve(cwd);
  for (;;) {
    out.push(path.join(dir, 'node_modules'));
    const parent = path.dirname(dir);
    if (parent === dir) return out;
    dir = parent;
  }
}

/**
 * Finds installed plugin packages: every package in the node_modules chain of `cwd` whose
 * package.json has the keyword `swapformer-plugin` and a `"swapformer": {"plugin": "<export>"}`
 * field, and whose folder is where that name resolves (no package.json claiming another
 * package's name). Reads package.json files only; loads no code. The first occurrence of a name
 * wins (Node's resolution order).
 *
 * @example const found = discoverPlugins(process.cwd());
 */
export function discoverPlugins(cwd: string = process.cwd()): DiscoveredPackage[] {
  const found = new Map<string, DiscoveredPackage>();
  for (const nodeModules of nodeModulesChain(cwd)) {
    for (const dir of candidateDirs(nodeModules)) {
      const pkg = readPackageJson(dir);
      if (!pkg || typeof pkg.name !== 'string' || found.has(pkg.name)) continue;
      const keywords = Array.isArray(pkg.keywords) ? pkg.keywords : [];
      if (!keywords.includes(PLUGIN_KEYWORD) || !PACKAGE_NAME_PATTERN.test(pkg.name)) continue;
      // Loading goes by name (require(pkg.name)), so a package.json that claims another
      // package's name would load different code than the one inspected: skip it.
      if (path.join(nodeModules, ...pkg.name.split('/')) !== dir) continue;
      const field = pkg.swapformer as { plugin?: unknown } | undefined;
      if (!field || typeof field.plugin !== 'string' || !/^[A-Za-z_$][\w$]*$/.test(field.plugin)) continue;
      found.set(pkg.name, { packageName: pkg.name, version: String(pkg.version ?? '0.0.0'), directory: dir, exportName: field.plugin, nodeModules });
    }
  }
  return [...found.values()].sort((a, b) => a.packageName.localeCompare(b.packageName));
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
