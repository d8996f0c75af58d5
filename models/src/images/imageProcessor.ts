import * as fs from 'node:fs';
import * as path from 'node:path';
import { SwapformerError } from '@swapformer/core';
import { readJsonFile } from '@swapformer/registry';
import type { RasterImage } from './decodeImage';
import { resizeImage } from './resizeImage';

export const PREPROCESSOR_FILE = 'preprocessor_config.json';

/** The ViTImageProcessor fields of a `preprocessor_config.json`, with transformers' defaults. */
export interface ImageProcessorConfig {
  readonly doResize: boolean;
  readonly size: { readonly height: number; readonly width: number };
  /** PIL resample number (2 = BILINEAR, transformers' ViT default). */
  readonly resample: number;
  readonly doRescale: boolean;
  readonly rescaleFactor: number;
  readonly doNormalize: boolean;
  readonly imageMean: readonly number[];
  readonly imageStd: readonly number[];
}

type Json = Record<string, unknown>;
const IMAGENET_STANDARD = [0.5, 0.5, 0.5]; // ViTImageProcessor's default mean and std

function field<T>(json: Json, key: string, check: (v: unknown) => v is T, fallback: T, file: string, expected: string): T {
  if (!(key in json) || json[key] === null) return fallback;
  if (!check(json[key])) throw new SwapformerError('invalid-config', `${file}: "${key}" must be ${expected}, got ${JSON.stringify(json[key])}.`, { path: file });
  return json[key] as T;
}

const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isPositive = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0;
const isNumbers = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x));

function sizeOf(json: Json, file: string, fallback: number): { height: number; width: number } {
  const size = json.size;
  const pixels = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
  if (size === undefined || size === null) return { height: fallback, width: fallback };
  if (pixels(size)) return { height: size, width: size }; // older configs store one number
  if (typeof size === 'object' && pixels((size as Json).height) && pixels((size as Json).width)) return { height: (size as Json).height as number, width: (size as Json).width as number };
  throw new SwapformerError('unsupported', `${file}: "size" ${JSON.stringify(size)} is not supported; ViTImageProcessor's {"height": h, "width": w} (or one number) is.`, { path: file });
}

/**
 * Reads the image-processor settings of a checkpoint folder (`preprocessor_config.json`, the
 * ViTImageProcessor fields); without the file, transformers' ViT defaults at the model's size.
 *
 * @example const processor = readImageProcessorConfig('ckpt', 224);
 */
export function readImageProcessorConfig(dir: string, imageSize: number): ImageProcessorConfig {
  const file = path.join(dir, PREPROCESSOR_FILE);
  const json = (fs.existsSync(file) ? readJsonFile(file) : {}) as Json;
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new SwapformerError('invalid-config', `${file}: must be a JSON object.`, { path: file });
  return {
    doResize: field(json, 'do_resize', isBool, true, file, 'true or false'),
    size: sizeOf(json, file, imageSize),
    resample: field(json, 'resample', (v): v is number => Number.isSafeInteger(v), 2, file, 'a PIL resample number'),
    doRescale: field(json, 'do_rescale', isBool, true, file, 'true or false'),
    rescaleFactor: field(json, 'rescale_factor', isPositive, 1 / 255, file, 'a positive number'),
    doNormalize: field(json, 'do_normalize', isBool, true, file, 'true or false'),
    imageMean: field(json, 'image_mean', isNumbers, IMAGENET_STANDARD, file, 'a list of numbers'),
    imageStd: field(json, 'image_std', isNumbers, IMAGENET_STANDARD, file, 'a list of numbers'),
  };
}

/** RGB → one luminance channel with PIL's `convert('L')` integer weights (ITU-R 601). */
function toLuminance(image: RasterImage): RasterImage {
  const n = image.width * image.height;
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = (image.data[3 * i] * 19595 + image.data[3 * i + 1] * 38470 + image.data[3 * i + 2] * 7471 + 0x8000) >>> 16;
  return { width: image.width, height: image.height, channels: 1, data };
}

function perChannel(values: readonly number[], channels: number, name: string): readonly number[] {
  if (values.length === channels) return values;
  if (values.length === 1) return Array(channels).fill(values[0]);
  throw new SwapformerError('invalid-config', `${PREPROCESSOR_FILE}: "${name}" has ${values.length} values, the model takes ${channels} channels.`);
}

/**
 * An RGB image as the model's `pixel_values` `[channels, height, width]`, as ViTImageProcessor
 * makes them: resize (PIL filters), rescale, normalize. A one-channel model gets the luminance
 * (PIL `convert('L')`), so greyscale files stay exact. The image must end at the model's size.
 *
 * @example const pixels = preprocessImage(decodeImageFile('x.png'), config, { channels: 1, height: 28, width: 28 });
 */
export function preprocessImage(image: RasterImage, config: ImageProcessorConfig, model: { channels: number; height: number; width: number }): Float32Array {
  if (model.channels !== 1 && model.channels !== 3) throw new SwapformerError('unsupported', `images feed 1- or 3-channel models; this one takes ${model.channels} channels.`);
  let img = model.channels === 1 ? toLuminance(image) : image;
  if (config.doResize) img = resizeImage(img, config.size.width, config.size.height, config.resample);
  if (img.width !== model.width || img.height !== model.height) {
    throw new SwapformerError('invalid-input', `the image is ${img.width}×${img.height} after preprocessing, the model takes ${model.width}×${model.height}.\n  ${config.doResize ? `Set "size" in ${PREPROCESSOR_FILE} to {"height": ${model.height}, "width": ${model.width}}` : `Resize the image, or set "do_resize": true in ${PREPROCESSOR_FILE}`}.`);
  }
  const c = model.channels;
  const mean = config.doNormalize ? perChannel(config.imageMean, c, 'image_mean') : [];
  const std = config.doNormalize ? perChannel(config.imageStd, c, 'image_std') : [];
  const plane = img.width * img.height;
  const out = new Float32Array(c * plane);
  for (let ch = 0; ch < c; ch++) {
    for (let p = 0; p < plane; p++) {
      let v = img.data[p * c + ch];
      if (config.doRescale) v = Math.fround(v * config.rescaleFactor); // transformers rescales, then casts to float32
      if (config.doNormalize) v = (v - mean[ch]) / std[ch];
      out[ch * plane + p] = v;
    }
  }
  return out;
}
