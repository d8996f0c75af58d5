/**
 * Copies the training data into one folder, for a machine that has neither the apt package nor
 * the npm devDependency (the GPU machine): `<root>/fashion-mnist/` (the four IDX .gz files)
 * and `<root>/sotu/sotu-speeches.json.gz` (the addresses, raw text, sorted by year).
 *
 *   node registry/dist/data/exportTrainingData.js .data
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
export function exportTrainingData(root: string, sourceDir = FASHION_MNIST_APT_DIR): string[] {
  const written: string[] = [];
  const fm = path.join(root, 'fashion-mnist');
  fs.mkdirSync(fm, { recursive: true });
  for (const split of ['train', 'test'] as const) {
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
  for (const file of exportTrainingData(process.argv[2] ?? '.data')) process.stdout.write(`wrote ${file} (${(fs.statSync(file).size / 2 ** 20).toFixed(1)} MiB)\n`);
}
