import type { PluginNames } from './pluginNames';

/** Versions written into a scaffolded package.json (the ranges this repo builds and tests with). */
export interface TemplateVersions {
  /** Range of @swapformer/core, e.g. "^2.0.0". */
  readonly core: string;
  /** Range of @swapformer/kernels (the template's softmax comes from there), e.g. "^0.1.0". */
  readonly kernels: string;
  /** The operator API version the scaffold is written against (a literal, checked at registration). */
  readonly apiVersion: string;
  /** Range of @tensorflow/tfjs-core, e.g. "^4.22.0". */
  readonly tfjsCore: string;
}

const DEV_TOOLS: Readonly<Record<string, string>> = {
  '@types/chai': '^4.3.9',
  '@types/mocha': '^10.0.10',
  '@types/node': '^20.9.5',
  chai: '^4.4.0',
  mocha: '^11.7.0',
  tsx: '^4.20.0',
  typescript: '~5.9.3',
};

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

function packageJson(n: PluginNames, v: TemplateVersions, description: string): string {
  const peers = { '@swapformer/core': v.core, '@tensorflow/tfjs-core': v.tfjsCore };
  return json({
    name: n.packageName,
    version: '0.1.0',
    description,
    keywords: ['swapformer-plugin', 'swapformer', 'attention', n.name],
    license: 'MIT',
    main: 'dist/index.js',
    types: 'dist/index.d.ts',
    files: ['dist', 'README.md'],
    sideEffects: false,
    swapformer: { plugin: n.exportName },
    scripts: { build: 'tsc -p tsconfig.json', typecheck: 'tsc -p tsconfig.test.json', test: 'mocha', prepack: 'npm run build' },
    dependencies: { '@swapformer/kernels': v.kernels },
    peerDependencies: peers,
    devDependencies: { ...peers, ...DEV_TOOLS },
    engines: { node: '>=20.19' },
  });
}

const tsconfig = json({
  compilerOptions: {
    target: 'ES2022',
    module: 'node16',
    moduleResolution: 'node16',
    lib: ['ES2022'],
    types: ['node'],
    strict: true,
    esModuleInterop: true,
    resolveJsonModule: true,
    skipLibCheck: true,
    declaration: true,
    sourceMap: true,
    rootDir: 'src',
    outDir: 'dist',
  },
  include: ['src'],
});

const tsconfigTest = json({ extends: './tsconfig.json', compilerOptions: { noEmit: true, rootDir: '.', types: ['node', 'mocha'] }, include: ['src', 'test'] });

const mocharc = json({ require: ['tsx/cjs', './test/setup.ts'], spec: ['test/**/*.test.ts'], timeout: 120000 });

const testSetup = `/** Mocha root hooks: pick the tfjs backend once (SWAPFORMER_BACKEND, default wasm). */
import { useBackend, type BackendRequest } from '@swapformer/core';

export const mochaHooks = {
  async beforeAll(): Promise<void> {
    await useBackend((process.env.SWAPFORMER_BACKEND ?? 'wasm') as BackendRequest);
  },
};
`;

function mathFile(n: PluginNames): string {
  return `/**
 * ${n.name} attention: TODO describe the method in one line (paper, arXiv link, complexity).
 *
 * The scaffold starts from exact softmax attention with a temperature (kernels'
 * \`softmaxAttention\`), so the package builds and passes the conformance kit before any edit.
 * Replace the body with your method, then make \`capabilities\` in index.ts say exactly what it
 * supports (the conformance kit checks every claim).
 *
 * Shape legend: b batch, h heads, nq queries, nk keys, dk query/key head dim, dv value head dim.
 */
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import type { KernelContext } from '@swapformer/core';
import { softmaxAttention } from '@swapformer/kernels';

export interface ${n.mathOptionsType} {
  /** Divides the logits; 1 is plain softmax attention. */
  readonly temperature: number;
  /** Logit scale, default 1/sqrt(dk). */
  readonly scale?: number;
  /** Key j visible to query i iff j <= i + (nk - nq). */
  readonly causal?: boolean;
  /** Key-padding mask [b, nk]: 1 keeps a key, 0 hides it. */
  readonly mask?: Tensor2D;
}

/**
 * q [b, h, nq, dk], k [b, h, nk, dk], v [b, h, nk, dv] → [b, h, nq, dv].
 *
 * \`kernels\`: the container's kernel settings and resources (\`services.kernels\` in create()).
 *
 * @example const out = ${n.mathName}(services.kernels, q, k, v, { temperature: 1, causal: true });
 */
export function ${n.mathName}(kernels: KernelContext, q: Tensor4D, k: Tensor4D, v: Tensor4D, options: ${n.mathOptionsType}): Tensor4D {
  const scale = (options.scale ?? 1 / Math.sqrt(q.shape[3])) / options.temperature;
  return softmaxAttention(kernels, q, k, v, { scale, causal: options.causal, mask: options.mask }); // [b, h, nq, dv]
}
`;
}

function indexFile(n: PluginNames, v: TemplateVersions, description: string): string {
  const schemaName = `${n.camel}OptionsSchema`;
  return `import type { AttentionPlugin, OptionsFromSchema } from '@swapformer/core';
import { ${n.mathName} } from './${n.mathName}';

const { version } = require('../package.json') as { version: string };

/**
 * Options of the \`${n.name}\` operator as \`create\` receives them (defaults applied), derived from
 * \`${schemaName}\` (declared \`as const\`): a key the schema does not name is a compile error.
 */
export type ${n.optionsType} = OptionsFromSchema<typeof ${schemaName}>;

/** JSON Schema of the options: every key has a default, a description and a range; unknown keys are errors. */
export const ${schemaName} = {
  type: 'object',
  additionalProperties: false,
  properties: {
    temperature: { description: 'Divides the attention logits (1 = plain softmax attention).', type: 'number', exclusiveMinimum: 0, maximum: 100, default: 1 },
  },
} as const;

/**
 * The \`${n.name}\` attention operator. Select it in a config with {"attention": {"name": "${n.name}"}}.
 *
 * @example registry.register(${n.exportName}); registry.resolve({ name: '${n.name}', options: { temperature: 2 } });
 */
export const ${n.exportName}: AttentionPlugin<${n.optionsType}> = {
  meta: {
    name: '${n.name}',
    version,
    // The operator API this package was written against, as a literal: the core refuses it at
    // registration if it cannot serve it (never use the core's own CORE_API_VERSION here).
    apiVersion: '${v.apiVersion}',
    description: ${JSON.stringify(description)},
    reference: 'TODO: paper or reference implementation',
  },
  optionsSchema: ${schemaName},
  capabilities: {
    causal: 'native',
    keyPaddingMask: true,
    decoding: 'none',
    trainableParameters: false,
    randomness: 'deterministic',
    testedBackends: ['wasm'],
    dropInForPretrained: true,
    projections: 'qkv',
    mixesHeads: false,
    crossAttention: true,
  },
  create(options, services) {
    return {
      name: '${n.name}',
      forward: (q, k, v, ctx) => ${n.mathName}(services.kernels, q, k, v, { temperature: options.temperature, scale: ctx.scale, causal: ctx.causal, mask: ctx.mask }),
      parameters: () => [],
      dispose: () => undefined,
    };
  },
};

export { ${n.mathName} } from './${n.mathName}';
`;
}

function testFile(n: PluginNames): string {
  return `import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { createKernelContext } from '@swapformer/core';
import { describeOperatorConformance, maxAbsDiff, randomAttentionInputs, referenceAttention, toFloat64 } from '@swapformer/core/conformance';
import { ${n.mathName}, ${n.exportName} } from '../src';

describeOperatorConformance(${n.exportName}, {
  cases: [
    { label: 'non-causal 2×2×12×8', shape: { batch: 2, heads: 2, nq: 12, nk: 12, dk: 8 }, maxRelativeError: 1e-5 },
    { label: 'causal 1×2×16×8', shape: { batch: 1, heads: 2, nq: 16, nk: 16, dk: 8 }, causal: true, maxRelativeError: 1e-5 },
  ],
  invalidOptions: [
    { options: { temperature: 0 }, messageIncludes: '/options/temperature' },
    { options: { temperature: 'hot' }, messageIncludes: '/options/temperature' },
  ],
});

describe('${n.mathName}', () => {
  describe('having a temperature', () => {
    it('should equal softmax attention with the logits divided by the temperature', () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 9, nk: 9, dk: 4 }, 7);
      const reference = referenceAttention(toFloat64(q), toFloat64(k), toFloat64(v), { scale: 1 / (2 * 3) });
      const out = ${n.mathName}(createKernelContext(), q, k, v, { temperature: 3 });
      expect(maxAbsDiff(out, reference)).to.be.below(1e-5);
      tf.dispose([q, k, v, out]);
    });
  });
});
`;
}

function readme(n: PluginNames, description: string): string {
  return `# ${n.packageName}

${description}

A Swapformer attention plugin. Install it next to \`@swapformer/core\` and
\`@swapformer/registry\`; \`swapformer list\` finds it (package.json keyword \`swapformer-plugin\`),
and a config selects it by name.

## Math

TODO: two paragraphs. The scaffold computes softmax(q kᵀ · scale / temperature) v, which is
exact softmax attention at temperature 1.

## Options

| option | type | default | range | meaning |
|---|---|---|---|---|
| \`temperature\` | number | 1 | (0, 100] | divides the attention logits |

## Capabilities

causal: native · key-padding mask: yes · decoding: none · deterministic · drop-in for pretrained
softmax weights: yes · cross-attention: yes.

## Usage

\`\`\`json
{ "attention": { "name": "${n.name}", "options": { "temperature": 1 } } }
\`\`\`

\`\`\`ts
import { createOperatorRegistry, registerInstalledPlugins } from '@swapformer/registry';
const registry = createOperatorRegistry();
registerInstalledPlugins(registry);
const operator = registry.resolve({ name: '${n.name}' }).create({ heads: 4, headDim: 64 });
\`\`\`

## Development

    npm install
    npm run build
    npm test        # the Swapformer conformance kit plus this package's own tests

## Reference and choices

TODO: the paper or code followed, and every choice made where it was silent.
`;
}

/**
 * The files of a new plugin package, by relative path. Pure: no I/O.
 *
 * @example const files = pluginTemplateFiles(pluginNames('linear'), versions, 'Linear attention.');
 */
export function pluginTemplateFiles(n: PluginNames, versions: TemplateVersions, description = `${n.name} attention operator for Swapformer.`): Record<string, string> {
  return {
    'package.json': packageJson(n, versions, description),
    'tsconfig.json': tsconfig,
    'tsconfig.test.json': tsconfigTest,
    '.mocharc.json': mocharc,
    '.gitignore': 'node_modules/\ndist/\n*.tgz\n',
    'README.md': readme(n, description),
    [`src/${n.mathName}.ts`]: mathFile(n),
    'src/index.ts': indexFile(n, versions, description),
    'test/setup.ts': testSetup,
    [`test/${n.camel}.test.ts`]: testFile(n),
  };
}
