/**
 * Loading Hugging Face checkpoints (`config.json` + safetensors) into ViT/GPT graphs, with any
 * attention operator swapped in. Loading is strict, like thinformer's T2T loader: unexpected
 * keys and shape mismatches are errors, and so are missing keys — except the state an operator
 * declares it owns (`<layer>.attention.operator.*`), which keeps its own initialisation.
 */
import * as path from 'node:path';
import { readJsonFile, type OperatorRegistry } from '@swapformer/registry';
import type { GptModel } from '../models/buildGpt';
import type { VitModel } from '../models/buildVit';
import { openCheckpointTensors } from './checkpointFiles';
import { modelFromCheckpoint, type LoadCheckpointOptions, type LoadReport } from './modelFromCheckpoint';

export type { LoadCheckpointOptions, LoadReport } from './modelFromCheckpoint';

/**
 * Loads a checkpoint folder and reports what was loaded, initialised by an operator, ignored or
 * derived. Swapping an operator into weights trained with another one requires it to be a
 * drop-in replacement (`capabilities.dropInForPretrained`) unless `training` is set.
 *
 * @example const { model, report } = loadCheckpointWithReport('ckpt', registry, { attention: { name: 'performer' } });
 */
export function loadCheckpointWithReport(dir: string, registry: OperatorRegistry, options: LoadCheckpointOptions = {}): { model: VitModel | GptModel; report: LoadReport } {
  const json = readJsonFile(path.join(dir, 'config.json'));
  return modelFromCheckpoint(json, openCheckpointTensors(dir), dir, registry, options);
}

/**
 * Loads a Hugging Face checkpoint folder (`config.json` + `model.safetensors` or a sharded
 * `model.safetensors.index.json`) as a ViT or GPT graph.
 *
 * @example const model = loadCheckpoint('fixtures/hf/vit-rgb', registry); const logits = model.forward(pixels);
 */
export function loadCheckpoint(dir: string, registry: OperatorRegistry, options: LoadCheckpointOptions = {}): VitModel | GptModel {
  return loadCheckpointWithReport(dir, registry, options).model;
}
