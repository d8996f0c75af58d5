/**
 * Discovery follows the code, not the shell: plugins are found from the location of the code
 * that asks (and the CLI's own installation), an explicit `plugins` list registers exactly
 * those, and keyword packages with a malformed "swapformer" field are refused with the fix.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CORE_API_VERSION, createMemoryLogger, createSwapformerContainer, SwapformerError } from '@swapformer/core';
import { createOperatorRegistry, discoverPlugins, findPluginPackage, nodeModulesChain, registerInstalledPlugins, scanPluginPackages, type OperatorRegistry } from '@swapformer/registry';
import { exactPlugin } from '@swapformer/plugin-exact';
import { loadedPackages, writeFakePackage } from './support/fakePackages';
import { runCli } from './support/processes';

const freshRegistry = (): OperatorRegistry => createOperatorRegistry(createSwapformerContainer({ logger: createMemoryLogger() }));
const WORKSPACE_PLUGINS = ['exact', 'kdeformer', 'levattention', 'performer', 'thinformer', 'tost'];

describe('plugin discovery locations', () => {
  let dir = '';
  let app = '';
  let elsewhere = '';
  let marker = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-discovery-'));
    app = path.join(dir, 'app');
    elsewhere = path.join(dir, 'elsewhere');
    marker = path.join(dir, 'loaded.txt');
    fs.mkdirSync(path.join(app, 'src/deep'), { recursive: true });
    fs.mkdirSync(elsewhere);
    const nm = path.join(app, 'node_modules');
    writeFakePackage(nm, { name: 'swapformer-plugin-alpha', meta: { name: 'alpha' } }, marker);
    writeFakePackage(nm, { name: '@acme/swapformer-plugin-beta', meta: { name: 'beta' } }, marker);
    writeFakePackage(nm, { name: 'swapformer-plugin-no-field', swapformer: null }, marker);
    writeFakePackage(nm, { name: 'swapformer-plugin-bad-export', swapformer: { plugin: 'not an identifier' } }, marker);
    writeFakePackage(nm, { name: 'swapformer-plugin-future', meta: { name: 'future', apiVersion: '2.9.0' } }, marker);
    writeFakePackage(nm, { name: 'unlisted-plugin', keywords: [], meta: { name: 'unlisted' } }, marker);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('should walk node_modules from a file location up to the root, as Node resolves', () => {
    const file = path.join(app, 'node_modules/@acme/swapformer-plugin-beta/index.js');
    expect(nodeModulesChain(file).slice(0, 4)).to.deep.equal([
      path.join(app, 'node_modules/@acme/swapformer-plugin-beta/node_modules'),
      path.join(app, 'node_modules/@acme/node_modules'),
      path.join(app, 'node_modules'),
      path.join(dir, 'node_modules'),
    ]);
  });

  it('should find the same plugins from a file deep in the app, whatever the working directory', () => {
    const before = process.cwd();
    try {
      process.chdir(elsewhere);
      const found = discoverPlugins(path.join(app, 'src/deep/main.js')).map((p) => p.packageName);
      expect(found).to.deep.equal(['@acme/swapformer-plugin-beta', 'swapformer-plugin-alpha', 'swapformer-plugin-future']);
      expect(discoverPlugins(elsewhere)).to.deep.equal([]);
    } finally {
      process.chdir(before);
    }
    expect(loadedPackages(marker)).to.deep.equal([]);
  });

  it('should default to the registry package’s own installation, not the working directory', () => {
    const before = process.cwd();
    try {
      process.chdir(app);
      const names = discoverPlugins().map((p) => p.packageName);
      expect(names).to.include('@swapformer/plugin-exact').and.not.include('swapformer-plugin-alpha');
    } finally {
      process.chdir(before);
    }
  });

  it('should refuse keyword packages with a malformed "swapformer" field with the fix, and a skewed API naming both versions, registering the rest', () => {
    const scan = scanPluginPackages(app);
    expect(scan.malformed.map((m) => m.package.packageName)).to.deep.equal(['swapformer-plugin-bad-export', 'swapformer-plugin-no-field']);
    const registry = freshRegistry();
    const report = registerInstalledPlugins(registry, { from: path.join(app, 'src') });
    expect(registry.list().map((r) => r.meta.name)).to.deep.equal(['alpha', 'beta']);
    const reasons = Object.fromEntries(report.refused.map((r) => [r.package.packageName, r.reason]));
    expect(Object.keys(reasons).sort()).to.deep.equal(['swapformer-plugin-bad-export', 'swapformer-plugin-future', 'swapformer-plugin-no-field']);
    expect(reasons['swapformer-plugin-no-field']).to.include('"swapformer" field must be an object like {"plugin": "myPlugin"}, not null');
    expect(reasons['swapformer-plugin-bad-export']).to.include('"swapformer.plugin" must name an export').and.include('"not an identifier"');
    expect(reasons['swapformer-plugin-future']).to.include(`needs operator API 2.9.0, but @swapformer/core serves API ${CORE_API_VERSION}`);
    expect(loadedPackages(marker)).to.not.include('swapformer-plugin-no-field').and.not.include('swapformer-plugin-bad-export');
  });

  describe('having an explicit plugins list', () => {
    it('should register exactly the named packages and plugin objects, with no search', () => {
      const registry = freshRegistry();
      const report = registerInstalledPlugins(registry, { from: app, plugins: ['@acme/swapformer-plugin-beta', 'unlisted-plugin', 'swapformer-plugin-no-field', exactPlugin] });
      // named explicitly, a package needs no keyword, but still its "swapformer" field to say which export is the plugin
      expect(registry.list().map((r) => r.meta.name)).to.deep.equal(['beta', 'exact', 'unlisted']);
      expect(report.registered.map((p) => p.packageName)).to.deep.equal(['@acme/swapformer-plugin-beta', 'unlisted-plugin']);
      expect(report.refused.map((r) => r.package.packageName)).to.deep.equal(['swapformer-plugin-no-field']);
      expect(report.refused[0].reason).to.include('"swapformer" field must be an object');
    });

    it('should refuse a package that is not installed, naming where it looked and the install command', () => {
      const registry = freshRegistry();
      const report = registerInstalledPlugins(registry, { from: elsewhere, plugins: ['swapformer-plugin-alpha'] });
      expect(registry.list()).to.deep.equal([]);
      expect(report.refused[0].reason).to.include('plugin package "swapformer-plugin-alpha" is not installed where discovery looks').and.include(path.join(elsewhere, 'node_modules')).and.include('npm install swapformer-plugin-alpha');
    });

    it('should refuse a path in place of a package name without loading anything', () => {
      const loaded = loadedPackages(marker).length;
      expect(() => findPluginPackage('./node_modules/swapformer-plugin-alpha', app)).to.throw(SwapformerError, 'not a valid npm package name');
      const report = registerInstalledPlugins(freshRegistry(), { from: app, plugins: ['../app/node_modules/swapformer-plugin-alpha'] });
      expect(report.refused[0].reason).to.include('not a valid npm package name');
      expect(loadedPackages(marker)).to.have.length(loaded);
    });
  });

  describe('having the CLI run from an unrelated folder', () => {
    it('should list what the installed CLI sees, from /', () => {
      const r = runCli(['list', '--json'], { cwd: '/' });
      expect(r.code, r.stderr).to.equal(0);
      const listed = JSON.parse(r.stdout) as { operators: Array<{ name: string; package: string }>; refused: unknown[] };
      expect(listed.operators.map((o) => o.name)).to.deep.equal(WORKSPACE_PLUGINS);
      expect(listed.refused).to.deep.equal([]);
    });

    it('should add the plugins of the project in the working directory', () => {
      const r = runCli(['list', '--json'], { cwd: path.join(app, 'src') });
      expect(r.code, r.stderr).to.equal(0);
      const listed = JSON.parse(r.stdout) as { operators: Array<{ name: string }>; refused: Array<{ package: string }> };
      expect(listed.operators.map((o) => o.name)).to.deep.equal([...WORKSPACE_PLUGINS, 'alpha', 'beta'].sort());
    });
  });
});
