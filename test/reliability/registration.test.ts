/**
 * Registration is all or nothing: when `register` throws, the registry is unchanged.
 */
import { expect } from 'chai';
import { createMemoryLogger, createSwapformerContainer, type AttentionPlugin } from '@swapformer/core';
import { createOperatorRegistry, type OperatorRegistry } from '@swapformer/registry';
import { exactPlugin } from '@swapformer/plugin-exact';

function freshRegistry(): OperatorRegistry {
  return createOperatorRegistry(createSwapformerContainer({ logger: createMemoryLogger() }));
}

const renamed = (name: string, extra: Partial<AttentionPlugin> = {}): AttentionPlugin => ({ ...exactPlugin, ...extra, meta: { ...exactPlugin.meta, name } } as unknown as AttentionPlugin);

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('did not throw');
}

describe('registration', () => {
  describe('having a pluginRegistered tap that throws', () => {
    it('should leave a new plugin unregistered', () => {
      const registry = freshRegistry();
      registry.hooks.pluginRegistered.tap('bad-registered', () => {
        throw new Error('registered boom');
      });
      thrown(() => registry.register(renamed('fresh')));
      expect(registry.has('fresh')).to.equal(false);
      expect(registry.list().map((r) => r.meta.name)).to.deep.equal([]);
    });

    it('should keep the replaced plugin when a replace throws', () => {
      const registry = freshRegistry();
      registry.register(exactPlugin);
      const original = registry.get('exact');
      registry.hooks.pluginRegistered.tap('bad-registered', () => {
        throw new Error('registered boom');
      });
      thrown(() => registry.register(renamed('exact', { description: 'replacement' } as Partial<AttentionPlugin>), { replace: true }));
      expect(registry.get('exact')).to.equal(original);
    });
  });

});
