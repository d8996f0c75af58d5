/**
 * The out-of-tree example plugin inside the root suite: its own test file (conformance kit +
 * its math tests) runs here too — the example is not a workspace, so the root mocha glob would
 * not see it — and the registry discovers it like any installed package.
 */
import '../../examples/third-party-plugin/test/localWindow.test';
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createMemoryLogger, createSwapformerContainer } from '@swapformer/core';
import { createOperatorRegistry, registerInstalledPlugins } from '@swapformer/registry';
import { REPO_ROOT } from '../reliability/support/processes';
import { cliSandbox, EXAMPLE_DIR } from '../reliability/support/registries';

describe('examples/third-party-plugin', () => {
  it('should depend on the core only as a peer, and import nothing but the public core API', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(EXAMPLE_DIR, 'package.json'), 'utf8')) as Record<string, Record<string, string> | string[] | undefined>;
    expect(pkg.keywords).to.include('swapformer-plugin');
    expect(pkg.peerDependencies).to.have.keys('@swapformer/core', '@tensorflow/tfjs-core');
    expect(pkg.dependencies).to.equal(undefined);
    const rootPkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { workspaces: string[] };
    expect(rootPkg.workspaces.some((w) => w.startsWith('examples'))).to.equal(false);
    for (const file of fs.readdirSync(path.join(EXAMPLE_DIR, 'src'))) {
      const imports = [...fs.readFileSync(path.join(EXAMPLE_DIR, 'src', file), 'utf8').matchAll(/from '([^']+)'|require\('([^']+)'\)/g)].map((m) => m[1] ?? m[2]);
      expect(imports.filter((i) => !['@swapformer/core', '@tensorflow/tfjs-core', '../package.json'].includes(i) && !i.startsWith('./')), file).to.deep.equal([]);
    }
  });

  it('should be discovered from node_modules and registered by its package name', function () {
    this.timeout(120000); // may build the example first
    const sandbox = cliSandbox();
    try {
      const registry = createOperatorRegistry(createSwapformerContainer({ logger: createMemoryLogger() }));
      const report = registerInstalledPlugins(registry, sandbox);
      expect(report.refused).to.deep.equal([]);
      expect(registry.get('local-window').packageName).to.equal('swapformer-plugin-local-window');
    } finally {
      fs.rmSync(sandbox, { recursive: true, force: true });
    }
  });
});
