import { expect } from 'chai';
import { createOperatorRegistry, registerInstalledPlugins } from '@swapformer/registry';
import { createBenchLineup, type ContenderSettings } from '../../src/bench/createBenchContenders';

const settings: ContenderSettings = { backend: 'webgpu', peers: [], heads: 2, dim: 8, seed: 0, threads: 1, largestN: 1024, limits: {} };

describe('createBenchLineup', () => {
  const registry = createOperatorRegistry();
  registerInstalledPlugins(registry);
  const onWebgpu = registry
    .list()
    .filter((r) => r.meta.name !== 'exact' && r.capabilities.testedBackends?.includes('webgpu'))
    .map((r) => r.meta.name);

  it('should add a "<name>, tfjs ops" variant row for every other operator tested on webgpu when asked', async () => {
    const lineup = await createBenchLineup(registry, { ...settings, tfjsOpsRows: true });
    const variants = lineup.contenders.filter((c) => c.kind === 'variant');
    expect(onWebgpu).to.include.members(['performer', 'tost', 'levattention']);
    expect(variants.map((c) => c.name)).to.deep.equal(onWebgpu.map((name) => `${name}, tfjs ops`));
    expect(variants[0].detail).to.match(/WGSL programs turned off/);
    expect(lineup.contenders.filter((c) => c.kind === 'operator').map((c) => c.name)).to.include.members(['exact', ...onWebgpu]);
    await lineup.close();
  });

  it('should add no variant rows unless asked, nor off webgpu', async () => {
    for (const s of [settings, { ...settings, backend: 'wasm', tfjsOpsRows: true }]) {
      const lineup = await createBenchLineup(registry, s);
      expect(lineup.contenders.some((c) => c.kind === 'variant')).to.equal(false);
      await lineup.close();
    }
  });
});
