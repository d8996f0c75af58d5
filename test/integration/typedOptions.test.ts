import { expect } from 'chai';
import { createMemoryLogger, createSwapformerContainer, resolveOperatorServices, resolveOptions, SwapformerError } from '@swapformer/core';
import { kdeformerPlugin, type KdeformerOptions } from '@swapformer/plugin-kdeformer';
import { performerPlugin, type PerformerOptions, type PerformerOptionsInput } from '@swapformer/plugin-performer';
import { createOperatorRegistry } from '@swapformer/registry';

/** The error `fn` throws (a test of a refusal fails when nothing is thrown). */
function errorOf(fn: () => unknown): SwapformerError {
  try {
    fn();
  } catch (error) {
    if (SwapformerError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a SwapformerError, nothing was thrown');
}

const PERFORMER_OPTIONS = ['features', 'orthogonal', 'rowNorms', 'redraw', 'seed', 'epsilon', 'chunkSize'];

describe('options typed from their schemas', () => {
  const registry = createOperatorRegistry(createSwapformerContainer({ logger: createMemoryLogger() }));
  registry.register(performerPlugin);
  registry.register(kdeformerPlugin);
  const services = resolveOperatorServices(createSwapformerContainer({ logger: createMemoryLogger() }));

  // `npx tsc -p tsconfig.tests.json` checks these lines: each @ts-expect-error fails the typecheck
  // if its line compiles, so the options types do follow the schemas.
  it('should refuse a key the schema does not name, at compile time', () => {
    const typed = () => {
      // @ts-expect-error `m` is KDEformer's sample count, not a Performer option
      registry.resolve({ plugin: performerPlugin, options: { m: 256 } });
      // @ts-expect-error a wrong type for an option the schema names
      registry.resolve({ plugin: performerPlugin, options: { features: 'many' } });
      // @ts-expect-error an enum value the schema does not list
      const redraw: PerformerOptionsInput = { redraw: 'sometimes' };
      // @ts-expect-error create() receives resolved options: every defaulted option is present
      performerPlugin.create({ m: 256 }, services, { heads: 1, headDim: 8 });
      return redraw;
    };
    expect(typed).to.be.a('function'); // never called: the checks above are the compiler's
    const features: number | null = registry.resolve({ plugin: performerPlugin, options: { features: 256 } }).options.features;
    const samples: KdeformerOptions['m'] = registry.resolve({ plugin: kdeformerPlugin, options: { m: 256 } }).options.m;
    const seed: PerformerOptions['seed'] = null;
    expect([features, samples, seed]).to.deep.equal([256, 256, null]);
  });

  it('should refuse { m: 256 } for Performer at run time, naming the option and the valid ones', () => {
    for (const error of [
      errorOf(() => registry.resolve({ name: 'performer', options: { m: 256 } })),
      errorOf(() => registry.resolve({ plugin: performerPlugin, options: { m: 256 } as never })),
      errorOf(() => resolveOptions(performerPlugin, { m: 256 })),
    ]) {
      expect(error.kind).to.equal('invalid-options');
      expect(error.message).to.include('unknown key "m"');
      for (const option of PERFORMER_OPTIONS) expect(error.message).to.include(`"${option}"`);
    }
  });

  it('should resolve a selection by plugin object exactly as the selection by name', () => {
    const byPlugin = registry.resolve({ plugin: performerPlugin, options: { features: 16, seed: 3 } });
    const byName = registry.resolve({ name: 'performer', options: { features: 16, seed: 3 } });
    expect(byPlugin.name).to.equal('performer');
    expect(byPlugin.options).to.deep.equal(byName.options);
    expect(byPlugin.options.chunkSize).to.equal(128); // the schema default, typed as a number
  });
});
