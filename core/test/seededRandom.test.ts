import { expect } from 'chai';
import { createSeededRandom, deriveSeed } from '@swapformer/core';

describe('createSeededRandom', () => {
  it('should reproduce the same stream for the same seed and differ for another', () => {
    const a = createSeededRandom(7).fillNormal(new Float32Array(64));
    const b = createSeededRandom(7).fillNormal(new Float32Array(64));
    const c = createSeededRandom(8).fillNormal(new Float32Array(64));
    expect(Array.from(a)).to.deep.equal(Array.from(b));
    expect(Array.from(a)).not.to.deep.equal(Array.from(c));
  });

  it('should draw standard normals and uniforms with the right moments', () => {
    const rng = createSeededRandom(1);
    const n = 200000;
    let s = 0;
    let s2 = 0;
    let u = 0;
    for (let i = 0; i < n; i++) {
      const x = rng.normal();
      s += x;
      s2 += x * x;
      u += rng.uniform();
    }
    expect(Math.abs(s / n)).to.be.below(0.01);
    expect(Math.abs(s2 / n - 1)).to.be.below(0.02);
    expect(Math.abs(u / n - 0.5)).to.be.below(0.005);
  });
});

describe('deriveSeed', () => {
  it('should be deterministic and separate labels', () => {
    expect(deriveSeed(1, 'layer', 3)).to.equal(deriveSeed(1, 'layer', 3));
    const seeds = new Set<number>();
    for (let layer = 0; layer < 50; layer++) for (let call = 0; call < 20; call++) seeds.add(deriveSeed(42, 'layer', layer, 'call', call));
    expect(seeds.size).to.equal(1000);
    expect(deriveSeed(1, 'a', 2)).not.to.equal(deriveSeed(1, 'a2'));
  });

  it('should fill uniforms with the very stream uniform() draws, and continue it', () => {
    const filled = createSeededRandom(7);
    const drawn = createSeededRandom(7);
    const out = filled.fillUniform(new Float32Array(1000), -2, 5);
    const expected = Float32Array.from({ length: 1000 }, () => -2 + 7 * drawn.uniform());
    expect([...out]).to.deep.equal([...expected]);
    expect(filled.uniform()).to.equal(drawn.uniform());
    expect(filled.normal()).to.equal(drawn.normal());
  });
});
