import { SwapformerError } from '@swapformer/core';
import type { RasterImage } from './decodeImage';

/** PIL's resampling filters by the numbers `preprocessor_config.json` stores (`resample`). */
const FILTERS: Readonly<Record<number, { name: string; support: number; weight: (x: number) => number }>> = {
  1: { name: 'LANCZOS', support: 3, weight: (x) => (x > -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
  2: { name: 'BILINEAR', support: 1, weight: (x) => Math.max(0, 1 - Math.abs(x)) },
  3: { name: 'BICUBIC', support: 2, weight: bicubic },
  4: { name: 'BOX', support: 0.5, weight: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  5: { name: 'HAMMING', support: 1, weight: hamming },
};

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

function bicubic(x: number): number {
  const a = -0.5; // PIL's (and Keys') choice
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

function hamming(x: number): number {
  const t = Math.abs(x);
  if (t === 0) return 1;
  if (t >= 1) return 0;
  const px = Math.PI * t;
  return (Math.sin(px) / px) * (0.54 + 0.46 * Math.cos(px));
}

/** PIL keeps its 8-bit coefficients as fixed point with this many fraction bits. */
const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;

/** Per output pixel: the first input index and the fixed-point weights of the inputs it mixes. */
function coefficients(inSize: number, outSize: number, filter: (typeof FILTERS)[number]): Array<{ first: number; weights: number[] }> {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1); // downscaling widens the filter: antialiasing
  const support = filter.support * filterScale;
  const out: Array<{ first: number; weights: number[] }> = [];
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const first = Math.max(Math.trunc(center - support + 0.5), 0);
    const last = Math.min(Math.trunc(center + support + 0.5), inSize);
    const raw: number[] = [];
    for (let i = first; i < last; i++) raw.push(filter.weight((i - center + 0.5) / filterScale));
    const total = raw.reduce((a, w) => a + w, 0);
    const weights = raw.map((w) => (total === 0 ? w : w / total)).map((w) => Math.trunc(w * ONE + (w < 0 ? -0.5 : 0.5)));
    out.push({ first, weights });
  }
  return out;
}

const clip8 = (sum: number) => (sum >= ONE * 256 ? 255 : sum <= 0 ? 0 : Math.floor(sum / ONE));

/** One separable pass along the x (`horizontal`) or y axis, 8-bit in and out like PIL's. */
function pass(image: RasterImage, outSize: number, horizontal: boolean, filter: (typeof FILTERS)[number]): RasterImage {
  const { width, height, channels: c, data } = image;
  const inSize = horizontal ? width : height;
  const coeffs = coefficients(inSize, outSize, filter);
  const outW = horizontal ? outSize : width;
  const outH = horizontal ? height : outSize;
  const out = new Uint8Array(outW * outH * c);
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const { first, weights } = coeffs[horizontal ? x : y];
      for (let ch = 0; ch < c; ch++) {
        let sum = ONE / 2; // rounds the final shift to nearest
        for (let k = 0; k < weights.length; k++) {
          const src = horizontal ? (y * width + first + k) * c + ch : ((first + k) * width + x) * c + ch;
          sum += data[src] * weights[k];
        }
        out[(y * outW + x) * c + ch] = clip8(sum);
      }
    }
  }
  return { width: outW, height: outH, channels: c, data: out };
}

/**
 * Resizes like PIL's `Image.resize(size, resample)` on an 8-bit image — what transformers'
 * (slow) image processors call —: separable convolution with the filter widened by the scale
 * when shrinking, fixed-point weights, horizontal pass then vertical, each rounded to 8 bits.
 * `resample` is PIL's number (1 LANCZOS, 2 BILINEAR, 3 BICUBIC, 4 BOX, 5 HAMMING).
 *
 * @example resizeImage(image, 224, 224, 2)
 */
export function resizeImage(image: RasterImage, width: number, height: number, resample: number): RasterImage {
  const filter = FILTERS[resample];
  if (!filter) {
    const known = Object.entries(FILTERS).map(([k, f]) => `${k} (${f.name})`).join(', ');
    throw new SwapformerError('unsupported', `resample ${JSON.stringify(resample)} is not supported; supported: ${known}.`);
  }
  const horizontal = width !== image.width ? pass(image, width, true, filter) : image;
  return height !== image.height ? pass(horizontal, height, false, filter) : horizontal;
}
