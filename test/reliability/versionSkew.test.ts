import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CORE_API_VERSION, createMemoryLogger, createSwapformerContainer, SwapformerError, type AttentionPlugin } from '@swapformer/core';
import { createOperatorRegistry, registerInstalledPlugins, type OperatorRegistry } from '@swapformer/registry';
import { exactPlugin } from '@swapformer/plugin-exact';
import { writeFakePackage } from './support/fakePackages';
import { runCli } from './support/processes';

function freshRegistry(): OperatorRegistry {
  return createOperatorRegistry(createSwapformerContainer({ logger: createMemoryLogger() }));
}

const withApi = (apiVersion: unknown): AttentionPlugin => ({ ...exactPlugin, meta: { ...exactPlugin.meta, name: 'skewed', apiVersion } } as unknown as AttentionPlugin);

function registerError(plugin: AttentionPlugin, registry = freshRegistry()): SwapformerError {
  try {
    registry.register(plugin);
  } catch (error) {
    if (SwapformerError.is(error)) return error;
    throw error;
  }
  throw new Error(`"${plugin.meta.name}" with apiVersion ${JSON.stringify(plugin.meta.apiVersion)} was accepted`);
}

describe('version skew and duplicate names', () => {
  describe('having a plugin whose apiVersion the core cannot serve', () => {
    const refused: Array<[string, string]> = [
      ['3.0.0', 'Upgrade @swapformer/core'],
      ['2.2.0', 'Upgrade @swapformer/core'],
      ['1.0.0', 'Upgrade the plugin'],
      ['99.0.0', 'Upgrade @swapformer/core'],
    ];
    for (const [apiVersion, advice] of refused) {
      it(`should refuse apiVersion ${apiVersion} at registration, naming both versions`, () => {
        const error = registerError(withApi(apiVersion));
        expect(error.kind).to.equal('incompatible-plugin');
        expect(error.message).to.include(`plugin "skewed" needs operator API ${apiVersion}, but @swapformer/core serves API ${CORE_API_VERSION}`).and.include(advice);
      });
    }

    for (const apiVersion of ['^1.0.0', 'banana', '1', 'v1.0.0x']) {
      it(`should refuse the non-semver apiVersion ${JSON.stringify(apiVersion)}`, () => {
        const error = registerError(withApi(apiVersion));
        expect(error.kind).to.equal('incompatible-plugin');
        expect(error.message).to.include(`declares apiVersion "${apiVersion}", which is not a semver version`);
      });
    }

    for (const apiVersion of ['', 1, null]) {
      it(`should refuse apiVersion ${JSON.stringify(apiVersion)} as an invalid plugin`, () => {
        const error = registerError(withApi(apiVersion));
        expect(error.kind).to.equal('invalid-plugin');
        expect(error.message).to.include('meta.apiVersion of "skewed" must be a non-empty string');
      });
    }

    it('should accept a plugin for an older patch or minor of the same API', () => {
      const registry = freshRegistry();
      registry.register(withApi('2.0.7'));
      expect(registry.has('skewed')).to.equal(true);
      registry.register({ ...withApi('2.1.0'), meta: { ...exactPlugin.meta, name: 'current', apiVersion: '2.1.0' } } as AttentionPlugin);
      expect(registry.has('current')).to.equal(true);
    });
  });

  describe('having installed packages with skewed or clashing plugins', () => {
    let dir = '';
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-skew-'));
      const nm = path.join(dir, 'node_modules');
      const marker = path.join(dir, 'loaded.txt');
      writeFakePackage(nm, { name: 'swapformer-plugin-future', meta: { name: 'future', apiVersion: '2.9.0' } }, marker);
      writeFakePackage(nm, { name: 'swapformer-plugin-windowed', meta: { name: 'windowed' } }, marker);
      writeFakePackage(nm, { name: 'swapformer-plugin-windowed-fork', meta: { name: 'windowed' } }, marker);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('should refuse the skewed and the second same-named package, register the rest, and say why', () => {
      const registry = freshRegistry();
      const report = registerInstalledPlugins(registry, dir);
      expect(report.registered.map((p) => p.packageName)).to.deep.equal(['swapformer-plugin-windowed']);
      const reasons = Object.fromEntries(report.refused.map((r) => [r.package.packageName, r.reason]));
      expect(reasons['swapformer-plugin-future']).to.include(`needs operator API 2.9.0, but @swapformer/core serves API ${CORE_API_VERSION}`);
      expect(reasons['swapformer-plugin-windowed-fork']).to.include('operator "windowed" is already registered (from swapformer-plugin-windowed); swapformer-plugin-windowed-fork registers the same name');
    });

    it('should show the refusals in `swapformer list --json` and still exit 0', () => {
      const r = runCli(['list', '--json'], { cwd: dir });
      expect(r.code, r.stderr).to.equal(0);
      const listed = JSON.parse(r.stdout) as { operators: Array<{ name: string }>; refused: Array<{ package: string; reason: string }> };
      // the CLI sees its own installation's plugins (the workspace's here) and the project's
      expect(listed.operators.map((o) => o.name)).to.include.members(['exact', 'windowed']).and.not.include('future');
      expect(listed.refused.map((x) => x.package).sort()).to.deep.equal(['swapformer-plugin-future', 'swapformer-plugin-windowed-fork']);
      expect(listed.refused.find((x) => x.package === 'swapformer-plugin-future')?.reason).to.include('2.9.0').and.include(CORE_API_VERSION);
    });
  });

  describe('having the same name registered twice', () => {
    it('should refuse the second registration naming both origins, and fire the error hook', () => {
      const registry = freshRegistry();
      const reported: string[] = [];
      registry.hooks.error.tap('record', (e) => void reported.push(e.kind));
      registry.register(exactPlugin, { packageName: '@swapformer/plugin-exact' });
      const error = registerError(exactPlugin, registry);
      expect(error.kind).to.equal('duplicate-plugin');
      expect(error.message).to.include('operator "exact" is already registered (from @swapformer/plugin-exact); this plugin registers the same name').and.include('Pass { replace: true }');
      expect(reported).to.deep.equal(['duplicate-plugin']);
      expect(registry.get('exact').packageName).to.equal('@swapformer/plugin-exact');
    });

    it('should replace only when asked explicitly, saying so on pluginRegistered', () => {
      const registry = freshRegistry();
      const events: boolean[] = [];
      registry.hooks.pluginRegistered.tap('record', (e) => void events.push(e.replaced));
      registry.register(exactPlugin);
      const replacement = { ...exactPlugin, meta: { ...exactPlugin.meta, version: '9.9.9' } };
      registry.register(replacement, { replace: true, packageName: 'my-exact-fork' });
      expect(events).to.deep.equal([false, true]);
      expect(registry.get('exact').meta.version).to.equal('9.9.9');
      expect(registry.get('exact').packageName).to.equal('my-exact-fork');
    });
  });
});
