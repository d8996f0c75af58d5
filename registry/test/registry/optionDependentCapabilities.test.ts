import { expect } from 'chai';
import { resolveOptions, SwapformerError, validatePlugin, type AttentionPlugin, type OperatorCapabilities } from '@swapformer/core';
import { createOperatorRegistry } from '@swapformer/registry';
import { exactPlugin } from '@swapformer/plugin-exact';
import { errorOf } from './expectSwapformerError';

/** A plugin whose `owned` option gives it trainable parameters, so it is no drop-in then. */
function switchablePluginFixture(capabilitiesFor?: (options: { owned: boolean }) => OperatorCapabilities): AttentionPlugin<{ owned: boolean }> {
  return {
    meta: { ...exactPlugin.meta, name: 'switchable', apiVersion: '2.1.0' },
    optionsSchema: { type: 'object', additionalProperties: false, properties: { owned: { type: 'boolean', default: false, description: 'own a trainable map' } } },
    capabilities: exactPlugin.capabilities,
    capabilitiesFor: capabilitiesFor ?? ((options) => (options.owned ? { ...exactPlugin.capabilities, trainableParameters: true, dropInForPretrained: false } : exactPlugin.capabilities)),
    create: (_options, services, geometry) => exactPlugin.create(resolveOptions(exactPlugin, {}) as never, services, geometry),
  };
}

describe('option-dependent capabilities (capabilitiesFor, operator API 2.1)', () => {
  it('should check requirements against capabilitiesFor(options), not the default capabilities', () => {
    const registry = createOperatorRegistry();
    registry.register(exactPlugin);
    registry.register(switchablePluginFixture() as AttentionPlugin);
    const plain = registry.resolve({ name: 'switchable' }, { pretrainedWeights: true });
    expect(plain.capabilities.dropInForPretrained).to.equal(true);
    const e = errorOf(() => registry.resolve({ name: 'switchable', options: { owned: true } }, { pretrainedWeights: true }, { layerIndex: 2 }));
    expect(e.kind).to.equal('missing-capability');
    expect(e.message).to.include('"switchable" with options {"owned":true}').and.include('layer 2').and.include('dropInForPretrained is false').and.include('swapformer adapt --checkpoint');
    expect(e.message).to.include('--allow-untrained-operators').and.include('fit: exact, switchable');
    const trained = registry.resolve({ name: 'switchable', options: { owned: true } }, { pretrainedWeights: true, training: true });
    expect([trained.capabilities.trainableParameters, trained.capabilities.dropInForPretrained]).to.deep.equal([true, false]);
    // the record (what `swapformer list` shows) keeps the default-option capabilities
    expect(registry.get('switchable').capabilities.dropInForPretrained).to.equal(true);
  });

  it('should report the option-dependent capabilities in the operatorResolved hook', () => {
    const registry = createOperatorRegistry();
    registry.register(switchablePluginFixture() as AttentionPlugin);
    const seen: boolean[] = [];
    registry.hooks.operatorResolved.tap('t', (e) => void seen.push(e.capabilities.trainableParameters));
    registry.resolve({ name: 'switchable', options: { owned: true } }, { training: true });
    registry.resolve({ name: 'switchable' }, {});
    expect(seen).to.deep.equal([true, false]);
  });

  it('should judge fallback candidates with their default options', () => {
    const registry = createOperatorRegistry();
    registry.register(exactPlugin);
    registry.register(switchablePluginFixture() as AttentionPlugin);
    const resolved = registry.resolve({ name: 'switchable', options: { owned: true }, fallback: { policy: 'allow', order: ['switchable', 'exact'] } } as never, { pretrainedWeights: true });
    // switchable with its defaults fits, so the fallback takes it (without the failing option)
    expect([resolved.name, resolved.options, resolved.capabilities.dropInForPretrained, resolved.fallbackFrom]).to.deep.equal(['switchable', { owned: false }, true, 'switchable']);
  });

  it('should refuse a capabilitiesFor that is not a function at registration, and bad capabilities it returns at resolution', () => {
    const notAFunction = { ...switchablePluginFixture(), capabilitiesFor: 'owned' } as unknown;
    const e = errorOf(() => validatePlugin(notAFunction));
    expect(e.kind).to.equal('invalid-plugin');
    expect(e.message).to.include('capabilitiesFor must be a function');
    const registry = createOperatorRegistry();
    registry.register(switchablePluginFixture(() => ({ ...exactPlugin.capabilities, causal: 'sometimes' as never })) as AttentionPlugin);
    const bad = errorOf(() => registry.resolve({ name: 'switchable' }, {}));
    expect(bad.kind).to.equal('invalid-plugin');
    expect(bad.message).to.include('capabilitiesFor({"owned":false}).causal is "sometimes"').and.include('"native", "none"');
  });
});
