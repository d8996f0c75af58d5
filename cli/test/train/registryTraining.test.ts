import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import type { ImageSet } from '../../src/data/fashionMnist';
import { loadCommittedTestSubset } from '../../src/data/committedData';
import { loadCheckpoint } from '../../../models/src/hf/loadCheckpoint';
import { createRegistryModelFactory } from '../../src/train/registryModelFactory';
import { validateTrainConfig } from '../../src/train/trainConfig';
import { createImageTask } from '../../src/train/trainTasks';
import { trainModel } from '../../src/train/trainModel';
import { registryFixture } from '../../../models/test/models/modelFixtures';

describe('trainModel with the registry ViT', () => {
  const modelFixture = { model: 'vit', imageSize: 28, numChannels: 1, numLabels: 10, pixelStage: { layers: 1, hiddenSize: 4, heads: 1, patchMerge: 7 }, hiddenSize: 8, numLayers: 1, numHeads: 1 };
  let root: string;
  let train: ImageSet;
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'train-vit-'));
    const subset = loadCommittedTestSubset();
    train = { ...subset, count: 64, images: subset.images.subarray(0, 64 * 784), labels: subset.labels.subarray(0, 64) };
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('should warm-start with exact, switch to an operator with its own parameters, and save an HF checkpoint that reloads', async () => {
    const registry = registryFixture();
    const config = validateTrainConfig({ task: 'fashion-mnist', model: modelFixture, attention: { default: { name: 'exact' }, overrides: [{ layers: { first: 1 }, name: 'gain' }] }, warmStart: { fraction: 0.5, attention: { name: 'exact' } }, output: path.join(root, 'warm'), batchSize: 16, schedule: { steps: 4, warmupSteps: 1 }, eval: { every: 4, batchSize: 16 }, logEvery: 2, checkpointEvery: 2, data: { augment: { maxShift: 1, flip: true } } });
    // (Tensor leaks of the loop itself are checked with the stand-in model in trainModel.test.ts.)
    const result = await trainModel({ config, task: createImageTask(train, train, config), factory: createRegistryModelFactory(registry, config.model) });
    expect(result.steps).to.equal(4);
    const model = loadCheckpoint(path.join(root, 'warm', 'final'), registry, { training: true });
    const owned = model.parameters().filter((p) => p.ownedBy === 'gain');
    expect(owned.length).to.equal(1);
    // The gain started at 1 and was trained after the switch.
    expect(owned[0].variable.dataSync()[0]).to.not.equal(1);
    model.dispose();
  });
});
