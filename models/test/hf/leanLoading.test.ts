import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createSeededRandom, deriveSeed } from '@swapformer/core';
import { buildModel, loadCheckpointWithReport, normalizeModelConfig, openCheckpointTensors, preloadCheckpoint, resolveCheckpointFolder, saveCheckpoint, type ModelParameter } from '@swapformer/models';
import { createParameterStore, fromHfLayout } from '../../src/models/parameterStore';
import { errorOf, gptConfigFixture, registryFixture, vitConfigFixture } from '../models/modelFixtures';

const FIXTURES = path.resolve(__dirname, '../fixtures/hf');
const temp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-load-'));

/** Every parameter's values equal the stored tensor, bit for bit, in the graph's layout. */
function expectWeightsEqualFile(dir: string): void {
  const { model, report } = loadCheckpointWithReport(dir, registryFixture());
  try {
    const tensors = openCheckpointTensors(dir);
    const params = model.parameters() as ModelParameter[];
    const stored = params.filter((p) => tensors.entries.has(p.name));
    expect(stored.length, `${dir}: parameters stored under their own name`).to.be.greaterThan(3);
    for (const p of stored) {
      const expected = fromHfLayout(p, tensors.read(p.name));
      const actual = p.variable.dataSync();
      expect(actual.length, p.name).to.equal(expected.length);
      const firstDiff = expected.findIndex((v, i) => !Object.is(v, actual[i]));
      expect(firstDiff, `${dir}: ${p.name} differs at ${firstDiff}`).to.equal(-1);
    }
    expect(report.loaded).to.include.members(stored.map((p) => p.name));
    expect(params.every((p) => p.trainable && p.variable.trainable), 'loaded weights stay trainable (fine-tuning)').to.equal(true);
  } finally {
    model.dispose();
  }
}

describe('loading checkpoints without drawing initial weights', () => {
  for (const name of ['gpt2-tied', 'gpt2-bf16', 'gpt2-sharded', 'vit-f16', 'vit-rgb', 'vit-model-pooler']) {
    it(`should give every parameter exactly the stored values (${name})`, () => expectWeightsEqualFile(path.join(FIXTURES, name)));
  }

  it('should give the saved values back for a model saved by saveCheckpoint', () => {
    const dir = temp();
    const model = buildModel(gptConfigFixture, undefined, registryFixture());
    saveCheckpoint(model, dir);
    const saved = new Map(model.parameters().map((p) => [p.name, Array.from(p.variable.dataSync())]));
    model.dispose();
    const { model: loaded } = loadCheckpointWithReport(dir, registryFixture());
    for (const p of loaded.parameters()) expect(Array.from(p.variable.dataSync()), p.name).to.deep.equal(saved.get(p.name));
    loaded.dispose();
    expectWeightsEqualFile(dir);
  });

  it('should still initialise a built, not loaded, model from its seed (normal draws, ones, zeros)', () => {
    const config = normalizeModelConfig(vitConfigFixture);
    const model = buildModel(config, undefined, registryFixture());
    try {
      const params = model.parameters() as ModelParameter[];
      const pos = params.find((p) => p.name.endsWith('embeddings.position_embeddings'))!;
      const expected = new Float32Array(pos.variable.size);
      createSeededRandom(deriveSeed(config.seed, 'init', pos.name)).fillNormal(expected, 0, config.initializerRange);
      expect(Array.from(pos.variable.dataSync())).to.deep.equal(Array.from(expected));
      expect(new Set(params.find((p) => p.name.endsWith('layernorm.weight'))!.variable.dataSync())).to.deep.equal(new Set([1]));
      expect(new Set(params.find((p) => p.name === 'classifier.bias')!.variable.dataSync())).to.deep.equal(new Set([0]));
      const classifier = Array.from(params.find((p) => p.name === 'classifier.weight')!.variable.dataSync());
      const std = Math.sqrt(classifier.reduce((a, x) => a + x * x, 0) / classifier.length);
      expect(std).to.be.within(0.5 * config.initializerRange, 1.5 * config.initializerRange);
      expect(params.every((p) => p.trainable && p.variable.trainable)).to.equal(true);
    } finally {
      model.dispose();
    }
  });

  it('should take given values, leave deferred ones at zero and draw the rest', () => {
    const store = createParameterStore(7, { initialValues: (p) => (p.name === 'given' ? new Float32Array([1, 2, 3, 4]) : p.name === 'later' ? 'deferred' : undefined) });
    const given = store.add('given', [2, 2], { normal: 1 }, 'linear');
    const later = store.add('later', [3], { normal: 1 });
    const drawn = store.add('drawn', [3], { normal: 1 });
    expect(Array.from(given.dataSync())).to.deep.equal([1, 2, 3, 4]);
    expect(Array.from(later.dataSync())).to.deep.equal([0, 0, 0]);
    expect(Array.from(drawn.dataSync()).every((x) => x !== 0)).to.equal(true);
    store.dispose();
    const wrong = createParameterStore(7, { initialValues: () => new Float32Array(2) });
    expect(errorOf(() => wrong.add('w', [5], 'zeros')).message).to.include('"w" have 2 elements; [5] needs 5');
  });

  it('should preload only keys of the expected shape, through a renaming when given, and nothing when disabled', () => {
    const tensors = openCheckpointTensors(path.join(FIXTURES, 'gpt2-tied'));
    const wte = tensors.entries.get('transformer.wte.weight')!;
    const param = { name: 'wte.weight', shape: wte.shape, layout: 'as-is' as const, hfShape: wte.shape };
    expect(preloadCheckpoint(tensors).initialValues(param)).to.equal('deferred'); // not stored under this name
    const renamed = preloadCheckpoint(tensors, true, (name) => `transformer.${name}`);
    expect(Array.from(renamed.initialValues(param) as Float32Array)).to.deep.equal(Array.from(tensors.read('transformer.wte.weight')));
    expect([...renamed.preloaded]).to.deep.equal(['wte.weight']);
    expect(renamed.initialValues({ ...param, hfShape: [wte.shape[0], wte.shape[1] + 1] })).to.equal('deferred');
    expect(preloadCheckpoint(tensors, false, (name) => `transformer.${name}`).initialValues(param)).to.equal('deferred');
  });
});

describe('Hugging Face hub cache folders', () => {
  function cacheEntry(): { root: string; snapshot: string } {
    const root = path.join(temp(), 'models--org--tiny-gpt2');
    const snapshot = path.join(root, 'snapshots', '0123456789abcdef0123456789abcdef01234567');
    fs.mkdirSync(path.join(root, 'refs'), { recursive: true });
    fs.mkdirSync(path.join(root, 'blobs'));
    fs.cpSync(path.join(FIXTURES, 'gpt2-tied'), snapshot, { recursive: true });
    fs.writeFileSync(path.join(root, 'refs', 'main'), '0123456789abcdef0123456789abcdef01234567');
    return { root, snapshot };
  }

  it('should resolve refs/main to its snapshot and load from it', () => {
    const { root, snapshot } = cacheEntry();
    expect(resolveCheckpointFolder(root)).to.equal(snapshot);
    const { model, report } = loadCheckpointWithReport(root, registryFixture());
    expect(report.dir).to.equal(snapshot);
    model.dispose();
    expect(resolveCheckpointFolder(snapshot)).to.equal(snapshot);
    expect(resolveCheckpointFolder(FIXTURES)).to.equal(FIXTURES);
  });

  it('should name the ref and the snapshots present when the ref points nowhere or outside', () => {
    const { root } = cacheEntry();
    fs.writeFileSync(path.join(root, 'refs', 'main'), 'feedface');
    const missing = errorOf(() => resolveCheckpointFolder(root));
    expect(missing.message).to.include('refs/main points to feedface').and.include('0123456789abcdef0123456789abcdef01234567');
    fs.writeFileSync(path.join(root, 'refs', 'main'), '../../etc');
    expect(errorOf(() => resolveCheckpointFolder(root)).message).to.include('not a snapshot name');
    expect(resolveCheckpointFolder(root, '0123456789abcdef0123456789abcdef01234567')).to.match(/snapshots\/0123456789abcdef/);
  });
});
