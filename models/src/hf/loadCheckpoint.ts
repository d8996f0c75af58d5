/**
 * Loading Hugging Face checkpoints (`config.json` + safetensors, one file or shards, F32/F16/BF16)
 * into the graph of the family the config names, with any attention operator swapped in.
 *
 * Key names follow transformers' loading rules: a head model (`GPT2LMHeadModel`) loads a file
 * saved from the bare model (`GPT2Model`, keys without the `transformer.` base prefix — the
 * original `gpt2` file on the hub) and the other way round; keys tied to another parameter
 * (`lm_head.weight` next to the embedding) and buffers that are not parameters (GPT-2's mask
 * buffers, rotary `inv_freq`) are skipped. Everything else is strict: unexpected keys, shape
 * mismatches and missing keys are errors — except the state an operator declares it owns
 * (`<layer>.attention.operator.*`), which keeps its own initialisation. The report says what was
 * renamed, tied, ignored, derived or left to an operator.
 */
import * as path from 'node:path';
import { readJsonFile, type OperatorRegistry } from '@swapformer/registry';
import type { BuiltInModel } from '../families/builtInFamilies';
import { resolveCheckpointFolder } from './cacheFolder';
import { openCheckpointTensors } from './checkpointFiles';
import { modelFromCheckpoint, type LoadCheckpointOptions, type LoadReport } from './modelFromCheckpoint';

export type { LoadCheckpointOptions, LoadReport } from './modelFromCheckpoint';

/**
 * Loads a checkpoint folder and reports what was loaded, renamed, tied, ignored, derived or
 * initialised by an operator. Swapping an operator into weights trained with another one
 * requires it to be a drop-in replacement (`capabilities.dropInForPretrained`) unless `training` is set.
 *
 * @example const { model, report } = loadCheckpointWithReport('ckpt', registry, { attention: { name: 'performer' } });
 */
export function loadCheckpointWithReport(requestedDir: string, registry: OperatorRegistry, options: LoadCheckpointOptions = {}): { model: BuiltInModel; report: LoadReport } {
  const dir = resolveCheckpointFolder(requestedDir);
  const configFile = path.join(dir, 'config.json');
  return modelFromCheckpoint(readJsonFile(configFile), openCheckpointTensors(dir), dir, registry, options, configFile);
}

/**
 * Loads a Hugging Face checkpoint folder (`config.json` + `model.safetensors` or a sharded
 * `model.safetensors.index.json`) as the graph of its family.
 *
 * @example const model = loadCheckpoint('fixtures/hf/vit-rgb', registry); const logits = model.forward(pixels);
 */
export function loadCheckpoint(dir: string, registry: OperatorRegistry, options: LoadCheckpointOptions = {}): BuiltInModel {
  return loadCheckpointWithReport(dir, registry, options).model;
}
