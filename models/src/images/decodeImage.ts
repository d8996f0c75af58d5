import * as fs from 'node:fs';
import { SwapformerError } from '@swapformer/core';

/** An 8-bit image, channels interleaved (row-major, `channels` values per pixel). */
export interface RasterImage {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: Uint8Array;
}

/** Decoded images above this many pixels are refused before their pixels are allocated. */
const MAX_MEGAPIXELS = 100;

const isPng = (b: Uint8Array) => b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;
const isJpeg = (b: Uint8Array) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;

/** RGBA → RGB: the alpha channel is dropped, as PIL's `convert('RGB')` does. */
function dropAlpha(rgba: Uint8Array, width: number, height: number): RasterImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; j < data.length; i += 4, j += 3) {
    data[j] = rgba[i];
    data[j + 1] = rgba[i + 1];
    data[j + 2] = rgba[i + 2];
  }
  return { width, height, channels: 3, data };
}

/**
 * Decodes PNG (any bit depth and colour type, through `pngjs`) and baseline/progressive JPEG
 * (through `jpeg-js`) to 8-bit RGB; both are maintained pure-JS decoders, so nothing native is
 * installed. Anything else, or a file that does not decode, is one `invalid-input` error naming it.
 *
 * @example const image = decodeImageFile('shirt.png'); image.width
 */
export function decodeImageFile(file: string): RasterImage {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    throw new SwapformerError('io', `cannot read image "${file}": ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}.`, { path: file, cause: error });
  }
  return decodeImage(bytes, file);
}

/** Like `decodeImageFile`, from bytes; `name` is used in errors. */
export function decodeImage(bytes: Uint8Array, name = 'image'): RasterImage {
  const fail = (why: string, cause?: unknown) => new SwapformerError('invalid-input', `"${name}" is not a decodable image: ${why}.\n  Supported: PNG and JPEG files.`, { path: name, cause });
  try {
    if (isPng(bytes)) {
      // IHDR comes first: refuse absurd sizes before pngjs allocates width × height × 4 bytes
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (bytes.length >= 24 && view.getUint32(16) * view.getUint32(20) > MAX_MEGAPIXELS * 1e6) throw new Error(`${view.getUint32(16)} × ${view.getUint32(20)} pixels is more than ${MAX_MEGAPIXELS} megapixels`);
      const { PNG } = require('pngjs') as typeof import('pngjs');
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)); // always 8-bit RGBA out
      return dropAlpha(png.data, png.width, png.height);
    }
    if (isJpeg(bytes)) {
      const jpeg = require('jpeg-js') as typeof import('jpeg-js');
      const image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_MEGAPIXELS, maxMemoryUsageInMB: 1024 });
      return dropAlpha(image.data, image.width, image.height);
    }
  } catch (error) {
    throw fail(`${(error as Error).message.replace(/\.$/, '')}`, error);
  }
  throw fail(bytes.length === 0 ? 'the file is empty' : 'its first bytes are neither a PNG nor a JPEG signature');
}
