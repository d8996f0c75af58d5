#!/usr/bin/env node
// Publishes every workspace package whose version is not on the registry yet ("from package":
// versions come from each package.json, nothing is bumped or tagged), in dependency order so a
// package never reaches the registry before what it depends on.
//
//   npm run release -- --registry <url> [--dry-run] [--tag <dist-tag>]
//
// The packages must be built (`npm run release` builds first). Auth is npm's own: a token for the
// registry in your .npmrc (`npm login --registry <url>`).
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');

function parseArgs(argv) {
  const args = { registry: undefined, dryRun: false, tag: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--registry') args.registry = argv[++i];
    else if (arg.startsWith('--registry=')) args.registry = arg.slice('--registry='.length);
    else if (arg === '--tag') args.tag = argv[++i];
    else if (arg === '--dry-run') args.dryRun = true;
    else throw new Error(`unknown argument "${arg}"; usage: npm run release -- --registry <url> [--dry-run] [--tag <dist-tag>]`);
  }
  if (!args.registry || !/^https?:\/\//.test(args.registry)) {
    throw new Error(`--registry <url> is required (an http(s) URL), got ${JSON.stringify(args.registry)}; e.g. npm run release -- --registry https://registry.npmjs.org/`);
  }
  return args;
}

/** Workspace folders from the root package.json's globs (a trailing /* means every subfolder). */
function workspaceFolders() {
  const { workspaces } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  return workspaces.flatMap((pattern) => {
    if (!pattern.endsWith('/*')) return [pattern];
    const parent = pattern.slice(0, -2);
    return fs.readdirSync(path.join(ROOT, parent)).sort().map((name) => `${parent}/${name}`);
  }).filter((folder) => fs.existsSync(path.join(ROOT, folder, 'package.json')));
}

/** The public workspace packages, each after every workspace package it depends on (peer dependencies included). */
function packagesInDependencyOrder() {
  const packages = workspaceFolders()
    .map((folder) => ({ folder, manifest: JSON.parse(fs.readFileSync(path.join(ROOT, folder, 'package.json'), 'utf8')) }))
    .filter((p) => !p.manifest.private);
  const byName = new Map(packages.map((p) => [p.manifest.name, p]));
  const ordered = [];
  const state = new Map();
  const visit = (p, chain) => {
    if (state.get(p.manifest.name) === 'done') return;
    if (state.get(p.manifest.name) === 'visiting') throw new Error(`dependency cycle: ${[...chain, p.manifest.name].join(' → ')}`);
    state.set(p.manifest.name, 'visiting');
    const { dependencies = {}, peerDependencies = {}, optionalDependencies = {} } = p.manifest;
    for (const name of Object.keys({ ...dependencies, ...peerDependencies, ...optionalDependencies }).sort()) {
      if (byName.has(name)) visit(byName.get(name), [...chain, p.manifest.name]);
    }
    state.set(p.manifest.name, 'done');
    ordered.push(p);
  };
  for (const p of packages) visit(p, []);
  return ordered;
}

function npm(args, options = {}) {
  return spawnSync('npm', args, { cwd: ROOT, encoding: 'utf8', ...options });
}

/** Whether name@version is on the registry; the lookups run side by side (each is one npm start-up). */
function isPublished(name, version, registry) {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['view', `${name}@${version}`, 'version', '--registry', registry, '--json', '--loglevel=error'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => {
      // npm view prints nothing for a version the registry does not have, and E404 for an unknown package
      if (code === 0) resolve(output.trim() !== '');
      else if (/E404|404 Not Found|is not in this registry/.test(output)) resolve(false);
      else reject(new Error(`npm view ${name}@${version} failed:\n${output}`));
    });
  });
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const packages = packagesInDependencyOrder();
  for (const { folder, manifest } of packages) {
    for (const entry of [manifest.main, manifest.types].filter(Boolean)) {
      if (!fs.existsSync(path.join(ROOT, folder, entry))) throw new Error(`${manifest.name}@${manifest.version} is not built (${folder}/${entry} is missing); run npm run build first.`);
    }
  }
  const published = await Promise.all(packages.map(({ manifest }) => isPublished(manifest.name, manifest.version, args.registry)));
  packages.forEach(({ folder, manifest }, i) => {
    const id = `${manifest.name}@${manifest.version}`;
    if (published[i]) {
      process.stdout.write(`skip     ${id} (already on ${args.registry})\n`);
      return;
    }
    const publish = ['publish', '--registry', args.registry, '--ignore-scripts', '--access', 'public', '--loglevel=error'];
    if (args.tag) publish.push('--tag', args.tag);
    if (args.dryRun) publish.push('--dry-run');
    const r = npm(publish, { cwd: path.join(ROOT, folder), stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`npm publish ${id} (${folder}) failed:\n${r.stderr}`);
    process.stdout.write(`${args.dryRun ? 'dry-run' : 'publish'}  ${id}\n`);
  });
}

main().catch((error) => {
  process.stderr.write(`release: ${error.message}\n`);
  process.exit(1);
});
