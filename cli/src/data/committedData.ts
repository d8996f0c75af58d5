/**
 * The small data committed under `data/` at the top of the repo, so that `npm start` and the
 * tests need nothing beyond `npm ci`, and the script that rebuilds it from the full sets.
 *
 *   node cli/dist/data/committedData.js   (needs apt-get install -y dataset-fashion-mnist)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { SwapformerError } from '@swapformer/core';
import { balancedSubsetIndices, fashionMnistFiles, loadFashionMnist, pickImages, readImageSet, type ImageSet } from './fashionMnist';
import { encodeIdx } from './readIdx';
import { SPEECH_SEPARATOR, loadSotuSpeeches, splitSpeeches } from './sotu';

/** Images per class in the committed Fashion-MNIST test subset. */
export const SUBSET_PER_CLASS = 100;
/** Split name of the committed subset's files (`test-subset-1000-images-idx3-ubyte.gz`). */
export const SUBSET_SPLIT = `test-subset-${SUBSET_PER_CLASS * 10}`;
/** Characters kept from the start of each test-split address in the committed SOTU slice. */
export const SOTU_SLICE_CHARS_PER_SPEECH = 4096;
export const SOTU_SLICE_FILE = 'test-slice.txt';

/**
 * The repo's `data/` folder: found from this file (src/ or dist/ of the registry package),
 * else `./data` of the working directory.
 */
export function committedDataDir(): string {
  const fromHere = path.resolve(__dirname, '..', '..', '..', 'data');
  return fs.existsSync(fromHere) ? fromHere : path.resolve('data');
}

/**
 * The committed balanced Fashion-MNIST test subset (1,000 images, 100 per class).
 *
 * @example const { count, images, labels } = loadCommittedTestSubset();
 */
export function loadCommittedTestSubset(dir = path.join(committedDataDir(), 'fashion-mnist')): ImageSet {
  const files = fashionMnistFiles(dir, SUBSET_SPLIT);
  return readImageSet(files.images, files.labels);
}

/** The committed held-out SOTU text (the start of every test-split address, blank-line separated). */
export function loadCommittedSotuSlice(dir = path.join(committedDataDir(), 'sotu')): string {
  const file = path.join(dir, SOTU_SLICE_FILE);
  if (!fs.existsSync(file)) throw new SwapformerError('io', `cannot read "${file}": no such file (the repo ships it under data/sotu/).`, { path: file });
  return fs.readFileSync(file, 'utf8');
}

/** Rebuilds the subset from the full test set by the documented rule. */
export function buildTestSubset(sourceDir?: string): ImageSet {
  const test = loadFashionMnist('test', sourceDir);
  return pickImages(test, balancedSubsetIndices(test.labels, SUBSET_PER_CLASS));
}

/** Rebuilds the SOTU slice by the documented rule. */
export function buildSotuSlice(): string {
  return splitSpeeches(loadSotuSpeeches()).test.map((s) => s.text.slice(0, SOTU_SLICE_CHARS_PER_SPEECH)).join(SPEECH_SEPARATOR);
}

function writeGzip(file: string, bytes: Uint8Array): void {
  // mtime 0 in the gzip header is what zlib writes, so the bytes are reproducible.
  fs.writeFileSync(file, zlib.gzipSync(bytes, { level: 9 }));
}

/** Writes `data/fashion-mnist/test-subset-1000-*` and `data/sotu/test-slice.txt`. */
export function writeCommittedData(outDir = committedDataDir()): string[] {
  const subset = buildTestSubset();
  const fm = path.join(outDir, 'fashion-mnist');
  fs.mkdirSync(fm, { recursive: true });
  const files = fashionMnistFiles(fm, SUBSET_SPLIT);
  writeGzip(files.images, encodeIdx([subset.count, subset.height, subset.width], subset.images));
  writeGzip(files.labels, encodeIdx([subset.count], subset.labels));
  const sotu = path.join(outDir, 'sotu');
  fs.mkdirSync(sotu, { recursive: true });
  fs.writeFileSync(path.join(sotu, SOTU_SLICE_FILE), buildSotuSlice());
  return [files.images, files.labels, path.join(sotu, SOTU_SLICE_FILE)];
}

if (require.main === module) {
  for (const file of writeCommittedData()) process.stdout.write(`wrote ${file}\n`);
}
