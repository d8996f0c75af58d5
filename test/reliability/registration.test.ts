/**
 * Registration is all or nothing: when `register` throws, the registry is unchanged, and a plugin
 * whose options schema does not compile is refused at `register`, by name, not at first resolve.
 */
import { expect } from 'chai';
import { createMemoryLogger, createSwapformerContainer, SwapformerError, type AttentionPlugin } from '@swapformer/core';
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

  describe('having a plugin registered in code whose optionsSchema does not compile', () => {
    const broken = renamed('broken-schema', { optionsSchema: { type: 'object', additionalProperties: false, properties: { m: { type: 'integer', minimum: 'one', default: 1, description: 'a bound that is not a number' } } } } as unknown as Partial<AttentionPlugin>);

    it('should refuse it at register() as invalid-plugin naming the plugin', () => {
      const registry = freshRegistry();
      const error = thrown(() => registry.register(broken));
      expect(SwapformerError.is(error), String(error)).to.equal(true);
      expect((error as SwapformerError).kind).to.equal('invalid-plugin');
      expect((error as SwapformerError).message).to.include('"broken-schema"').and.include('optionsSchema');
      expect((error as SwapformerError).plugin).to.equal('broken-schema');
      expect(registry.has('broken-schema')).to.equal(false);
    });
  });
});
