import { expect } from 'chai';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { outputDigests, SEEDED_SHAPE } from './support/outputDigests';
import { run } from './support/processes';
import { installedRegistry } from './support/registries';

const SEED = 1234;

describe('determinism (same seed ⇒ bitwise-identical output on one backend)', () => {
  const registryFixture = installedRegistry();

  it(`should give identical outputs for every installed operator (${registryFixture.list().length}) in two fresh registries`, () => {
    expect(outputDigests(SEED)).to.deep.equal(outputDigests(SEED));
    expect(outputDigests(undefined, 7)).to.deep.equal(outputDigests(undefined, 7));
  });

  it('should give identical outputs in a fresh process', function () {
    this.timeout(120000);
    const here = outputDigests(SEED);
    const r = run(process.execPath, ['-r', 'tsx/cjs', path.join(__dirname, 'support/outputDigests.ts'), String(SEED)], { timeoutMs: 120000 });
    expect(r.code, r.stderr).to.equal(0);
    const there = JSON.parse(r.stdout) as { backend: string; digests: Record<string, string> };
    expect(there.backend).to.equal(tf.getBackend());
    expect(there.digests).to.deep.equal(here);
  });

  it('should reproduce seeded operators at n = 256 and change their output when the seed changes', function () {
    const seeded = registryFixture.list().filter((r) => r.capabilities.randomness === 'seeded').map((r) => r.meta.name);
    if (seeded.length === 0) this.skip(); // none installed yet
    const a = outputDigests(SEED, 0, SEEDED_SHAPE, false);
    const b = outputDigests(SEED + 1, 0, SEEDED_SHAPE, false);
    expect(outputDigests(SEED, 0, SEEDED_SHAPE, false)).to.deep.equal(a);
    for (const name of seeded) expect(a[name], name).to.not.equal(b[name]);
  });
});
