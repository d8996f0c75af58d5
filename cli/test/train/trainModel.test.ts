import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'chai';
import type { ImageSet } from '../../src/data/fashionMnist';
import { loadCommittedTestSubset } from '../../src/data/committedData';
import { createCharVocabulary } from '../../src/data/charVocabulary';
import { validateTrainConfig, type TrainConfig } from '../../src/train/trainConfig';
import { createImageTask, createTextTask } from '../../src/train/trainTasks';
import { trainModel, type MetricsLine } from '../../src/train/trainModel';
import { readTrainerState } from '../../src/train/trainerCheckpoint';
import { createStandInFactory, loadStandIn } from './standInModels';

function imageConfig(output: string, extra: Record<string, unknown> = {}): TrainConfig {
  return validateTrainConfig({
    task: 'fashion-mnist',
    model: { model_type: 'vit' },
    output,
    batchSize: 50,
    schedule: { steps: 24, warmupSteps: 4 },
    optimizer: { learningRate: 0.01 },
    eval: { every: 8 },
    checkpointEvery: 6,
    logEvery: 4,
    data: { augment: { maxShift: 0, flip: false } },
    ...extra,
  });
}

function readMetrics(dir: string): MetricsLine[] {
  return fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as MetricsLine);
}

describe('trainModel', () => {
  let root: string;
  let train: ImageSet;
  let validation: ImageSet;
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'train-'));
    const subset = loadCommittedTestSubset();
    const split = (from: number, to: number): ImageSet => ({ ...subset, count: to - from, images: subset.images.subarray(from * 784, to * 784), labels: subset.labels.subarray(from, to) });
    train = split(0, 800);
    validation = split(800, 1000);
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('should learn, log JSONL metrics, and write last/, best/ and final/ checkpoints', async () => {
    const config = imageConfig(path.join(root, 'learn'));
    const before = tf.memory().numTensors;
    const result = await trainModel({ config, task: createImageTask(train, validation, config), factory: createStandInFactory({ model_type: 'vit' }) });
    expect(tf.memory().numTensors).to.equal(before);
    expect(result.steps).to.equal(24);
    const lines = readMetrics(config.output);
    const losses = lines.filter((l) => l.type === 'train').map((l) => (l as { loss: number }).loss);
    expect(losses.length).to.equal(6);
    expect(losses[losses.length - 1]).to.be.lessThan(losses[0]);
    const evals = lines.filter((l) => l.type === 'eval').map((l) => (l as { value: number }).value);
    expect(evals.length).to.equal(3);
    expect(Math.max(...evals)).to.be.greaterThan(0.6); // a linear model on 800 images, 24 steps
    for (const dir of ['last', 'best', 'final']) expect(fs.existsSync(path.join(config.output, dir, 'model.safetensors')), dir).to.equal(true);
    expect(fs.existsSync(path.join(config.output, 'best', 'preprocessor_config.json'))).to.equal(true);
    expect(readTrainerState(path.join(config.output, 'last')).step).to.equal(24);
  });

  it('should resume to exactly the weights of an uninterrupted run', async () => {
    const full = imageConfig(path.join(root, 'full'));
    await trainModel({ config: full, task: createImageTask(train, validation, full), factory: createStandInFactory({ model_type: 'vit' }) });

    // Interrupted at step 12 (a checkpoint step), then resumed.
    const cut = imageConfig(path.join(root, 'cut'), { schedule: { steps: 24, warmupSteps: 4 } });
    const stopAt = 12;
    const factory = createStandInFactory({ model_type: 'vit' });
    const stopping = { ...createImageTask(train, validation, cut) };
    const original = stopping.batch.bind(stopping);
    stopping.batch = (step: number) => {
      if (step === stopAt) throw new Error('simulated crash');
      return original(step);
    };
    let crashed = false;
    await trainModel({ config: cut, task: stopping, factory }).catch(() => {
      crashed = true;
    });
    expect(crashed).to.equal(true);
    expect(readTrainerState(path.join(cut.output, 'last')).step).to.equal(stopAt);
    await trainModel({ config: cut, task: createImageTask(train, validation, cut), factory, resume: true });

    const a = loadStandIn(path.join(full.output, 'final'));
    const b = loadStandIn(path.join(cut.output, 'final'));
    a.parameters().forEach((p, i) => expect(Array.from(p.variable.dataSync())).to.deep.equal(Array.from(b.parameters()[i].variable.dataSync())));
    a.dispose();
    b.dispose();
  });

  describe('having a time budget (maxMinutes)', () => {
    it('should pause with a resumable checkpoint and no final weights, then finish on resume', async () => {
      const config = imageConfig(path.join(root, 'paused'));
      const factory = createStandInFactory({ model_type: 'vit' });
      const paused = await trainModel({ config, task: createImageTask(train, validation, config), factory, maxMinutes: 0 });
      expect(paused.paused).to.equal(true);
      expect(paused.steps).to.equal(1);
      expect(readTrainerState(path.join(config.output, 'last')).step).to.equal(1);
      expect(fs.existsSync(path.join(config.output, 'final'))).to.equal(false);
      const resumed = await trainModel({ config, task: createImageTask(train, validation, config), factory, resume: true });
      expect([resumed.paused, resumed.steps]).to.deep.equal([false, 24]);
      expect(fs.existsSync(path.join(config.output, 'final', 'model.safetensors'))).to.equal(true);
    });
  });

  describe('having a warm start (LevAttention recipe)', () => {
    it('should train the first 25 % of steps with the warm-start operator, then switch', async () => {
      const config = imageConfig(path.join(root, 'warm'), { attention: { name: 'levattention' }, warmStart: { fraction: 0.25, attention: { name: 'exact' } } });
      const factory = createStandInFactory({ model_type: 'vit' });
      await trainModel({ config, task: createImageTask(train, validation, config), factory });
      expect(factory.requested.map((a) => (a as { name: string }).name)).to.deep.equal(['exact', 'levattention']);
      const phases = readMetrics(config.output).filter((l) => l.type === 'phase');
      expect(phases.map((p) => [p.step, p.phase])).to.deep.equal([[0, 'warm-start'], [6, 'main']]);
    });

    it('should never keep a warm-start model as the best checkpoint', async () => {
      // A flat learning curve: under a "best so far" rule alone the first (warm-start) evaluation would win.
      const config = imageConfig(path.join(root, 'warm-best'), { optimizer: { learningRate: 1e-9 }, eval: { every: 4 }, attention: { name: 'levattention' }, warmStart: { fraction: 0.25, attention: { name: 'exact' } } });
      const result = await trainModel({ config, task: createImageTask(train, validation, config), factory: createStandInFactory({ model_type: 'vit' }) });
      expect(result.bestStep).to.equal(8);
      const saved = JSON.parse(fs.readFileSync(path.join(config.output, 'best', 'config.json'), 'utf8')) as { attention: { name: string } };
      expect(saved.attention.name).to.equal('levattention');
    });
  });

  describe('having a text task', () => {
    it('should report validation bits per character and put the vocabulary in the model config', async () => {
      const text = 'abcabcabcabcabcabcabc'.repeat(20);
      const vocab = createCharVocabulary(text);
      const config = validateTrainConfig({ task: 'sotu', model: { model_type: 'gpt2', vocab_size: vocab.size }, output: path.join(root, 'text'), batchSize: 4, schedule: { steps: 30, warmupSteps: 2 }, optimizer: { learningRate: 0.1, weightDecay: 0 }, data: { contextLength: 16 }, eval: { every: 30, batchSize: 2 }, logEvery: 10 });
      const task = createTextTask(vocab.encode(text), vocab.encode(text.slice(0, 100)), vocab, config);
      expect(task.modelConfigPatch).to.deep.equal({ vocabSize: 4, tokenizer: { type: 'char', vocab: '\u00bfabc' } });
      const result = await trainModel({ config, task, factory: createStandInFactory({ model_type: 'gpt2', vocab_size: vocab.size }) });
      // A bigram model of a period-3 sequence approaches 0 bits per character.
      expect(result.bestMetric).to.be.lessThan(0.5);
    });
  });

  describe('having early stopping', () => {
    it('should stop after `patience` evaluations without improvement', async () => {
      const config = imageConfig(path.join(root, 'early'), { optimizer: { learningRate: 1e-9 }, eval: { every: 2, patience: 2 }, schedule: { steps: 40, warmupSteps: 0 } });
      const result = await trainModel({ config, task: createImageTask(train, validation, config), factory: createStandInFactory({ model_type: 'vit' }) });
      expect(result.stoppedEarly).to.equal(true);
      expect(result.steps).to.be.lessThan(40);
    });
  });
});

describe('validateTrainConfig', () => {
  it('should fill defaults', () => {
    const config = validateTrainConfig({ task: 'fashion-mnist', model: {}, output: 'runs/x' });
    expect(config.optimizer.learningRate).to.equal(0.001);
    expect(config.data.augment).to.deep.equal({ maxShift: 2, flip: true, erase: 0 });
    expect(config.backend).to.equal('wasm');
  });
  it('should name unknown keys and bad values with their paths', () => {
    expect(() => validateTrainConfig({ task: 'fashion-mnist', model: {}, output: 'x', optimizer: { lr: 1 } })).to.throw(/optimizer/);
    expect(() => validateTrainConfig({ task: 'cifar', model: {}, output: 'x' })).to.throw(/\/task/);
    expect(() => validateTrainConfig({ task: 'sotu', model: {}, output: 'x' })).to.throw(/\/schedule\/steps: required for task "sotu"/);
  });
});
