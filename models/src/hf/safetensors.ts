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
import * as os from 'node:os';
import { SwapformerError } from '@swapformer/core';

/** Headers larger than this are refused before they are read (real headers are a few hundred KB). */
export const MAX_SAFETENSORS_HEADER_BYTES = 100 * 1024 * 1024;

/** dtypes this reader converts to float32, with their sizes in bytes. */
export const SAFETENSORS_DTYPES = { F32: 4, F16: 2, BF16: 2 } as const;
export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPES;

/** One tensor entry of a header, checked. */
export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Absolute byte range in the file. */
  readonly begin: number;
  readonly end: number;
}

/** A parsed safetensors file: its entries (by name) and metadata; tensors are read on demand. */
export interface SafetensorsFile {
  readonly file: string;
  readonly entries: ReadonlyMap<string, SafetensorsEntry>;
  readonly metadata: Readonly<Record<string, string>>;
  /** Reads one tensor as float32 (F16/BF16 widened). */
  read(name: string): Float32Array;
}

const LITTLE_ENDIAN = os.endianness() === 'LE';

function bad(file: string, message: string, cause?: unknown): SwapformerError {
  return new SwapformerError('invalid-checkpoint', `"${file}" is not a valid safetensors file: ${message}`, { path: file, cause });
}

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

function checkEntry(file: string, name: string, raw: unknown, dataStart: number, fileSize: number): SafetensorsEntry {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad(file, `header entry "${name}" must be an object.`);
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== 'string') throw bad(file, `tensor "${name}" has no dtype.`);
  if (!(dtype in SAFETENSORS_DTYPES)) {
    throw new SwapformerError(
      'invalid-checkpoint',
      `"${file}": tensor "${name}" has dtype ${dtype}, which this loader does not read.\n  Supported dtypes: ${Object.keys(SAFETENSORS_DTYPES).join(', ')} (all converted to float32).\n  Convert the checkpoint first, e.g. model.to(torch.float32).save_pretrained(dir).`,
      { path: file },
    );
  }
  if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && (s as number) >= 0)) {
    throw bad(file, `tensor "${name}" has an invalid shape ${JSON.stringify(shape)}.`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)) {
    throw bad(file, `tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}.`);
  }
  const [b, e] = offsets as [number, number];
  const count = (shape as number[]).reduce((a, s) => a * s, 1);
  const bytes = count * SAFETENSORS_DTYPES[dtype as SafetensorsDtype];
  if (e < b || e - b !== bytes) {
    throw bad(file, `tensor "${name}" (${dtype} [${(shape as number[]).join(', ')}]) needs ${bytes} bytes but data_offsets [${b}, ${e}] span ${e - b}.`);
  }
  if (dataStart + e > fileSize) {
    throw bad(file, `tensor "${name}" ends at byte ${dataStart + e}, past the end of the file (${fileSize} bytes); the file is truncated or corrupted.`);
  }
  return { name, dtype: dtype as SafetensorsDtype, shape: shape as number[], begin: dataStart + b, end: dataStart + e };
}

function toFloat32(entry: SafetensorsEntry, bytes: Buffer): Float32Array {
  const count = entry.shape.reduce((a, s) => a * s, 1);
  const out = new Float32Array(count);
  if (entry.dtype === 'F32') {
    if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) out.set(new Float32Array(bytes.buffer, bytes.byteOffset, count));
    else for (let i = 0; i < count; i++) out[i] = bytes.readFloatLE(i * 4);
    return out;
  }
  const bits = new Uint32Array(out.buffer);
  // a typed view reads much faster than readUInt16LE per element (BF16/F16 checkpoints are large)
  const halves = LITTLE_ENDIAN && bytes.byteOffset % 2 === 0 ? new Uint16Array(bytes.buffer, bytes.byteOffset, count) : undefined;
  const half = (i: number) => (halves ? halves[i] : bytes.readUInt16LE(i * 2));
  if (entry.dtype === 'BF16') {
    // bfloat16 is the upper half of a float32
    if (halves) for (let i = 0; i < count; i++) bits[i] = halves[i] << 16;
    else for (let i = 0; i < count; i++) bits[i] = half(i) << 16;
    return out;
  }
  for (let i = 0; i < count; i++) {
    const h = half(i);
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) {
      out[i] = (sign ? -1 : 1) * frac * 2 ** -24; // zero or subnormal
    } else if (exp === 31) {
      bits[i] = sign | 0x7f800000 | (frac << 13); // inf / nan
    } else {
      bits[i] = sign | ((exp + 112) << 23) | (frac << 13);
    }
  }
  return out;
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
    if (fileSize < 8) throw bad(file, `it has ${fileSize} bytes, fewer than the 8-byte header length.`);
    const lengthBytes = readExactly(fd, file, 8, 0, 'header length');
    const headerLength = lengthBytes.readBigUInt64LE(0);
    if (headerLength > BigInt(maxHeaderBytes)) throw bad(file, `the header claims ${headerLength} bytes, more than the ${maxHeaderBytes}-byte limit.`);
    if (headerLength + 8n > BigInt(fileSize)) throw bad(file, `the header claims ${headerLength} bytes but the file has only ${fileSize - 8} after the length; it is truncated.`);
    const n = Number(headerLength);
    const text = readExactly(fd, file, n, 8, 'header').toString('utf8');
    let header: unknown;
    try {
      header = JSON.parse(text);
    } catch (error) {
      throw bad(file, `the header is not valid JSON (${(error as Error).message}).`, error);
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad(file, 'the header must be a JSON object.');
    const dataStart = 8 + n;
    const entries = new Map<string, SafetensorsEntry>();
    let metadata: Record<string, string> = {};
    for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') {
        if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || !Object.values(raw).every((v) => typeof v === 'string')) {
          throw bad(file, '__metadata__ must map strings to strings.');
        }
        metadata = raw as Record<string, string>;
        continue;
      }
      entries.set(name, checkEntry(file, name, raw, dataStart, fileSize));
    }
    const sorted = [...entries.values()].filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i].begin < sorted[i - 1].end) throw bad(file, `tensors "${sorted[i - 1].name}" and "${sorted[i].name}" overlap in the data section.`);
    }
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
          if (entry.dtype === 'F32' && LITTLE_ENDIAN) {
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
    if (LITTLE_ENDIAN) {
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
