/**
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N,
 * N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`,
 * then the raw little-endian tensor bytes, offsets relative to the end of the header.
 *
 * The reader trusts nothing: the header length is capped before anything is allocated, the
 * JSON is checked entry by entry, and every tensor's byte range must lie inside the file,
 * match its shape and dtype exactly, and not overlap another tensor. F16 and BF16 are widened
 * to float32 when read; other dtypes are refused by name.
 */
import * as fs from 'node:fs';
import { SwapformerError } from '@swapformer/core';
import { headerLength, hostIsLittleEndian, invalidSafetensors, MAX_SAFETENSORS_HEADER_BYTES, parseSafetensorsHeader, toFloat32, type SafetensorsFile } from './safetensorsFormat';

export { MAX_SAFETENSORS_HEADER_BYTES, SAFETENSORS_DTYPES } from './safetensorsFormat';
export type { SafetensorsDtype, SafetensorsEntry, SafetensorsFile } from './safetensorsFormat';

const bad = invalidSafetensors;

function readExactly(fd: number, file: string, length: number, position: number, what: string, into?: Buffer): Buffer {
  const buffer = into ?? Buffer.allocUnsafe(length); // every byte is overwritten below, or the read fails
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buffer, done, length - done, position + done);
    if (n === 0) throw bad(file, `the file ends inside the ${what} (read ${done} of ${length} bytes at offset ${position}).`);
    done += n;
  }
  return buffer;
}

/**
 * Opens and validates a safetensors file (header only; tensors are read with `read`).
 * Throws `invalid-checkpoint` naming the file and the problem for anything malformed.
 *
 * @example const st = openSafetensors('ckpt/model.safetensors'); const w = st.read('classifier.weight');
 */
export function openSafetensors(file: string, maxHeaderBytes = MAX_SAFETENSORS_HEADER_BYTES): SafetensorsFile {
  let fd: number;
  try {
    // refuse FIFOs and devices before opening: opening a FIFO blocks until a writer appears
    if (!fs.statSync(file).isFile()) throw new SwapformerError('io', `cannot read "${file}": not a regular file.`, { path: file });
    fd = fs.openSync(file, 'r');
  } catch (error) {
    if (SwapformerError.is(error)) throw error;
    throw new SwapformerError('io', `cannot open "${file}": ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}.`, { path: file, cause: error });
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new SwapformerError('io', `cannot read "${file}": not a regular file.`, { path: file });
    const fileSize = stat.size;
    const n = headerLength(file, fileSize < 8 ? new Uint8Array(8) : readExactly(fd, file, 8, 0, 'header length'), fileSize, maxHeaderBytes);
    const { entries, metadata } = parseSafetensorsHeader(file, readExactly(fd, file, n, 8, 'header'), fileSize);
    fs.closeSync(fd);
    fd = -1;
    return {
      file,
      entries,
      metadata,
      read(name: string): Float32Array {
        const entry = entries.get(name);
        if (!entry) throw new SwapformerError('invalid-checkpoint', `"${file}" has no tensor "${name}".`, { path: file });
        const handle = fs.openSync(file, 'r');
        try {
          if (entry.dtype === 'F32' && hostIsLittleEndian()) {
            // straight into the result: no intermediate buffer and copy (the file's bytes are the values)
            const out = new Float32Array(entry.shape.reduce((a, s) => a * s, 1));
            readExactly(handle, file, out.byteLength, entry.begin, `tensor "${name}"`, Buffer.from(out.buffer, out.byteOffset, out.byteLength));
            return out;
          }
          return toFloat32(entry, readExactly(handle, file, entry.end - entry.begin, entry.begin, `tensor "${name}"`));
        } finally {
          fs.closeSync(handle);
        }
      },
    };
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

/** A float32 tensor to write. */
export interface TensorToWrite {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/**
 * Serialises float32 tensors as safetensors bytes (names sorted, header padded to 8 bytes).
 *
 * @example const bytes = encodeSafetensors(new Map([['w', { shape: [2], data: new Float32Array([1, 2]) }]]));
 */
export function encodeSafetensors(tensors: ReadonlyMap<string, TensorToWrite>, metadata: Record<string, string> = { format: 'pt' }): Buffer {
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    const count = t.shape.reduce((a, s) => a * s, 1);
    if (count !== t.data.length) throw new SwapformerError('invalid-input', `tensor "${name}": shape [${t.shape.join(', ')}] holds ${count} values, data has ${t.data.length}.`);
    header[name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + count * 4] };
    offset += count * 4;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((Buffer.byteLength(json) + 8) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const data = tensors.get(name)!.data;
    if (hostIsLittleEndian()) {
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
      at += data.byteLength;
    } else {
      for (let i = 0; i < data.length; i++, at += 4) out.writeFloatLE(data[i], at);
    }
  }
  return out;
}

/** Atomic writes (temp + fsync + rename) are the shared helper of `io/`; re-exported for the callers here. */
export { writeFileAtomic } from '../io/writeFileAtomic';
