import { expect } from 'chai';
import { createOperatorRegistry, registerInstalledPlugins } from '@swapformer/registry';

// Discovery reads node_modules, so it has a file of its own: the rest of the registry's suite runs in a page too.
describe('registerInstalledPlugins', () => {
  it('should discover the workspace plugin packages by keyword and register them', () => {
    const registry = createOperatorRegistry();
    const report = registerInstalledPlugins(registry);
    expect(report.registered.map((p) => p.packageName)).to.include('@swapformer/plugin-exact');
    expect(registry.get('exact').packageName).to.equal('@swapformer/plugin-exact');
  });
});
