import { expect } from 'chai';
import { imageBatchIndices, imagePixels, seededPermutation, textBatch, textEvalWindows, FASHION_MNIST_MEAN, FASHION_MNIST_STD } from '../../src/train/batches';
import type { ImageSet } from '../../src/data/fashionMnist';

describe('batches', () => {
  describe('imageBatchIndices', () => {
    it('should visit every image once per epoch, reshuffled each epoch', () => {
      const epoch0 = [0, 1, 2].flatMap((s) => Array.from(imageBatchIndices(30, 10, 7, s)));
      const epoch1 = [3, 4, 5].flatMap((s) => Array.from(imageBatchIndices(30, 10, 7, s)));
      expect([...epoch0].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 30 }, (_, i) => i));
      expect([...epoch1].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 30 }, (_, i) => i));
      expect(epoch1).to.not.deep.equal(epoch0);
    });
    it('should give the same batch for the same (seed, step), as a resumed run needs', () => {
      expect(Array.from(imageBatchIndices(100, 8, 3, 17))).to.deep.equal(Array.from(imageBatchIndices(100, 8, 3, 17)));
      expect(Array.from(imageBatchIndices(100, 8, 4, 17))).to.not.deep.equal(Array.from(imageBatchIndices(100, 8, 3, 17)));
    });
  });

  describe('seededPermutation', () => {
    it('should be a permutation', () => {
      expect(Array.from(seededPermutation(50, 1)).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i));
    });
  });

  describe('imagePixels', () => {
    const setFixture: ImageSet = { count: 1, height: 2, width: 3, images: Uint8Array.of(0, 255, 0, 0, 0, 51), labels: Uint8Array.of(4) };
    const norm = (x: number) => (x / 255 - FASHION_MNIST_MEAN) / FASHION_MNIST_STD;
    it('should normalise with the Fashion-MNIST mean and std', () => {
      const px = imagePixels(setFixture, [0]);
      expect(px[1]).to.be.closeTo(norm(255), 1e-6);
      expect(px[5]).to.be.closeTo(norm(51), 1e-6);
    });
    describe('having augmentation', () => {
      it('should be reproducible from its seed and mirror about half of the images', () => {
        const a = imagePixels(setFixture, [0, 0, 0, 0], { maxShift: 1, flip: true }, 5);
        const b = imagePixels(setFixture, [0, 0, 0, 0], { maxShift: 1, flip: true }, 5);
        expect(Array.from(a)).to.deep.equal(Array.from(b));
        const flipped = imagePixels(setFixture, Array.from({ length: 16 }, () => 0), { maxShift: 0, flip: true }, 9);
        const rows = Array.from({ length: 16 }, (_, i) => Array.from(flipped.subarray(i * 6, i * 6 + 6)));
        // Row 1 is (0, 0, 51): mirrored copies have 51 first, the others last; both occur.
        expect(rows.some((r) => Math.abs(r[3] - norm(51)) < 1e-6)).to.equal(true);
        expect(rows.some((r) => Math.abs(r[5] - norm(51)) < 1e-6)).to.equal(true);
      });
    });
  });

  describe('textBatch', () => {
    it('should pair each input with the next character', () => {
      const tokensFixture = Int32Array.from({ length: 100 }, (_, i) => i);
      const { inputs, targets } = textBatch(tokensFixture, 3, 8, 1, 0);
      for (let i = 0; i < inputs.length; i++) expect(targets[i]).to.equal(inputs[i] + 1);
    });
  });

  describe('textEvalWindows', () => {
    it('should tile the text with non-overlapping windows', () => {
      const windows = textEvalWindows(Int32Array.from({ length: 20 }, (_, i) => i), 6);
      expect(windows.map((w) => w.inputs[0])).to.deep.equal([0, 6, 12]);
      expect(windows[2].targets[5]).to.equal(18);
    });
  });
});
