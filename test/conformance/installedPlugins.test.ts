/**
 * Cross-package conformance: every plugin package installed in this workspace (found by
 * discovery, exactly as users get them) runs the core contract suite on a common set of cases,
 * chosen by capability. Plugin-specific bounds live in each plugin's own tests.
 */
import { createOperatorRegistry, registerInstalledPlugins } from '@swapformer/registry';
import { describeOperatorConformance, type ConformanceCase } from '@swapformer/core/conformance';

const registry = createOperatorRegistry();
const { registered, refused } = registerInstalledPlugins(registry);

describe('installed plugins', () => {
  it('should all load (no package refused)', () => {
    if (refused.length > 0) throw new Error(refused.map((r) => `${r.package.packageName}: ${r.reason}`).join('\n'));
  });

  it('should include the reference operator', () => {
    if (!registered.some((p) => p.packageName === '@swapformer/plugin-exact')) throw new Error('@swapformer/plugin-exact was not discovered');
  });
});

for (const record of registry.list()) {
  const caps = record.capabilities;
  const cases: ConformanceCase[] = [{ label: 'common non-causal b2 h2 n64 d16', shape: { batch: 2, heads: 2, nq: 64, nk: 64, dk: 16 } }];
  if (caps.causal === 'native') cases.push({ label: 'common causal b1 h2 n48 d16', shape: { batch: 1, heads: 2, nq: 48, nk: 48, dk: 16 }, causal: true });
  describeOperatorConformance(record.plugin, { cases });
}
