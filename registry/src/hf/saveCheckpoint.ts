import * as fs from 'node:fs';
import * as path from 'node:path';
import { SwapformerError } from '@swapformer/core';
import { toHfLayout, type ModelParameter } from '../models/parameterStore';
import type { SwapformerModel } from '../models/SwapformerModel';
import { WEIGHTS_FILE, WEIGHTS_INDEX_FILE } from './checkpointFiles';
import { encodeSafetensors, writeFileAtomic, type TensorToWrite } from './safetensors';

/**
 * Writes a model as a Hugging Face checkpoint folder: `model.safetensors` (float32, HF names
 * and layouts, operator-owned state included) and `config.json` (with the `"swapformer"` block
 * holding the attention selection). Each file is written to a temporary name and renamed, the
 * weights first, so a reader never sees a half-written checkpoint. Standard ViT/GPT-2 models
 * load back into transformers; reloading here gives identical outputs.
 *
 * @example saveCheckpoint(model, 'runs/vit-mnist/checkpoint');
 */
export function saveCheckpoint(model: SwapformerModel, dir: string): void {
  const params = model.parameters() as ModelParameter[];
  const foreign = params.find((p) => p.layout === undefined || p.hfShape === undefined);
  if (foreign) {
    throw new SwapformerError('invalid-input', `saveCheckpoint: parameter "${foreign.name}" carries no checkpoint layout; only models from buildModel / loadCheckpoint can be saved.`);
  }
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new SwapformerError('io', `cannot create checkpoint folder "${dir}": ${(error as Error).message}`, { path: dir, cause: error });
  }
  const tensors = new Map<string, TensorToWrite>();
  for (const param of params) {
    tensors.set(param.name, { shape: param.hfShape, data: toHfLayout(param, param.variable.dataSync() as Float32Array) });
  }
  writeFileAtomic(path.join(dir, WEIGHTS_FILE), encodeSafetensors(tensors, { format: 'pt' }));
  writeFileAtomic(path.join(dir, 'config.json'), `${JSON.stringify(model.config, null, 2)}\n`);
  // a stale shard index would take precedence over the file just written
  fs.rmSync(path.join(dir, WEIGHTS_INDEX_FILE), { force: true });
}
