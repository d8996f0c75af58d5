/**
 * Copies the training data into one folder, for a machine that has neither the apt package nor
 * the npm devDependency (the GPU machine): `<root>/fashion-mnist/` (the four IDX .gz files)
 * and `<root>/sotu/sotu-speeches.json.gz` (the addresses, raw text, sorted by year).
 *
 *   node cli/dist/data/exportTrainingData.js .data [--train-only]
 *   swapformer train --config examples/train-vit-exact.json --data-dir .data
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { FASHION_MNIST_APT_DIR, fashionMnistFiles, loadFashionMnist } from './fashionMnist';
import { readSotuPackage, SOTU_EXPORT_FILE } from './sotu';

/**
 * Writes the export and returns the files written.
 *
 * @example exportTrainingData('.data');
 */
export function exportTrainingData(root: string, options: { sourceDir?: string; trainOnly?: boolean } = {}): string[] {
  const sourceDir = options.sourceDir ?? FASHION_MNIST_APT_DIR;
  const written: string[] = [];
  const fm = path.join(root, 'fashion-mnist');
  fs.mkdirSync(fm, { recursive: true });
  // --train-only leaves out the 10,000 test images (4 MiB), needed only by `run --full`.
  for (const split of options.trainOnly ? (['train'] as const) : (['train', 'test'] as const)) {
    loadFashionMnist(split, sourceDir); // header checks before copying
    const from = fashionMnistFiles(sourceDir, split);
    const to = fashionMnistFiles(fm, split);
    for (const key of ['images', 'labels'] as const) {
      fs.copyFileSync(from[key], to[key]);
      written.push(to[key]);
    }
  }
  const sotu = path.join(root, 'sotu');
  fs.mkdirSync(sotu, { recursive: true });
  const file = path.join(sotu, SOTU_EXPORT_FILE);
  fs.writeFileSync(file, zlib.gzipSync(JSON.stringify(readSotuPackage()), { level: 9 }));
  written.push(file);
  return written;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const root = args.find((a) => !a.startsWith('--')) ?? '.data';
  for (const file of exportTrainingData(root, { trainOnly: args.includes('--train-only') })) process.stdout.write(`wrote ${file} (${(fs.statSync(file).size / 2 ** 20).toFixed(1)} MiB)\n`);
}
