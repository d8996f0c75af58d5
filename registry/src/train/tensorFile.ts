/**
 * A minimal safetensors codec for float32 tensors, used for the optimizer state saved next to
 * a checkpoint (`optimizer.safetensors`): an 8-byte little-endian header length, a JSON header
 * `{name: {dtype, shape, data_offsets}}`, then the raw little-endian data.
 */
import * as fs from 'node:fs';
import { SwapformerError } from '@swapformer/core';

export interface HostTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

const MAX_HEADER_BYTES = 64 * 1024 * 1024;

/** Encodes float32 tensors as safetensors bytes (names sorted, 8-byte aligned header). */
export function encodeTensorFile(tensors: ReadonlyMap<string, HostTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const name of names) {
    const t = tensors.get(name)!;
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/** Decodes float32 safetensors bytes written by `encodeTensorFile`, with bounds checks. */
export function decodeTensorFile(bytes: Uint8Array, source = 'tensor file'): Map<string, HostTensor> {
  const fail = (why: string) => new SwapformerError('invalid-checkpoint', `${source}: ${why}`, { path: source });
  if (bytes.length < 8) throw fail('too short for a safetensors header.');
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > bytes.length) throw fail(`header length ${headerLength} does not fit the ${bytes.length}-byte file.`);
  let header: Record<string, { dtype?: string; shape?: number[]; data_offsets?: [number, number] }>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLength)).toString('utf8')) as typeof header;
  } catch (error) {
    throw fail(`header is not JSON: ${(error as Error).message}`);
  }
  const body = bytes.subarray(8 + headerLength);
  const out = new Map<string, HostTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [from, to] = entry.data_offsets ?? [-1, -1];
    const shape = entry.shape ?? [];
    const size = shape.reduce((a, b) => a * b, 1);
    if (entry.dtype !== 'F32') throw fail(`tensor "${name}" has dtype ${entry.dtype}; only F32 is read here.`);
    if (!(from >= 0 && to <= body.length && to - from === size * 4)) throw fail(`tensor "${name}" offsets [${from}, ${to}] do not match shape [${shape.join(', ')}] in a ${body.length}-byte body.`);
    const data = new Float32Array(size);
    new Uint8Array(data.buffer).set(body.subarray(from, to));
    out.set(name, { shape, data });
  }
  return out;
}

/** Writes a tensor file atomically (temp file + rename). */
export function writeTensorFile(file: string, tensors: ReadonlyMap<string, HostTensor>, metadata: Record<string, string> = {}): void {
  fs.writeFileSync(`${file}.tmp`, encodeTensorFile(tensors, metadata));
  fs.renameSync(`${file}.tmp`, file);
}

export function readTensorFile(file: string): Map<string, HostTensor> {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    throw new SwapformerError('invalid-checkpoint', `cannot read "${file}": ${(error as Error).message}`, { path: file, cause: error });
  }
  return decodeTensorFile(bytes, file);
}
