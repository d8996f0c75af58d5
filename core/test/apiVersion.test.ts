import { expect } from 'chai';
import { assertApiCompatible, CORE_API_VERSION, SwapformerError } from '@swapformer/core';

describe('assertApiCompatible', () => {
  it('should accept the core API version and older minors of the same major', () => {
    expect(() => assertApiCompatible('p', CORE_API_VERSION)).not.to.throw();
    expect(() => assertApiCompatible('p', '2.0.3')).not.to.throw();
  });

  describe('having an incompatible plugin', () => {
    for (const wanted of ['3.0.0', '1.9.0', '2.7.0']) {
      it(`should refuse apiVersion ${wanted} naming both versions`, () => {
        try {
          assertApiCompatible('skewed', wanted);
          expect.fail('accepted');
        } catch (error) {
          expect(SwapformerError.is(error)).to.equal(true);
          expect((error as SwapformerError).kind).to.equal('incompatible-plugin');
          expect((error as Error).message).to.include(wanted).and.include(CORE_API_VERSION).and.include('"skewed"');
        }
      });
    }

    it('should refuse a version that is not semver', () => {
      expect(() => assertApiCompatible('p', 'latest')).to.throw(/not a semver version/);
    });
  });
});
