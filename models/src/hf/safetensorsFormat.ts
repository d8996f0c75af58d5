/**
 * The safetensors format without file IO (works in Node and in a page): header checks and
 * float32 conversion over bytes in memory. `safetensors.ts` reads files with these; a page
 * hands in the bytes it fetched (`readSafetensorsBytes`).
 */
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

/** Asked of the engine when a tensor is converted, not at import (a module must not probe its platform on load). */
export function hostIsLittleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}

export function invalidSafetensors(file: string, message: string, cause?: unknown): SwapformerError {
  return new SwapformerError('invalid-checkpoint', `"${file}" is not a valid safetensors file: ${message}`, { path: file, cause });
}

function checkEntry(file: string, name: string, raw: unknown, dataStart: number, fileSize: number): SafetensorsEntry {
  const bad = (message: string) => invalidSafetensors(file, message);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad(`header entry "${name}" must be an object.`);
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== 'string') throw bad(`tensor "${name}" has no dtype.`);
  if (!(dtype in SAFETENSORS_DTYPES)) {
    throw new SwapformerError(
      'invalid-checkpoint',
      `"${file}": tensor "${name}" has dtype ${dtype}, which this loader does not read.\n  Supported dtypes: ${Object.keys(SAFETENSORS_DTYPES).join(', ')} (all converted to float32).\n  Convert the checkpoint first, e.g. model.to(torch.float32).save_pretrained(dir).`,
      { path: file },
    );
  }
  if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && (s as number) >= 0)) {
    throw bad(`tensor "${name}" has an invalid shape ${JSON.stringify(shape)}.`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)) {
    throw bad(`tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}.`);
  }
  const [b, e] = offsets as [number, number];
  const count = (shape as number[]).reduce((a, s) => a * s, 1);
  const bytes = count * SAFETENSORS_DTYPES[dtype as SafetensorsDtype];
  if (e < b || e - b !== bytes) {
    throw bad(`tensor "${name}" (${dtype} [${(shape as number[]).join(', ')}]) needs ${bytes} bytes but data_offsets [${b}, ${e}] span ${e - b}.`);
  }
  if (dataStart + e > fileSize) {
    throw bad(`tensor "${name}" ends at byte ${dataStart + e}, past the end of the file (${fileSize} bytes); the file is truncated or corrupted.`);
  }
  return { name, dtype: dtype as SafetensorsDtype, shape: shape as number[], begin: dataStart + b, end: dataStart + e };
}

/** The header length of the first 8 bytes, checked against the cap and the file size. */
export function headerLength(file: string, first8: Uint8Array, fileSize: number, maxHeaderBytes: number): number {
  if (fileSize < 8) throw invalidSafetensors(file, `it has ${fileSize} bytes, fewer than the 8-byte header length.`);
  const length = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (length > BigInt(maxHeaderBytes)) throw invalidSafetensors(file, `the header claims ${length} bytes, more than the ${maxHeaderBytes}-byte limit.`);
  if (length + 8n > BigInt(fileSize)) throw invalidSafetensors(file, `the header claims ${length} bytes but the file has only ${fileSize - 8} after the length; it is truncated.`);
  return Number(length);
}

/** Parses and checks the JSON header (`headerBytes`, after the 8-byte length) of a file of `fileSize` bytes. */
export function parseSafetensorsHeader(file: string, headerBytes: Uint8Array, fileSize: number): { entries: Map<string, SafetensorsEntry>; metadata: Record<string, string> } {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(headerBytes));
  } catch (error) {
    throw invalidSafetensors(file, `the header is not valid JSON (${(error as Error).message}).`, error);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw invalidSafetensors(file, 'the header must be a JSON object.');
  const dataStart = 8 + headerBytes.length;
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || !Object.values(raw).every((v) => typeof v === 'string')) {
        throw invalidSafetensors(file, '__metadata__ must map strings to strings.');
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    entries.set(name, checkEntry(file, name, raw, dataStart, fileSize));
  }
  const sorted = [...entries.values()].filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].begin < sorted[i - 1].end) throw invalidSafetensors(file, `tensors "${sorted[i - 1].name}" and "${sorted[i].name}" overlap in the data section.`);
  }
  return { entries, metadata };
}

/** Converts one tensor's little-endian bytes to float32 (F16/BF16 widened). */
export function toFloat32(entry: SafetensorsEntry, bytes: Uint8Array): Float32Array {
  const count = entry.shape.reduce((a, s) => a * s, 1);
  const out = new Float32Array(count);
  const little = hostIsLittleEndian();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (entry.dtype === 'F32') {
    if (little && bytes.byteOffset % 4 === 0) out.set(new Float32Array(bytes.buffer, bytes.byteOffset, count));
    else for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
    return out;
  }
  const bits = new Uint32Array(out.buffer);
  // a typed view reads much faster than a DataView per element (BF16/F16 checkpoints are large)
  const halves = little && bytes.byteOffset % 2 === 0 ? new Uint16Array(bytes.buffer, bytes.byteOffset, count) : undefined;
  const half = (i: number) => (halves ? halves[i] : view.getUint16(i * 2, true));
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
 * A safetensors file held in memory (fetched, or picked by the user): checked like a file on
 * disk, so a truncated download fails here naming the tensor that runs past the end.
 *
 * @example const st = readSafetensorsBytes(new Uint8Array(await (await fetch(url)).arrayBuffer()), url);
 */
export function readSafetensorsBytes(bytes: Uint8Array, label: string, maxHeaderBytes = MAX_SAFETENSORS_HEADER_BYTES): SafetensorsFile {
  const n = headerLength(label, bytes.subarray(0, 8), bytes.byteLength, maxHeaderBytes);
  const { entries, metadata } = parseSafetensorsHeader(label, bytes.subarray(8, 8 + n), bytes.byteLength);
  return {
    file: label,
    entries,
    metadata,
    read(name: string): Float32Array {
      const entry = entries.get(name);
      if (!entry) throw new SwapformerError('invalid-checkpoint', `"${label}" has no tensor "${name}".`, { path: label });
      return toFloat32(entry, bytes.subarray(entry.begin, entry.end));
    },
  };
}
