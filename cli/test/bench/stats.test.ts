import { expect } from 'chai';
import { fitPowerLaw, median } from '../../src/bench/stats';

describe('median', () => {
  it('should return a measured value (the lower middle for even lengths)', () => {
    expect(median([5, 1, 3])).to.equal(3);
    expect(median([4, 1, 3, 2])).to.equal(2);
  });

  it('should refuse an empty list', () => {
    expect(() => median([])).to.throw('median of an empty list');
  });
});

describe('fitPowerLaw', () => {
  it('should recover the exponent of an exact power law', () => {
    const pointsFixture = [256, 1024, 4096, 16384].map((n) => [n, 3e-6 * n ** 1.5] as const);
    expect(fitPowerLaw(pointsFixture)).to.be.closeTo(1.5, 1e-12);
  });

  it('should give the least-squares slope of noisy points and null without two distinct x', () => {
    expect(fitPowerLaw([[1, 1], [2, 4], [4, 16]])).to.be.closeTo(2, 1e-12);
    expect(fitPowerLaw([[8, 1]])).to.equal(null);
    expect(fitPowerLaw([[8, 1], [8, 2]])).to.equal(null);
  });
});
