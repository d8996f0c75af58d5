#!/usr/bin/env node
/**
 * ES-module builds next to tsc's CommonJS ones: for every package whose `exports` name an
 * `import` or `browser` file under dist/esm/, esbuild bundles the matching src/ entry into that
 * file. (Entries with Node-only code — the registry's and models' main entries — have no ESM
 * build: Node takes their CommonJS build through the `node` condition, bundlers the `browser` one.) One file per entry (other packages stay external imports) sidesteps the file extensions
 * Node's ESM loader demands of relative imports, which tsc would leave extensionless, and keeps
 * the output tree-shakable for a bundler (`sideEffects: false`). dist/esm/package.json marks the
 * folder as ESM for Node. Types stay tsc's (dist/*.d.ts).
 */
import { build } from 'esbuild';
import { readFileSync, writeFileSync, mkdirSync, readdirSync, existsSync, rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const workspaces = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).workspaces.flatMap((w) =>
  w.endsWith('/*') ? readdirSync(join(root, w.slice(0, -2))).map((d) => `${w.slice(0, -2)}/${d}`) : [w],
);

/** Every dist/esm/*.js file a package's exports point at (in nested conditions too). */
function esmTargets(exportsField) {
  const found = new Set();
  const walk = (v) => {
    if (typeof v === 'string') {
      if (v.startsWith('./dist/esm/')) found.add(v.slice('./dist/esm/'.length));
    } else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(exportsField);
  return [...found];
}

let built = 0;
for (const dir of workspaces) {
  const pkgFile = join(root, dir, 'package.json');
  if (!existsSync(pkgFile)) continue;
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
  const targets = esmTargets(pkg.exports);
  if (targets.length === 0) continue;
  const out = join(root, dir, 'dist', 'esm');
  rmSync(out, { recursive: true, force: true }); // no stale entries from an earlier exports map
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'package.json'), '{ "type": "module", "sideEffects": false }\n');
  const entryPoints = Object.fromEntries(targets.map((t) => [t.replace(/\.js$/, ''), join(root, dir, 'src', t.replace(/\.js$/, '.ts'))]));
  await build({
    entryPoints,
    outdir: out,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    packages: 'external',
    // Node-only modules are reached only from Node-only entries or guarded calls
    external: ['node:*'],
    sourcemap: true,
    logLevel: 'error',
    // a computed require() (useBackend in Node) cannot be bundled; the browser path never takes it
    logOverride: { 'unsupported-require-call': 'silent' },
  });
  built += targets.length;
}
console.log(`build-esm: ${built} ES-module entries`);
