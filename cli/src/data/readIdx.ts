/**
 * IDX files (the MNIST / Fashion-MNIST container): a big-endian header, then raw elements.
 *
 *   bytes 0–1  zero
 *   byte  2    element type (0x08 = uint8, the only type these data sets use)
 *   byte  3    number of dimensions
 *   then one big-endian uint32 per dimension, then the elements in row-major order.
 *
 * So images are magic 0x00000803 with dims [n, rows, cols] and labels 0x00000801 with [n].
 * Files may be gzipped (detected by the gzip magic, not the name). Every size is checked
 * before anything is allocated, and every failure is a `SwapformerError` of kind
 * 'invalid-data' naming the file and what was wrong.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { SwapformerError } from '@swapformer/core';

/** A decoded IDX array of unsigned bytes. */
export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

export interface ReadIdxOptions {
  /** Required number of dimensions (1 for labels, 3 for images). */
  readonly rank?: number;
  /** Required sizes per dimension; `null` leaves one free (e.g. `[null, 28, 28]`). */
  readonly dims?: ReadonlyArray<number | null>;
  /** Refuse decoded payloads larger than this (default 256 MiB). */
  readonly maxBytes?: number;
}

/** The default bound on a decoded IDX file: the 60k Fashion-MNIST train images are 47 MB. */
export const MAX_IDX_BYTES = 256 * 1024 * 1024;

const UINT8_TYPE = 0x08;
const TYPE_NAMES: Record<number, string> = { 0x08: 'uint8', 0x09: 'int8', 0x0b: 'int16', 0x0c: 'int32', 0x0d: 'float32', 0x0e: 'float64' };

function invalid(source: string, message: string, cause?: unknown): SwapformerError {
  return new SwapformerError('invalid-data', `${source}: ${message}`, { path: source, cause });
}

/** True when the bytes start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Parses IDX bytes (already decompressed). `source` names the data in error messages.
 *
 * @example const labels = parseIdx(bytes, 'labels.idx', { rank: 1 }); // labels.dims = [n]
 */
export function parseIdx(bytes: Uint8Array, source = 'IDX data', options: ReadIdxOptions = {}): IdxArray {
  if (bytes.length < 4) throw invalid(source, `too short for an IDX header (${bytes.length} bytes; need at least 4).`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const type = bytes[2];
  const rank = bytes[3];
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw invalid(source, `bad magic number 0x${magic.toString(16).padStart(8, '0')}: an IDX file starts with two zero bytes (images 0x00000803, labels 0x00000801).`);
  }
  if (type !== UINT8_TYPE) {
    throw invalid(source, `element type 0x${type.toString(16).padStart(2, '0')} (${TYPE_NAMES[type] ?? 'unknown'}) is not supported; only uint8 (0x08) IDX files are read.`);
  }
  if (rank < 1 || rank > 4) throw invalid(source, `has ${rank} dimensions; 1 to 4 are supported.`);
  if (options.rank !== undefined && rank !== options.rank) {
    throw invalid(source, `has ${rank} dimension(s) (magic 0x${magic.toString(16).padStart(8, '0')}), expected ${options.rank} (magic 0x0000080${options.rank}).`);
  }
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) throw invalid(source, `header needs ${headerBytes} bytes for ${rank} dimensions, the data has ${bytes.length}.`);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  if (options.dims) {
    const want = options.dims;
    const bad = want.length !== rank || want.some((w, i) => w !== null && w !== dims[i]);
    if (bad) throw invalid(source, `has dims [${dims.join(', ')}], expected [${want.map((w) => (w === null ? 'any' : w)).join(', ')}].`);
  }
  const maxBytes = options.maxBytes ?? MAX_IDX_BYTES;
  const payload = dims.reduce((a, b) => a * b, 1);
  if (payload > maxBytes) throw invalid(source, `dims [${dims.join(', ')}] mean ${payload} bytes, over the limit of ${maxBytes}.`);
  if (bytes.length - headerBytes !== payload) {
    throw invalid(source, `dims [${dims.join(', ')}] need ${payload} data bytes after the ${headerBytes}-byte header, the file has ${bytes.length - headerBytes} (truncated or padded).`);
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

/**
 * Reads an IDX file, gzipped or raw, with header checks and a bounded decompression.
 *
 * @example const images = readIdxFile('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz', { dims: [null, 28, 28] });
 */
export function readIdxFile(file: string, options: ReadIdxOptions = {}): IdxArray {
  const maxBytes = options.maxBytes ?? MAX_IDX_BYTES;
  let raw: Buffer;
  try {
    // size and kind before reading: a FIFO would block forever, a huge file would be read whole
    const stat = fs.statSync(file);
    if (!stat.isFile()) throw new SwapformerError('io', `cannot read "${file}": not a regular file.`, { path: file });
    // raw: header + payload; gzip of it: deflate adds at most ~0.1% plus a few headers
    const maxFileBytes = maxBytes + 20 + Math.ceil(maxBytes / 1000) + 1024;
    if (stat.size > maxFileBytes) throw invalid(file, `the file is ${stat.size} bytes, over the limit of ${maxFileBytes} for at most ${maxBytes} bytes of data.`);
    raw = fs.readFileSync(file);
  } catch (error) {
    if (SwapformerError.is(error)) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new SwapformerError('io', `cannot read "${file}": ${code === 'ENOENT' ? 'no such file' : (error as Error).message}.`, { path: file, cause: error });
  }
  let bytes: Uint8Array = raw;
  if (isGzip(raw)) {
    try {
      // The header is at most 20 bytes; anything past maxBytes + header is refused while inflating.
      bytes = zlib.gunzipSync(raw, { maxOutputLength: maxBytes + 20 });
    } catch (error) {
      throw invalid(file, `gzip data could not be decompressed within ${maxBytes + 20} bytes: ${(error as Error).message}`, error);
    }
  }
  return parseIdx(bytes, file, { ...options, maxBytes });
}

/**
 * Encodes a uint8 array as IDX bytes (used to write the committed test subset).
 *
 * @example fs.writeFileSync('labels.idx', encodeIdx([3], Uint8Array.of(1, 2, 3)));
 */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const payload = dims.reduce((a, b) => a * b, 1);
  if (dims.length < 1 || dims.length > 4 || payload !== data.length) {
    throw new SwapformerError('invalid-data', `cannot encode IDX: dims [${dims.join(', ')}] hold ${payload} elements, the data has ${data.length}.`);
  }
  const out = new Uint8Array(4 + 4 * dims.length + payload);
  const view = new DataView(out.buffer);
  view.setUint32(0, (UINT8_TYPE << 8) | dims.length, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}
