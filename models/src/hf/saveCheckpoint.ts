import * as fs from 'node:fs';
import * as path from 'node:path';
import { SwapformerError } from '@swapformer/core';
import { toHfLayout, type ModelParameter } from '../models/parameterStore';
import type { SwapformerModel } from '../models/SwapformerModel';
import { WEIGHTS_FILE, WEIGHTS_INDEX_FILE } from './checkpointFiles';
import { writeDirectoryAtomic } from '../io/writeFileAtomic';
import { encodeSafetensors, type TensorToWrite } from './safetensors';

/** Files already in `dir` that are not the checkpoint's own, to carry into the replacement folder. */
function otherFiles(dir: string, skip: ReadonlySet<string>, prefix = ''): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(path.join(dir, prefix), { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && prefix === '') return files;
    throw new SwapformerError('io', `cannot read checkpoint folder "${dir}": ${(error as Error).message}`, { path: dir, cause: error });
  }
  for (const entry of entries) {
    const name = path.join(prefix, entry.name);
    if (prefix === '' && skip.has(entry.name)) continue;
    if (entry.isDirectory()) Object.assign(files, otherFiles(dir, skip, name));
    else if (entry.isFile()) files[name] = fs.readFileSync(path.join(dir, name));
    else {
      // the folder is replaced as a unit: refuse rather than drop what cannot be copied
      throw new SwapformerError('io', `cannot save a checkpoint into "${dir}": it holds "${name}", which is neither a file nor a folder (a link?); save into another folder.`, { path: dir });
    }
  }
  return files;
}

/**
 * Writes a model as a Hugging Face checkpoint folder: `model.safetensors` (float32, HF names
 * and layouts, operator-owned state included) and `config.json` (with the `"swapformer"` block
 * holding the attention selection). The folder is replaced as a unit (`writeDirectoryAtomic`),
 * so a reader — or a run killed mid-save — sees the old pair or the new pair, never weights of
 * one save with the config of another. Other files already in the folder are carried over; a
 * stale shard index (which would take precedence over the new weights) is not. Standard
 * ViT/GPT-2 models load back into transformers; reloading here gives identical outputs.
 *
 * @example saveCheckpoint(model, 'runs/vit-mnist/checkpoint');
 */
export function saveCheckpoint(model: SwapformerModel, dir: string): void {
  const params = model.parameters() as ModelParameter[];
  const foreign = params.find((p) => p.layout === undefined || p.hfShape === undefined);
  if (foreign) {
    throw new SwapformerError('invalid-input', `saveCheckpoint: parameter "${foreign.name}" carries no checkpoint layout; only models from buildModel / loadCheckpoint can be saved.`);
  }
  const tensors = new Map<string, TensorToWrite>();
  for (const param of params) {
    tensors.set(param.name, { shape: param.hfShape, data: toHfLayout(param, param.variable.dataSync() as Float32Array) });
  }
  const own = { [WEIGHTS_FILE]: encodeSafetensors(tensors, { format: 'pt' }), 'config.json': `${JSON.stringify(model.config, null, 2)}\n` };
  const carried = otherFiles(dir, new Set([...Object.keys(own), WEIGHTS_INDEX_FILE]));
  try {
    fs.mkdirSync(path.dirname(path.resolve(dir)), { recursive: true });
  } catch (error) {
    throw new SwapformerError('io', `cannot create the parent folder of checkpoint "${dir}": ${(error as Error).message}`, { path: dir, cause: error });
  }
  writeDirectoryAtomic(dir, { ...carried, ...own });
}
