import * as fs from 'node:fs';
import * as path from 'node:path';
import { SwapformerError } from '@swapformer/core';
import { readJsonFile } from '@swapformer/registry';
import { openSafetensors, type SafetensorsEntry, type SafetensorsFile } from './safetensors';

/** Every tensor of a checkpoint folder (one file or shards), read on demand. */
export interface CheckpointTensors {
  /** Tensor name → entry and the file holding it. */
  readonly entries: ReadonlyMap<string, SafetensorsEntry & { readonly file: SafetensorsFile }>;
  read(name: string): Float32Array;
}

export const WEIGHTS_FILE = 'model.safetensors';
export const WEIGHTS_INDEX_FILE = 'model.safetensors.index.json';
const SHARD_NAME = /^[A-Za-z0-9._-]+\.safetensors$/;

function invalid(file: string, message: string): SwapformerError {
  return new SwapformerError('invalid-checkpoint', `${file}: ${message}`, { path: file });
}

/**
 * Opens the weights of a Hugging Face checkpoint folder: `model.safetensors.index.json` with
 * its shards when present, else `model.safetensors`. Shard names must be plain file names in
 * the folder; a tensor must live in the shard the index names, and every tensor of a shard must
 * be indexed.
 *
 * @example const tensors = openCheckpointTensors('fixtures/hf/gpt2-sharded');
 */
export function openCheckpointTensors(dir: string): CheckpointTensors {
  const indexFile = path.join(dir, WEIGHTS_INDEX_FILE);
  const single = path.join(dir, WEIGHTS_FILE);
  const entries = new Map<string, SafetensorsEntry & { file: SafetensorsFile }>();
  if (fs.existsSync(indexFile)) {
    const index = readJsonFile(indexFile) as { weight_map?: unknown };
    const map = index?.weight_map;
    if (typeof map !== 'object' || map === null || Array.isArray(map)) throw invalid(indexFile, 'has no "weight_map" object.');
    const shards = new Map<string, SafetensorsFile>();
    for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
      if (typeof shard !== 'string' || !SHARD_NAME.test(shard) || shard !== path.basename(shard)) {
        throw invalid(indexFile, `weight_map["${name}"] = ${JSON.stringify(shard)} is not a plain .safetensors file name in the checkpoint folder.`);
      }
      if (!shards.has(shard)) shards.set(shard, openSafetensors(path.join(dir, shard)));
      const file = shards.get(shard)!;
      const entry = file.entries.get(name);
      if (!entry) throw invalid(indexFile, `maps "${name}" to ${shard}, which has no such tensor.`);
      entries.set(name, { ...entry, file });
    }
    for (const [shard, file] of shards) {
      for (const name of file.entries.keys()) {
        if (!entries.has(name) || entries.get(name)!.file !== file) throw invalid(indexFile, `${shard} holds "${name}", which the weight_map does not assign to it.`);
      }
    }
  } else if (fs.existsSync(single)) {
    const file = openSafetensors(single);
    for (const [name, entry] of file.entries) entries.set(name, { ...entry, file });
  } else {
    let listing: string[] = [];
    try {
      listing = fs.readdirSync(dir);
    } catch {
      throw new SwapformerError('io', `checkpoint folder "${dir}" does not exist or is not readable.`, { path: dir });
    }
    const hint = listing.some((f) => f.endsWith('.bin')) ? '\n  PyTorch .bin weights are not read (pickle); re-save with model.save_pretrained(dir, safe_serialization=True).' : '';
    throw new SwapformerError('invalid-checkpoint', `checkpoint folder "${dir}" has neither ${WEIGHTS_FILE} nor ${WEIGHTS_INDEX_FILE} (it holds: ${listing.join(', ') || 'nothing'}).${hint}`, { path: dir });
  }
  return {
    entries,
    read(name) {
      const entry = entries.get(name);
      if (!entry) throw new SwapformerError('invalid-checkpoint', `checkpoint "${dir}" has no tensor "${name}".`, { path: dir });
      return entry.file.read(name);
    },
  };
}
