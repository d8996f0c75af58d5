import * as fs from 'node:fs';
import { expect } from 'chai';
import { balancedSubsetIndices, FASHION_MNIST_APT_DIR, pickImages } from '../../src/data/fashionMnist';
import { buildTestSubset, loadCommittedTestSubset, SUBSET_PER_CLASS } from '../../src/data/committedData';

describe('fashionMnist', () => {
  describe('balancedSubsetIndices', () => {
    it('should keep the first images of each class in file order', () => {
      const labelsFixture = Uint8Array.of(0, 1, 0, 0, 1, 2, 2, 1, 2);
      expect(balancedSubsetIndices(labelsFixture, 2, 3)).to.deep.equal([0, 1, 2, 4, 5, 6]);
    });
    it('should refuse a class with too few images', () => {
      expect(() => balancedSubsetIndices(Uint8Array.of(0, 0, 1), 2, 2)).to.throw(/class 1 has only 1 images/);
    });
  });

  describe('loadCommittedTestSubset', () => {
    it('should hold 1,000 images, 100 per class, 28×28', () => {
      const subset = loadCommittedTestSubset();
      expect(subset.count).to.equal(1000);
      expect(subset.images.length).to.equal(1000 * 784);
      const counts = new Array<number>(10).fill(0);
      for (const l of subset.labels) counts[l] += 1;
      expect(counts).to.deep.equal(new Array<number>(10).fill(SUBSET_PER_CLASS));
      // The test split starts with labels 9, 2, 1, 1, 6, 1, 4, 6 and the rule keeps file order.
      expect(Array.from(subset.labels.subarray(0, 8))).to.deep.equal([9, 2, 1, 1, 6, 1, 4, 6]);
    });

    const aptPresent = fs.existsSync(`${FASHION_MNIST_APT_DIR}/t10k-images-idx3-ubyte.gz`);
    (aptPresent ? it : it.skip)('should equal the subset rebuilt from the apt package by the documented rule', () => {
      const rebuilt = buildTestSubset();
      const committed = loadCommittedTestSubset();
      expect(Buffer.from(rebuilt.images).equals(Buffer.from(committed.images))).to.equal(true);
      expect(Buffer.from(rebuilt.labels).equals(Buffer.from(committed.labels))).to.equal(true);
    });
  });

  describe('pickImages', () => {
    it('should copy the chosen images and labels', () => {
      const subset = loadCommittedTestSubset();
      const picked = pickImages(subset, [3, 1]);
      expect(Array.from(picked.labels)).to.deep.equal([subset.labels[3], subset.labels[1]]);
      expect(Array.from(picked.images.subarray(0, 784))).to.deep.equal(Array.from(subset.images.subarray(3 * 784, 4 * 784)));
    });
  });
});
