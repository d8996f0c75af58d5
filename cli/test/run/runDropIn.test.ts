import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'chai';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { createSwapformerContainer, createSeededRandom, deriveSeed, CORE_API_VERSION, type AttentionPlugin } from '@swapformer/core';
import { exactPlugin } from '@swapformer/plugin-exact';
import { createOperatorRegistry } from '../../../registry/src/registry/createOperatorRegistry';
import type { OperatorRegistry } from '../../../registry/src/registry/OperatorRegistry';
import { charTokenizerConfig, createCharVocabulary } from '../../src/data/charVocabulary';
import { loadCommittedTestSubset } from '../../src/data/committedData';
import { formatDropInText } from '../../src/run/formatDropIn';
import { inLayerSet, meanStd, summarizeRows } from '../../src/run/measureRows';
import { validateRunConfig } from '../../src/run/runConfig';
import { plannedEvaluations, runDropIn } from '../../src/run/runDropIn';
import { writeDropInReport } from '../../src/run/writeDropInReport';
import { readJsonFile } from '../../../registry/src/config/readJsonFile';
import { validateConfig } from '../../../registry/src/config/validateConfig';
import { CONFIG_KINDS } from '../../src/config/configKinds';
import { createCliSession } from '../../src/cli/createCliSession';
import { validateTrainConfig } from '../../src/train/trainConfig';
import { createStandInModel, loadStandIn, saveStandIn } from '../train/standInModels';

/** Exact attention plus seeded noise on the output: a stand-in for a randomized approximation. */
const noisyPluginFixture: AttentionPlugin<{ seed: number; noise: number }> = {
  meta: { name: 'noisy', version: '0.0.0', apiVersion: CORE_API_VERSION, description: 'exact attention plus seeded noise (test fixture)' },
  optionsSchema: { type: 'object', additionalProperties: false, properties: { seed: { description: 'seed', type: 'integer', default: 0 }, noise: { description: 'noise std', type: 'number', default: 0.5 } } },
  capabilities: { ...exactPlugin.capabilities, causal: 'none', decoding: 'none', randomness: 'seeded', dropInForPretrained: true },
  create(options, services, geometry) {
    const exact = exactPlugin.create({ path: 'auto', chunkThreshold: 1 << 24, queryBlock: 1024, keyBlock: 1024 }, services, geometry);
    return {
      name: 'noisy',
      forward(q, k, v, ctx) {
        return tf.tidy(() => {
          const out = exact.forward(q, k, v, ctx);
          const noise = createSeededRandom(deriveSeed(ctx.seed ?? options.seed, 'noise')).fillNormal(new Float32Array(out.size), 0, options.noise);
          return tf.add(out, tf.tensor(noise, out.shape)) as Tensor4D;
        });
      },
      parameters: () => [],
      dispose: () => exact.dispose(),
    };
  },
};

/** Fails on every forward, like an operator that breaks on some input. */
const brokenPluginFixture: AttentionPlugin = {
  ...exactPlugin,
  meta: { ...exactPlugin.meta, name: 'broken' },
  optionsSchema: { type: 'object', additionalProperties: false, properties: {} },
  create: () => ({
    name: 'broken',
    forward: () => {
      throw new Error('kernel exploded');
    },
    parameters: () => [],
    dispose: () => undefined,
  }),
};

function registryFixture(): OperatorRegistry {
  const registry = createOperatorRegistry(createSwapformerContainer({ seed: 0 }));
  registry.register(exactPlugin);
  registry.register(noisyPluginFixture);
  registry.register(brokenPluginFixture);
  return registry;
}

describe('runDropIn', () => {
  let root: string;
  let registry: OperatorRegistry;
  const text = 'the state of our union is strong. '.repeat(20);
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'run-'));
    registry = registryFixture();
    // A "trained" ViT stand-in: class means as weights classify Fashion-MNIST far above chance.
    const subset = loadCommittedTestSubset();
    const vit = createStandInModel({ model_type: 'vit' }, 1);
    const w = new Float32Array(784 * 10);
    for (let i = 0; i < subset.count; i++) for (let p = 0; p < 784; p++) w[p * 10 + subset.labels[i]] += (subset.images[i * 784 + p] / 255 - 0.286) / 100;
    const weight = tf.tensor2d(w, [784, 10]);
    vit.parameters()[0].variable.assign(weight);
    weight.dispose();
    saveStandIn(vit, path.join(root, 'vit'));
    vit.dispose();
    const vocab = createCharVocabulary(text);
    const gpt = createStandInModel({ model_type: 'gpt2', vocab_size: vocab.size, ...({ tokenizer: charTokenizerConfig(vocab) } as object) }, 2);
    saveStandIn(gpt, path.join(root, 'gpt'));
    gpt.dispose();
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  const configFixture = () =>
    validateRunConfig(
      {
        seeds: [1, 2, 3],
        vit: { checkpoint: 'vit', swapLayers: { first: 1 }, images: 200, batchSize: 100, operators: [{ name: 'exact' }, { name: 'noisy' }, { name: 'performer' }, { name: 'broken' }], trained: [{ label: 'trained copy', checkpoint: 'vit' }] },
        gpt: { checkpoint: 'gpt', windows: 2, contextLength: 32, batchSize: 2, operators: [{ name: 'exact' }, { name: 'noisy' }], sample: { promptChars: 8, length: 12 } },
        output: { dir: 'results' },
      },
      root,
    );

  it('should evaluate every installed operator, seeds for randomized ones, and skip the rest with a reason', async () => {
    const config = configFixture();
    // ViT: exact, noisy × 3 seeds, broken, trained; GPT: exact (noisy is not causal; performer is not installed).
    expect(plannedEvaluations(config, registry)).to.equal(1 + 3 + 1 + 1 + 1);
    const progress: string[] = [];
    const before = tf.memory().numTensors;
    const report = await runDropIn({ config, registry, load: (dir, attention) => loadStandIn(dir, attention, registry), text, onProgress: (l) => progress.push(l) });
    expect(tf.memory().numTensors).to.equal(before);
    expect(progress.length).to.equal(plannedEvaluations(config, registry) - 1); // broken fails before its seed completes
    const vit = report.vit!.rows;
    expect(vit.map((r) => [r.label, r.measurements.length])).to.deep.equal([['exact', 1], ['noisy', 3], ['performer', 0], ['broken', 0], ['trained copy', 1]]);
    expect(vit[2].skipped).to.match(/not installed \(installed: broken, exact, noisy\)/);
    expect(vit[3].skipped).to.match(/^failed: .*kernel exploded/);
    const exact = vit[0].measurements[0];
    expect(exact.metric).to.be.greaterThan(0.4); // chance is 0.1
    expect(exact.attentionMs).to.be.greaterThan(0);
    expect(exact.endToEndMs).to.be.greaterThan(exact.attentionMs);
    // The trained row is the same checkpoint run as saved (exact): same accuracy.
    expect(vit[4].measurements[0].metric).to.equal(exact.metric);
    // Different seeds give different noise, hence (almost surely) different accuracies.
    expect(new Set(vit[1].measurements.map((m) => m.metric)).size).to.be.greaterThan(1);
    const gpt = report.gpt!.rows;
    expect(gpt[1].skipped).to.match(/no causal support/);
    expect(gpt[0].measurements[0].metric).to.be.greaterThan(0);
    expect(gpt[0].sample).to.have.length(12);
  });

  describe('having isolated timing (webgpu in Node cannot read synchronously)', () => {
    it('should time each swapped operator alone on captured inputs and keep the metrics', async () => {
      const config = configFixture();
      const before = tf.memory().numTensors;
      const isolated = await runDropIn({ config, registry, load: (dir, attention) => loadStandIn(dir, attention, registry), text, timing: 'isolated' });
      expect(tf.memory().numTensors).to.equal(before);
      const profiled = await runDropIn({ config, registry, load: (dir, attention) => loadStandIn(dir, attention, registry), text, timing: 'profiler' });
      const metrics = (r: typeof isolated) => r.vit!.rows.map((row) => row.measurements.map((m) => m.metric));
      expect(metrics(isolated)).to.deep.equal(metrics(profiled));
      for (const row of [...isolated.vit!.rows, ...isolated.gpt!.rows].filter((r) => !r.skipped)) expect(row.measurements[0].attentionMs, row.label).to.be.greaterThan(0);
    });
  });

  it('should reproduce the numbers with the same seeds', async () => {
    const config = configFixture();
    const run = async () => (await runDropIn({ config, registry, load: (dir, attention) => loadStandIn(dir, attention, registry), text })).vit!.rows.map((r) => r.measurements.map((m) => m.metric));
    expect(await run()).to.deep.equal(await run());
  });

  it('should write the markdown report and the SVG chart and print both tables', async () => {
    const config = configFixture();
    const report = await runDropIn({ config, registry, load: (dir, attention) => loadStandIn(dir, attention, registry), text });
    const files = writeDropInReport(report, config.output, 'swapformer run test.json');
    const md = fs.readFileSync(files.markdown, 'utf8');
    expect(md).to.match(/\| operator \| source \| top-1 acc\. \(%\) \|/);
    expect(md).to.match(/\| noisy \| drop-in \(3 seeds\) \| \d+\.\d\d ± \d+\.\d\d \|/);
    expect(md).to.match(/skipped: performer: not installed/);
    expect(md).to.contain(`![accuracy vs attention time](${path.basename(files.svg!)})`);
    const svg = fs.readFileSync(files.svg!, 'utf8');
    expect(svg.startsWith('<svg')).to.equal(true);
    expect(svg).to.contain('>noisy</text>');
    const text2 = formatDropInText(report);
    expect(text2).to.match(/ViT drop-in table/);
    expect(text2).to.match(/GPT table/);
  });
});

describe('validateRunConfig', () => {
  it('should resolve paths against the config folder and fill defaults', () => {
    const config = validateRunConfig({ vit: { checkpoint: 'checkpoints/vit', swapLayers: { first: 2 } } }, '/repo/examples');
    expect(config.vit!.checkpoint).to.equal('/repo/examples/checkpoints/vit');
    expect(config.output.dir).to.equal('/repo/docs/results');
    expect(config.seeds).to.deep.equal([1, 2, 3, 4, 5]);
  });
  it('should refuse a config with nothing to run or unknown keys', () => {
    expect(() => validateRunConfig({}, '.')).to.throw(/nothing to run/);
    expect(() => validateRunConfig({ vit: { checkpoint: 'x', swapLayers: 1, extra: 1 } }, '.')).to.throw(/invalid run config/);
  });
});

describe('measureRows helpers', () => {
  it('meanStd should give the sample standard deviation', () => {
    expect(meanStd([1, 2, 3])).to.deep.equal({ mean: 2, std: 1 });
    expect(meanStd([5])).to.deep.equal({ mean: 5, std: 0 });
  });
  it('inLayerSet should follow the attention config\'s layer sets', () => {
    expect([0, 1, 2].map((i) => inLayerSet({ first: 2 }, i))).to.deep.equal([true, true, false]);
    expect([0, 3].map((i) => inLayerSet({ from: 1, to: 3 }, i))).to.deep.equal([false, true]);
  });
  it('summarizeRows should mark dominated rows and compute speedups vs exact', () => {
    const m = (metric: number, attentionMs: number) => [{ seed: 1, metric, attentionMs, endToEndMs: 2 * attentionMs }];
    const rows = summarizeRows(
      [
        { label: 'exact', operator: 'exact', source: 'drop-in', randomized: false, measurements: m(0.9, 10) },
        { label: 'fast', operator: 'fast', source: 'drop-in', randomized: false, measurements: m(0.85, 2) },
        { label: 'bad', operator: 'bad', source: 'drop-in', randomized: false, measurements: m(0.8, 5) },
      ],
      true,
    );
    expect(rows.map((r) => r.dominated)).to.deep.equal([false, false, true]);
    expect(rows[1].speedup).to.equal(5);
    expect(rows[1].delta).to.be.closeTo(-0.05, 1e-12);
  });
});

describe('the example configs', () => {
  const examples = path.resolve(__dirname, '..', '..', '..', 'examples');
  it('should be recognised and valid against the installed plugins (run configs name several operators)', () => {
    const registry = createCliSession({ cwd: path.resolve(examples, '..'), warnRefused: false }).registry;
    for (const [file, kind] of [['dropin.json', 'run'], ['train-vit-exact.json', 'train'], ['train-gpt-exact.json', 'train']]) {
      expect(validateConfig(readJsonFile(path.join(examples, file)), registry, CONFIG_KINDS).kind.name, file).to.equal(kind);
    }
  });
  it('should validate the main-job config against its schema and the training configs too', () => {
    for (const file of fs.readdirSync(examples).filter((f) => f.startsWith('train-'))) expect(() => validateTrainConfig(readJsonFile(path.join(examples, file))), file).to.not.throw();
    const runConfigs = fs.readdirSync(examples).filter((f) => f.startsWith('dropin') && f.endsWith('.json'));
    expect(runConfigs).to.include.members(['dropin.json', 'dropin-gpu.json', 'dropin-vit-wasm.json']);
    for (const file of runConfigs) expect(() => validateRunConfig(readJsonFile(path.join(examples, file)), examples), file).to.not.throw();
  });
});
