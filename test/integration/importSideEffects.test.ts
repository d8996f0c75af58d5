import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '../..');

/** Every published package, by the name a user imports. */
const PACKAGES = [
  '@swapformer/schemas',
  '@swapformer/core',
  '@swapformer/kernels',
  '@swapformer/plugin-exact',
  '@swapformer/plugin-performer',
  '@swapformer/plugin-tost',
  '@swapformer/plugin-thinformer',
  '@swapformer/plugin-kdeformer',
  '@swapformer/plugin-levattention',
  '@swapformer/registry',
  '@swapformer/models',
  '@swapformer/cli',
];

/**
 * tfjs keeps its kernel and gradient registries in `globalThis._tfGlobals`; the snapshot names
 * what is registered and which object holds Sum's gradient, so a replaced gradient shows too.
 */
const SNAPSHOT = `
  const snapshot = () => {
    const globals = globalThis._tfGlobals;
    const grads = globals ? [...globals.get('gradRegistry').keys()].sort() : [];
    const kernels = globals ? [...globals.get('kernelRegistry').keys()].sort() : [];
    return { grads, kernels, backends: Object.keys(tf.engine().registryFactory).sort(), sum: tf.getGradient('Sum') === undefined ? null : String(tf.getGradient('Sum').gradFunc) };
  };`;

describe('importing the packages', () => {
  // tsx's loader can require tfjs-core's ESM gradient module synchronously, so an import-time
  // registration would show here even where plain Node's require could not do it
  it('should leave tfjs registries unchanged (sideEffects: false holds), until ensureGradients is called', () => {
    const script = `
      const tf = require('@tensorflow/tfjs-core');
      ${SNAPSHOT}
      const before = snapshot();
      for (const name of ${JSON.stringify(PACKAGES)}) require(name);
      const after = snapshot();
      require('@swapformer/models').ensureGradients().then(() => {
        process.stdout.write(JSON.stringify({ before, after, registered: snapshot().grads.length }));
      });`;
    const run = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], { encoding: 'utf8', cwd: REPO });
    expect(run.status, run.stderr).to.equal(0);
    const { before, after, registered } = JSON.parse(run.stdout.slice(run.stdout.indexOf('{')));
    expect(after).to.deep.equal(before);
    // the explicit call does register: the check above could have seen a registration
    expect(registered).to.be.above(before.grads.length);
  });
});
