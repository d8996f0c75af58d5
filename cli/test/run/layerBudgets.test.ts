import { expect } from 'chai';
import { thinformerPlugin } from '@swapformer/plugin-thinformer';
import { levattentionPlugin } from '@swapformer/plugin-levattention';
import { budgetWarnings } from '../../src/run/layerBudgets';

describe('layer budgets', () => {
  it('should take each budgeted operator\'s keys per query from the plugin', () => {
    const thin = (g: number, n: number) => thinformerPlugin.keysPerQuery!({ g } as never, n);
    expect(thin(2, 50)).to.equal(16); // 2^2 · sqrt(16): the largest power of 4 under 50 is 16
    expect(thin(2, 4096)).to.equal(256);
    expect(thin(8, 64)).to.equal(64); // never more than n
    expect(levattentionPlugin.keysPerQuery!({ k: 32, selection: 'top-k', localWindow: 0 } as never, 785)).to.equal(32);
    expect(levattentionPlugin.keysPerQuery!({ k: 32, selection: 'top-k', localWindow: 29 } as never, 785)).to.equal(89); // kept keys + a window of 2w − 1 at most
    expect(levattentionPlugin.keysPerQuery!({ k: 32, selection: 'threshold', localWindow: 0 } as never, 785)).to.equal(null);
  });

  it('should warn for the Thinformer in a 50-token layer that dropped accuracy to 54 %, not for a long layer', () => {
    const warnings = budgetWarnings([
      { layer: 0, operator: 'thinformer', n: 785, keysPerQuery: 112 },
      { layer: 1, operator: 'thinformer', n: 50, keysPerQuery: 16 },
      { layer: 2, operator: 'levattention', n: 17, keysPerQuery: 17 },
      { layer: 3, operator: 'exact', n: 17 },
    ]);
    expect(warnings).to.have.length(2);
    expect(warnings[0]).to.include('layer 1').and.include('keeps 16 of 50 keys');
    expect(warnings[1]).to.include('layer 2').and.include('its budget reaches n');
  });
});
