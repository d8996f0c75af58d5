import * as path from 'node:path';
import { SwapformerError } from '@swapformer/core';
import { type AttentionSpec, readJsonFile, validateConfig, type OperatorRegistry } from '@swapformer/registry';
import { MODEL_CONFIG_KINDS } from '../models/modelConfigKinds';
import { fromHfConfig } from './hfConfig';

/** The model a checkpoint folder describes, as far as its config.json says. */
export interface CheckpointShape {
  readonly architecture: string;
  // the family's config name: 'vit', 'gpt', 'llama', …
  readonly model: string;
  readonly numLayers: number;
}

/**
 * Checks an attention selection against the model a checkpoint folder describes, reading only
 * its config.json (no weights): overrides must name layers the model has, and a GPT's operators
 * must support causal masking — the mistakes `validate` used to pass that only a run revealed.
 * Throws `invalid-config` naming the checkpoint; returns what the checkpoint is.
 *
 * @example checkAttentionAgainstCheckpoint('checkpoints/gpt', { name: 'kdeformer' }, registry) // throws: causal masking
 */
export function checkAttentionAgainstCheckpoint(dir: string, attention: AttentionSpec, registry: OperatorRegistry): CheckpointShape {
  const configFile = path.join(dir, 'config.json');
  const description = fromHfConfig(readJsonFile(configFile) as Record<string, unknown>, configFile);
  const shape: CheckpointShape = { architecture: description.architecture, model: description.config.model, numLayers: description.config.numLayers };
  try {
    // the checkpoint's own model config with this selection is a model config like any other
    validateConfig({ ...description.config, attention }, registry, MODEL_CONFIG_KINDS);
  } catch (error) {
    if (!SwapformerError.is(error)) throw error;
    throw new SwapformerError('invalid-config', `against checkpoint "${dir}" (${shape.architecture}, ${shape.numLayers} layers): ${error.message.replace(/^invalid [a-z-]+ config:\n\s*/, '')}`, { path: dir, cause: error });
  }
  return shape;
}
