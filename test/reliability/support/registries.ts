/**
 * Registries and sandboxes the reliability suite runs against: every operator installed in
 * this checkout (discovered like the CLI does) plus the out-of-tree example plugin.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createMemoryLogger, createSwapformerContainer } from '@swapformer/core';
import { createOperatorRegistry, registerInstalledPlugins, type OperatorRegistry } from '@swapformer/registry';
import { localWindowPlugin } from '../../../examples/third-party-plugin/src';
import { REPO_ROOT, run } from './processes';

export const EXAMPLE_DIR = path.join(REPO_ROOT, 'examples/third-party-plugin');

/** A fresh registry with the installed plugins and local-window (installed ones that fail to load are left out). */
export function installedRegistry(seed = 0): OperatorRegistry {
  const registry = createOperatorRegistry(createSwapformerContainer({ seed, logger: createMemoryLogger() }));
  registerInstalledPlugins(registry, REPO_ROOT);
  if (!registry.has('local-window')) registry.register(localWindowPlugin);
  return registry;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds examples/third-party-plugin (its dist/ is ignored by git) unless it is up to date. */
export function ensureExampleBuilt(): void {
  const out = path.join(EXAMPLE_DIR, 'dist/index.js');
  if (fs.existsSync(out) && fs.statSync(out).mtimeMs >= newestMtime(path.join(EXAMPLE_DIR, 'src'))) return;
  const r = run(process.execPath, [path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(EXAMPLE_DIR, 'tsconfig.json')], { timeoutMs: 120000 });
  if (r.code !== 0) throw new Error(`building examples/third-party-plugin failed:\n${r.stdout}${r.stderr}`);
}

/**
 * A directory outside the workspace whose node_modules holds links to exactly the exact plugin
 * and the example plugin: the CLI run there sees those two and nothing else, whichever other
 * plugins this checkout has (or has not yet) built. Caller removes it.
 */
export function cliSandbox(): string {
  ensureExampleBuilt();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-sandbox-'));
  fs.mkdirSync(path.join(dir, 'node_modules/@swapformer'), { recursive: true });
  fs.symlinkSync(path.join(REPO_ROOT, 'plugins/exact'), path.join(dir, 'node_modules/@swapformer/plugin-exact'), 'dir');
  fs.symlinkSync(EXAMPLE_DIR, path.join(dir, 'node_modules/swapformer-plugin-local-window'), 'dir');
  return dir;
}
