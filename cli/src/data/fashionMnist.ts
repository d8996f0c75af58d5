/**
 * Fashion-MNIST (Zalando, MIT): 28×28 grey images of 10 clothing classes.
 *
 * The full set comes from the Debian package `dataset-fashion-mnist` (training needs it);
 * the committed balanced test subset under `data/fashion-mnist/` is what `npm start` and the
 * tests read, so neither needs an apt step.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SwapformerError } from '@swapformer/core';
import { readIdxFile } from './readIdx';

/** Where `apt-get install -y dataset-fashion-mnist` puts the files. */
export const FASHION_MNIST_APT_DIR = '/usr/share/datasets/fashion-mnist';

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;

export const IMAGE_SIZE = 28;

/** Images as bytes `[count, 28, 28]` with their labels (0–9). */
export interface ImageSet {
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
}

/** File names of a split: the apt package's, or the committed subset's. */
export function fashionMnistFiles(dir: string, split: 'train' | 'test' | string): { images: string; labels: string } {
  const prefix = split === 'test' ? 't10k' : split;
  return { images: path.join(dir, `${prefix}-images-idx3-ubyte.gz`), labels: path.join(dir, `${prefix}-labels-idx1-ubyte.gz`) };
}

/**
 * Reads an image set from IDX files and checks that they agree (same count, labels 0–9).
 *
 * @example const test = readImageSet('data/fashion-mnist/test-subset-1000-images-idx3-ubyte.gz', 'data/fashion-mnist/test-subset-1000-labels-idx1-ubyte.gz');
 */
export function readImageSet(imagesFile: string, labelsFile: string): ImageSet {
  const images = readIdxFile(imagesFile, { dims: [null, IMAGE_SIZE, IMAGE_SIZE] });
  const labels = readIdxFile(labelsFile, { rank: 1 });
  if (images.dims[0] !== labels.dims[0]) {
    throw new SwapformerError('invalid-data', `${imagesFile} holds ${images.dims[0]} images but ${labelsFile} holds ${labels.dims[0]} labels; they must be the same split.`, { path: labelsFile });
  }
  const bad = labels.data.findIndex((l) => l >= FASHION_MNIST_CLASSES.length);
  if (bad >= 0) throw new SwapformerError('invalid-data', `${labelsFile}: label ${labels.data[bad]} at index ${bad} is outside 0–9.`, { path: labelsFile });
  return { count: images.dims[0], height: IMAGE_SIZE, width: IMAGE_SIZE, images: images.data, labels: labels.data };
}

/**
 * Loads a split of the full set installed by apt, with a clear message when it is missing.
 *
 * @example const train = loadFashionMnist('train'); // 60,000 images
 */
export function loadFashionMnist(split: 'train' | 'test', dir = FASHION_MNIST_APT_DIR): ImageSet {
  const files = fashionMnistFiles(dir, split);
  if (!fs.existsSync(files.images) || !fs.existsSync(files.labels)) {
    throw new SwapformerError('io', `Fashion-MNIST ${split} files not found in ${dir} (looked for ${path.basename(files.images)} and ${path.basename(files.labels)}).\n  Install them: apt-get install -y dataset-fashion-mnist (or set "data.dir" in the training config).`, { path: dir });
  }
  return readImageSet(files.images, files.labels);
}

/** Images `[from, to)` of a set (no copy). */
export function sliceImageSet(set: ImageSet, from: number, to: number): ImageSet {
  const px = set.height * set.width;
  return { ...set, count: to - from, images: set.images.subarray(from * px, to * px), labels: set.labels.subarray(from, to) };
}

/**
 * The committed subset's selection rule: per class, the first `perClass` images of that class
 * in file order; the chosen images keep their file order. Returns the original indices.
 *
 * @example const indices = balancedSubsetIndices(test.labels, 100); // 1,000 indices, 100 per class
 */
export function balancedSubsetIndices(labels: Uint8Array, perClass: number, classes: number = FASHION_MNIST_CLASSES.length): number[] {
  const taken = new Array<number>(classes).fill(0);
  const out: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    if (taken[labels[i]] < perClass) {
      taken[labels[i]] += 1;
      out.push(i);
    }
  }
  const short = taken.findIndex((t) => t < perClass);
  if (short >= 0) throw new SwapformerError('invalid-data', `class ${short} has only ${taken[short]} images, fewer than the ${perClass} per class requested.`);
  return out;
}

/** The images at `indices`, copied into a new set. */
export function pickImages(set: ImageSet, indices: readonly number[]): ImageSet {
  const px = set.height * set.width;
  const images = new Uint8Array(indices.length * px);
  const labels = new Uint8Array(indices.length);
  indices.forEach((src, i) => {
    images.set(set.images.subarray(src * px, (src + 1) * px), i * px);
    labels[i] = set.labels[src];
  });
  return { count: indices.length, height: set.height, width: set.width, images, labels };
}
