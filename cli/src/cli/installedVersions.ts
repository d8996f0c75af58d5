import * as fs from 'node:fs';
import * as path from 'node:path';

/** One installed @swapformer package (or any package a version report names). */
export interface InstalledPackage {
  readonly name: string;
  readonly version: string;
  readonly dir: string;
}

/**
 * Every @swapformer/* package Node would find from the CLI's own location and from the working
 * directory (where a project installs its plugins), nearest first; a name found twice keeps the
 * first. A bug report needs all of them: the CLI's version alone does not say which core or
 * plugins ran.
 */
export function installedSwapformerPackages(cwd: string = process.cwd()): InstalledPackage[] {
  const roots = [...(require.resolve.paths('@swapformer/core') ?? []), ...nodeModulesAbove(cwd)];
  const found = new Map<string, InstalledPackage>();
  for (const root of roots) {
    const scope = path.join(root, '@swapformer');
    let names: string[];
    try {
      names = fs.readdirSync(scope);
    } catch {
      continue;
    }
    for (const name of names) {
      try {
        const meta = JSON.parse(fs.readFileSync(path.join(scope, name, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
        if (typeof meta.name === 'string' && typeof meta.version === 'string' && !found.has(meta.name)) found.set(meta.name, { name: meta.name, version: meta.version, dir: path.join(scope, name) });
      } catch {
        // a folder without a readable package.json is not an installed package
      }
    }
  }
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function nodeModulesAbove(dir: string): string[] {
  const out: string[] = [];
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    out.push(path.join(d, 'node_modules'));
    if (path.dirname(d) === d) return out;
  }
}

/** The text of `swapformer --version`: the CLI's version, then each package's. */
export function formatVersions(cliVersion: string, packages: readonly InstalledPackage[]): string {
  const width = Math.max(0, ...packages.map((p) => p.name.length));
  return [`swapformer ${cliVersion}`, ...packages.map((p) => `  ${p.name.padEnd(width)}  ${p.version}`), `  node ${process.versions.node}`].join('\n');
}
