import * as fs from 'node:fs';
import * as path from 'node:path';
import { createOperatorRegistry, type OperatorRegistry } from '@swapformer/registry';
import { exactPlugin } from '@swapformer/plugin-exact';
import { levattentionPlugin } from '@swapformer/plugin-levattention';
import { performerPlugin } from '@swapformer/plugin-performer';
import { buildModel, saveCheckpoint, type ModelConfigInput } from '@swapformer/models';
import { createCharVocabulary } from '../../src/data/charVocabulary';
import { validateTrainConfig, type TrainConfig } from '../../src/train/trainConfig';
import { createTextTask, type TrainTask } from '../../src/train/trainTasks';
import { nonCausalPluginFixture } from '../../../models/test/models/modelFixtures';

const TEXT = 'the quick brown fox jumps over the lazy dog; a stitch in time saves nine. '.repeat(8);

/** Exact, performer, levattention and a non-causal stand-in. */
export function adaptRegistryFixture(): OperatorRegistry {
  const registry = createOperatorRegistry();
  for (const plugin of [exactPlugin, performerPlugin, levattentionPlugin, nonCausalPluginFixture]) registry.register(plugin as never);
  return registry;
}

/** A tiny char-GPT teacher (2 layers, width 16, context 16) saved under `dir`, and its text task. */
export function tinyGptFixture(registry: OperatorRegistry, root: string): { checkpoint: string; base: TrainConfig; task: TrainTask } {
  const vocab = createCharVocabulary(TEXT);
  const tokens = vocab.encode(TEXT);
  const model = { model: 'gpt', vocabSize: vocab.size, nPositions: 16, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 32, seed: 5 };
  const checkpoint = path.join(root, 'teacher');
  fs.mkdirSync(checkpoint, { recursive: true });
  const teacher = buildModel(model as ModelConfigInput, { name: 'exact' }, registry);
  saveCheckpoint(teacher, checkpoint);
  teacher.dispose();
  const base = validateTrainConfig({
    task: 'sotu',
    model,
    output: path.join(root, 'unused'),
    batchSize: 4,
    seed: 1,
    data: { contextLength: 16, validationWindows: 4 },
    schedule: { steps: 1, warmupSteps: 0 },
    optimizer: { weightDecay: 0 },
    eval: { batchSize: 4 },
    logEvery: 1,
    checkpointEvery: 2,
  });
  return { checkpoint, base, task: createTextTask(tokens, tokens, vocab, base) };
}

/** Lines of a metrics.jsonl. */
export function readMetrics(file: string): Array<Record<string, unknown>> {
  return fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
