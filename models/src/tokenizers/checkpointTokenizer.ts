import * as fs from 'node:fs';
import * as path from 'node:path';
import { readJsonFile } from '@swapformer/registry';
import type { GptModelConfig } from '../models/modelConfig';
import { createHfTokenizer, type HfTokenizer } from './hfTokenizer';
import { tokenizerFor } from './tokenizerFor';
import type { Tokenizer } from './Tokenizer';

export const TOKENIZER_FILE = 'tokenizer.json';
/** Real vocabularies run to tens of MB (Gemma's is ~34 MB); config files are capped far lower. */
const MAX_TOKENIZER_BYTES = 256 * 1024 * 1024;

/**
 * The checkpoint folder's `tokenizer.json`, or undefined when it has none.
 *
 * @example const t = readCheckpointTokenizer('ckpt'); t?.encodeWithTokens('Hello').tokens
 */
export function readCheckpointTokenizer(dir: string): HfTokenizer | undefined {
  const file = path.join(dir, TOKENIZER_FILE);
  if (!fs.existsSync(file)) return undefined;
  return createHfTokenizer(readJsonFile(file, MAX_TOKENIZER_BYTES), file);
}

/**
 * The tokenizer of a GPT checkpoint: its `tokenizer.json` when present (how hub checkpoints
 * ship one), else the one its config names (character vocabularies of the project's own
 * checkpoints, GPT-2 BPE).
 *
 * @example const tokenizer = tokenizerForCheckpoint(dir, model.modelConfig);
 */
export function tokenizerForCheckpoint(dir: string, config: GptModelConfig): Tokenizer {
  return readCheckpointTokenizer(dir) ?? tokenizerFor(config);
}
