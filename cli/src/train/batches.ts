/**
 * Seeded batches: every batch is a pure function of (seed, step), so a resumed run sees
 * exactly the batches the uninterrupted run would have seen — no RNG state to save.
 *
 * Images: epoch e visits a permutation drawn from `deriveSeed(seed, 'epoch', e)`; the last
 * partial batch of an epoch is dropped. Text: each sequence starts at an offset drawn from
 * `deriveSeed(seed, 'text', step)` (nanoGPT's random windows).
 */
import { createSeededRandom, deriveSeed, SwapformerError } from '@swapformer/core';
import type { ImageSet } from '../data/fashionMnist';

/** Pixel normalisation: Fashion-MNIST's train mean and std on the [0, 1] scale. */
export const FASHION_MNIST_MEAN = 0.286;
export const FASHION_MNIST_STD = 0.353;

export interface ImageAugmentation {
  /** Random translation by up to this many pixels (zero padding), 0 = off. */
  readonly maxShift: number;
  /** Mirror left–right with probability 1/2. */
  readonly flip: boolean;
  /**
   * Random erasing (Zhong et al. 2020): with this probability, one rectangle of 2–25 % of the
   * image (aspect 0.3–3.3) is set to the dataset mean; 0 = off (draws nothing, so runs without
   * it see the same batches as before the option existed).
   */
  readonly erase?: number;
}

export const NO_AUGMENTATION: ImageAugmentation = { maxShift: 0, flip: false, erase: 0 };

/** A rectangle `[y0, y1) × [x0, x1)` to erase, drawn as random erasing does. */
function drawErasedRectangle(rng: ReturnType<typeof createSeededRandom>, h: number, w: number): [number, number, number, number] {
  for (let attempt = 0; attempt < 10; attempt++) {
    const area = h * w * (0.02 + 0.23 * rng.uniform());
    const aspect = Math.exp(Math.log(0.3) + (Math.log(3.3) - Math.log(0.3)) * rng.uniform());
    const eh = Math.round(Math.sqrt(area * aspect));
    const ew = Math.round(Math.sqrt(area / aspect));
    if (eh >= 1 && ew >= 1 && eh <= h && ew <= w) {
      const y0 = rng.int(h - eh + 1);
      const x0 = rng.int(w - ew + 1);
      return [y0, y0 + eh, x0, x0 + ew];
    }
  }
  return [0, 0, 0, 0];
}

/** A Fisher–Yates permutation of 0…n−1 drawn from `seed`. */
export function seededPermutation(n: number, seed: number): Int32Array {
  const rng = createSeededRandom(seed);
  const out = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
}

/** Full batches per epoch (the last partial batch is dropped). */
export function stepsPerEpoch(count: number, batchSize: number): number {
  const steps = Math.floor(count / batchSize);
  if (steps < 1) throw new SwapformerError('invalid-config', `batch size ${batchSize} is larger than the ${count} training examples.`);
  return steps;
}

/**
 * The image indices of batch `step`.
 *
 * @example imageBatchIndices(60000, 128, 7, 0) // the first 128 indices of epoch 0's permutation
 */
export function imageBatchIndices(count: number, batchSize: number, seed: number, step: number, cache?: { epoch: number; perm: Int32Array }): Int32Array {
  const perEpoch = stepsPerEpoch(count, batchSize);
  const epoch = Math.floor(step / perEpoch);
  let perm: Int32Array;
  if (cache && cache.epoch === epoch) perm = cache.perm;
  else {
    perm = seededPermutation(count, deriveSeed(seed, 'epoch', epoch));
    if (cache) {
      cache.epoch = epoch;
      cache.perm = perm;
    }
  }
  const offset = (step % perEpoch) * batchSize;
  return perm.subarray(offset, offset + batchSize);
}

/**
 * Normalised float pixels `[b, 1, h, w]` (as a flat array) of the images at `indices`, with
 * optional augmentation drawn from `augmentSeed`.
 */
export function imagePixels(set: ImageSet, indices: ArrayLike<number>, augmentation: ImageAugmentation = NO_AUGMENTATION, augmentSeed = 0): Float32Array {
  const { height: h, width: w } = set;
  const px = h * w;
  const out = new Float32Array(indices.length * px);
  const background = (0 - FASHION_MNIST_MEAN) / FASHION_MNIST_STD;
  const erase = augmentation.erase ?? 0;
  const augmenting = augmentation.maxShift > 0 || augmentation.flip || erase > 0;
  const rng = augmenting ? createSeededRandom(augmentSeed) : null;
  for (let b = 0; b < indices.length; b++) {
    const src = indices[b] * px;
    let dx = 0;
    let dy = 0;
    let flip = false;
    if (rng) {
      const span = 2 * augmentation.maxShift + 1;
      dx = rng.int(span) - augmentation.maxShift;
      dy = rng.int(span) - augmentation.maxShift;
      flip = augmentation.flip && rng.uniform() < 0.5;
    }
    const base = b * px;
    for (let y = 0; y < h; y++) {
      const sy = y - dy;
      for (let x = 0; x < w; x++) {
        const sx0 = x - dx;
        const sx = flip ? w - 1 - sx0 : sx0;
        out[base + y * w + x] = sy < 0 || sy >= h || sx < 0 || sx >= w ? background : (set.images[src + sy * w + sx] / 255 - FASHION_MNIST_MEAN) / FASHION_MNIST_STD;
      }
    }
    // Drawn only when erasing is on, after the shift and flip draws, so other runs are unchanged.
    if (rng && erase > 0 && rng.uniform() < erase) {
      const [y0, y1, x0, x1] = drawErasedRectangle(rng, h, w);
      for (let y = y0; y < y1; y++) out.fill(0, base + y * w + x0, base + y * w + x1);
    }
  }
  return out;
}

/** The labels at `indices` as int32. */
export function imageLabels(set: ImageSet, indices: ArrayLike<number>): Int32Array {
  return Int32Array.from({ length: indices.length }, (_, i) => set.labels[indices[i]]);
}

/**
 * `batchSize` windows of `length + 1` tokens at seeded random offsets: inputs are the first
 * `length`, targets the last `length` of each window. Flat `[b, length]` arrays.
 *
 * @example const { inputs, targets } = textBatch(tokens, 16, 512, seed, step);
 */
export function textBatch(tokens: Int32Array, batchSize: number, length: number, seed: number, step: number): { inputs: Int32Array; targets: Int32Array } {
  const span = tokens.length - length - 1;
  if (span < 1) throw new SwapformerError('invalid-config', `the training text has ${tokens.length} tokens, too few for windows of ${length + 1}.`);
  const rng = createSeededRandom(deriveSeed(seed, 'text', step));
  const inputs = new Int32Array(batchSize * length);
  const targets = new Int32Array(batchSize * length);
  for (let b = 0; b < batchSize; b++) {
    const start = rng.int(span + 1);
    inputs.set(tokens.subarray(start, start + length), b * length);
    targets.set(tokens.subarray(start + 1, start + length + 1), b * length);
  }
  return { inputs, targets };
}

/**
 * Consecutive non-overlapping windows over held-out text for evaluation (deterministic):
 * window i covers tokens [i·length, (i+1)·length + 1).
 */
export function textEvalWindows(tokens: Int32Array, length: number, maxWindows = Infinity): Array<{ inputs: Int32Array; targets: Int32Array }> {
  const out: Array<{ inputs: Int32Array; targets: Int32Array }> = [];
  for (let start = 0; start + length + 1 <= tokens.length && out.length < maxWindows; start += length) {
    out.push({ inputs: tokens.slice(start, start + length), targets: tokens.slice(start + 1, start + length + 1) });
  }
  return out;
}
