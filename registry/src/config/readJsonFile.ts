import * as fs from 'node:fs';
import { SwapformerError } from '@swapformer/core';

/** Config files larger than this are refused before reading (configs are small). */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

/**
 * Reads and parses a JSON file with bounded size and clear errors (missing file, directory,
 * too large, invalid JSON with the position).
 *
 * @example const config = readJsonFile('examples/dropin.json');
 */
export function readJsonFile(file: string, maxBytes = MAX_CONFIG_BYTES): unknown {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new SwapformerError('io', `cannot read "${file}": no such file.`, { path: file });
  }
  if (!stat.isFile()) throw new SwapformerError('io', `cannot read "${file}": not a regular file.`, { path: file });
  if (stat.size > maxBytes) throw new SwapformerError('invalid-config', `"${file}" is ${stat.size} bytes; config files are limited to ${maxBytes} bytes.`, { path: file });
  const text = fs.readFileSync(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new SwapformerError('invalid-config', `"${file}" is not valid JSON: ${(error as Error).message}`, { path: file, cause: error });
  }
}
