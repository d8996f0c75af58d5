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
      it('should erase one rectangle of 2-25 % of an image to the mean, with the given probability', () => {
        const bright: ImageSet = { count: 1, height: 20, width: 20, images: new Uint8Array(400).fill(255), labels: Uint8Array.of(0) };
        const n = 400;
        const px = imagePixels(bright, new Array<number>(n).fill(0), { maxShift: 0, flip: false, erase: 0.5 }, 11);
        let erasedImages = 0;
        for (let i = 0; i < n; i++) {
          const image = px.subarray(i * 400, (i + 1) * 400);
          const zeros = [...image.keys()].filter((k) => image[k] === 0);
          if (zeros.length === 0) continue;
          erasedImages++;
          expect(zeros.length, `image ${i}`).to.be.within(0.02 * 400 * 0.5, 0.25 * 400 * 1.5);
          // one axis-aligned rectangle: its bounding box holds exactly the erased pixels
          const ys = zeros.map((k) => Math.floor(k / 20));
          const xs = zeros.map((k) => k % 20);
          const box = (Math.max(...ys) - Math.min(...ys) + 1) * (Math.max(...xs) - Math.min(...xs) + 1);
          expect(box, `image ${i}`).to.equal(zeros.length);
          expect(image.every((v) => v === 0 || Math.abs(v - norm(255)) < 1e-6)).to.equal(true);
        }
        expect(erasedImages / n).to.be.within(0.42, 0.58);
      });
      it('should draw nothing for erasing when it is off, so earlier runs see the same batches', () => {
        const withZero = imagePixels(setFixture, [0, 0, 0, 0], { maxShift: 1, flip: true, erase: 0 }, 5);
        const without = imagePixels(setFixture, [0, 0, 0, 0], { maxShift: 1, flip: true }, 5);
        expect(Array.from(withZero)).to.deep.equal(Array.from(without));
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
