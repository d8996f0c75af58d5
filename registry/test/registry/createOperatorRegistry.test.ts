import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { CORE_API_VERSION, createMemoryLogger, createSwapformerContainer, SwapformerError, type AttentionPlugin } from '@swapformer/core';
import { createOperatorRegistry } from '@swapformer/registry';
import { exactPlugin } from '@swapformer/plugin-exact';
import { errorOf } from './expectSwapformerError';

function nonCausalPluginFixture(name = 'window'): AttentionPlugin {
  return {
    ...exactPlugin,
    meta: { ...exactPlugin.meta, name },
    capabilities: { ...exactPlugin.capabilities, causal: 'none', decoding: 'none' },
    create: (options, services, geometry) => ({ ...exactPlugin.create(options as never, services, geometry), name }),
  } as AttentionPlugin;
}

describe('createOperatorRegistry', () => {
  it('should register, list and resolve by name with options defaults applied', () => {
    const registry = createOperatorRegistry();
    const events: string[] = [];
    registry.hooks.pluginRegistered.tap('t', (e) => void events.push(`registered ${e.meta.name}`));
    registry.hooks.operatorResolved.tap('t', (e) => void events.push(`resolved ${e.resolved}`));
    registry.register(exactPlugin, { packageName: '@swapformer/plugin-exact' });
    expect(registry.list().map((r) => r.meta.name)).to.deep.equal(['exact']);
    const resolved = registry.resolve({ name: 'exact', options: { keyBlock: 256 } }, { causal: true });
    expect(resolved.options).to.include({ keyBlock: 256, path: 'auto' });
    const op = resolved.create({ heads: 2, headDim: 8 });
    const q = tf.randomNormal([1, 2, 4, 8]) as tf.Tensor4D;
    const out = op.forward(q, q, q, { causal: true });
    expect(out.shape).to.deep.equal([1, 2, 4, 8]);
    tf.dispose([q, out]);
    expect(events).to.deep.equal(['registered exact', 'resolved exact']);
  });

  it('should refuse an unknown name listing installed operators, a did-you-mean and the package', () => {
    const registry = createOperatorRegistry();
    registry.register(exactPlugin);
    registry.register(nonCausalPluginFixture('performer'));
    const e = errorOf(() => registry.resolve({ name: 'performr' }));
    expect(e.kind).to.equal('unknown-operator');
    expect(e.message).to.include('unknown attention operator "performr"').and.include('Installed operators: exact, performer').and.include('Did you mean "performer"?').and.include('npm install @swapformer/plugin-performr');
  });

  it('should refuse a duplicate name unless replacing, naming both', () => {
    const registry = createOperatorRegistry();
    registry.register(exactPlugin, { packageName: 'pkg-a' });
    const e = errorOf(() => registry.register(exactPlugin, { packageName: 'pkg-b' }));
    expect(e.kind).to.equal('duplicate-plugin');
    expect(e.message).to.include('pkg-a').and.include('pkg-b');
    expect(() => registry.register(exactPlugin, { replace: true })).not.to.throw();
  });

  it('should refuse a plugin written for another API version, naming both versions', () => {
    const registry = createOperatorRegistry();
    const e = errorOf(() => registry.register({ ...exactPlugin, meta: { ...exactPlugin.meta, apiVersion: '3.0.0' } }));
    expect(e.kind).to.equal('incompatible-plugin');
    expect(e.message).to.include('3.0.0').and.include(CORE_API_VERSION);
  });

  it('should refuse a causal requirement naming the layer, the operator and the capability', () => {
    const registry = createOperatorRegistry();
    registry.register(exactPlugin);
    registry.register(nonCausalPluginFixture());
    const e = errorOf(() => registry.resolve({ name: 'window' }, { causal: true }, { layerIndex: 3, model: 'GPT', path: '/attention/overrides/0' }));
    expect(e.kind).to.equal('missing-capability');
    expect(e.message).to.include('operator "window"').and.include('layer 3').and.include('GPT').and.include('causal masking').and.include('fit: exact');
  });

  it('should fall back only under an explicit policy, firing the hook and logging', () => {
    const logger = createMemoryLogger();
    const registry = createOperatorRegistry(createSwapformerContainer({ logger }));
    registry.register(exactPlugin);
    registry.register(nonCausalPluginFixture());
    const taken: string[] = [];
    registry.hooks.fallbackTaken.tap('t', (e) => void taken.push(`${e.requested}->${e.used}`));
    const resolved = registry.resolve({ name: 'window', fallback: { policy: 'warn', order: ['window', 'exact'] } }, { causal: true }, { layerIndex: 1 });
    expect(resolved.name).to.equal('exact');
    expect(resolved.fallbackFrom).to.equal('window');
    expect(taken).to.deep.equal(['window->exact']);
    expect(logger.lines.join('\n')).to.include('"window" replaced by "exact"');
  });

  it('should refuse invalid options naming the JSON path', () => {
    const registry = createOperatorRegistry();
    registry.register(exactPlugin);
    const e = errorOf(() => registry.resolve({ name: 'exact', options: { keyBlock: -4 } }, {}, { path: '/attention/default' }));
    expect(e.kind).to.equal('invalid-options');
    expect(e.message).to.include('/attention/default/options/keyBlock').and.include('-4');
  });
});
