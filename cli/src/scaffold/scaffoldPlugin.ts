import * as fs from 'node:fs';
import * as path from 'node:path';
import { CORE_API_VERSION, SwapformerError } from '@swapformer/core';
import { writeDirectoryAtomic } from '@swapformer/models';
import { pluginNames, type PluginNames } from './pluginNames';
import { pluginTemplateFiles, type TemplateVersions } from './pluginTemplates';

export interface ScaffoldOptions {
  /** Target directory (default `./<package name without scope>` under `cwd`). */
  readonly directory?: string;
  /** npm scope for the package name (`@acme` → `@acme/swapformer-plugin-<name>`). */
  readonly scope?: string;
  /** One-sentence description (package.json, meta.description, README). */
  readonly description?: string;
  readonly cwd?: string;
}

export interface ScaffoldResult {
  readonly names: PluginNames;
  readonly directory: string;
  /** Relative paths of the files written, sorted. */
  readonly files: readonly string[];
}

/** Caret ranges of the core, kernels and tfjs-core this registry runs with, and the API version it serves. */
export function currentTemplateVersions(): TemplateVersions {
  const caret = (version: string) => `^${version.split('-')[0]}`;
  const core = (require('@swapformer/core/package.json') as { version: string }).version;
  const kernels = (require('@swapformer/kernels/package.json') as { version: string }).version;
  const tfjs = (require('@tensorflow/tfjs-core/package.json') as { version: string }).version;
  return { core: caret(core), kernels: caret(kernels), apiVersion: CORE_API_VERSION, tfjsCore: caret(tfjs) };
}

/**
 * Writes a new plugin package (package.json with the `swapformer-plugin` keyword, a peer
 * dependency on the core, options schema, capabilities, `src/index.ts`, a conformance test and a
 * README) that builds and passes conformance as generated. The directory is written atomically
 * and must not exist yet (or be empty): nothing is overwritten and a failure leaves nothing behind.
 *
 * @example scaffoldPlugin('local-window', { directory: 'plugins-out/local-window' });
 */
export function scaffoldPlugin(name: string, options: ScaffoldOptions = {}): ScaffoldResult {
  const names = pluginNames(name, { scope: options.scope });
  const description = options.description ?? `${name} attention operator for Swapformer.`;
  if (description.length === 0 || description.length > 300 || /[\u0000-\u001f]/.test(description)) {
    throw new SwapformerError('invalid-config', 'the description must be one line of 1–300 characters.');
  }
  const cwd = options.cwd ?? process.cwd();
  const directory = path.resolve(cwd, options.directory ?? names.packageName.replace(/^@[^/]+\//, ''));
  if (fs.existsSync(directory)) {
    const stat = fs.statSync(directory);
    if (!stat.isDirectory() || fs.readdirSync(directory).length > 0) {
      throw new SwapformerError('io', `"${directory}" already exists and is not an empty directory; choose another --dir (nothing was written).`, { path: directory });
    }
  }
  if (!fs.existsSync(path.dirname(directory))) {
    throw new SwapformerError('io', `cannot create "${directory}": its parent directory does not exist.`, { path: directory });
  }
  const files = pluginTemplateFiles(names, currentTemplateVersions(), description);
  writeDirectoryAtomic(directory, files);
  return { names, directory, files: Object.keys(files).sort() };
}
