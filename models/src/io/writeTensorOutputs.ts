import * as path from 'node:path';
import { SwapformerError } from '@swapformer/core';
import { encodeSafetensors } from '../hf/safetensors';
import { outputTarget } from './outputTarget';
import { writeFileAtomic } from './writeFileAtomic';

/** A named output of a model run. */
export interface OutputTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export const OUTPUT_FORMATS = ['.json', '.safetensors', '.npy'] as const;

/** Numbers per JSON chunk: big enough to be fast, small enough that a chunk is a few MB at most. */
const VALUES_PER_CHUNK = 1 << 16;

/** JSON's spelling of a float32 (what JSON.stringify writes: non-finite values become null). */
const jsonNumber = (x: number) => (Number.isFinite(x) ? String(x) : 'null');

/** A `.npy` (format 1.0) holding one little-endian float32 array. */
function encodeNpy(tensor: OutputTensor): Buffer {
  const shape = tensor.shape.length === 1 ? `(${tensor.shape[0]},)` : `(${tensor.shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  header += `${' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64)}\n`; // the data starts 64-byte aligned
  const out = Buffer.alloc(10 + header.length + tensor.data.byteLength);
  out.write('\x93NUMPY', 0, 'latin1');
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  for (let i = 0, at = 10 + header.length; i < tensor.data.length; i++, at += 4) out.writeFloatLE(tensor.data[i], at);
  return out;
}

/**
 * Writes a run's outputs atomically, in the format the extension names:
 * - `.json`: `{"<name>": {"shape": [...], "data": [...]}, ...extra}`, streamed number by number;
 * - `.safetensors`: every tensor as F32, `extra` JSON-encoded in the metadata;
 * - `.npy`: the one tensor (refused when there are several).
 *
 * @example writeTensorOutputs('logits.npy', { logits: { shape: [1, 5, 50257], data } }, { operators: ['exact'] });
 */
export function writeTensorOutputs(file: string, tensors: Readonly<Record<string, OutputTensor>>, extra: Readonly<Record<string, unknown>> = {}): void {
  // "-" is stdout, as JSON (as for most Unix tools; a file named "-" would surprise everyone)
  const target = file === '-' ? '/dev/stdout' : file;
  const ext = file === '-' ? '.json' : path.extname(file).toLowerCase();
  outputTarget(target); // a directory (or a link loop) is refused by name before the extension is looked at
  const names = Object.keys(tensors);
  if (ext === '.safetensors') {
    const metadata: Record<string, string> = { format: 'pt' };
    for (const [k, v] of Object.entries(extra)) metadata[k] = JSON.stringify(v);
    writeFileAtomic(file, encodeSafetensors(new Map(Object.entries(tensors)), metadata));
  } else if (ext === '.npy') {
    if (names.length !== 1) throw new SwapformerError('invalid-input', `${file}: a .npy file holds one array; this run has ${names.length} outputs (${names.join(', ')}). Write .safetensors or .json instead.`);
    writeFileAtomic(file, encodeNpy(tensors[names[0]]));
  } else if (ext === '.json') {
    writeFileAtomic(target, (write) => {
      write('{');
      names.forEach((name, i) => {
        const { shape, data } = tensors[name];
        write(`${i ? ',' : ''}${JSON.stringify(name)}:{"shape":${JSON.stringify(shape)},"data":[`);
        for (let at = 0; at < data.length; at += VALUES_PER_CHUNK) {
          const part: string[] = [];
          for (let j = at; j < Math.min(at + VALUES_PER_CHUNK, data.length); j++) part.push(jsonNumber(data[j]));
          write(`${at ? ',' : ''}${part.join(',')}`);
        }
        write(']}');
      });
      for (const [k, v] of Object.entries(extra)) write(`${names.length || k !== Object.keys(extra)[0] ? ',' : ''}${JSON.stringify(k)}:${JSON.stringify(v)}`);
      write('}\n');
    });
  } else {
    throw new SwapformerError('invalid-config', `output file "${file}": unknown extension "${ext}"; use ${OUTPUT_FORMATS.join(', ')}.`);
  }
}
