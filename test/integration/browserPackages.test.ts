/**
 * The packages as a bundler and Node's ES-module loader see them: the `browser` condition leads
 * to ES-module builds without Node built-ins on the path "model from a config or URL → forward →
 * generate", and `import` from Node ESM works for every entry.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build } from 'esbuild';

const ROOT = path.join(__dirname, '..', '..');
const PACKAGES = ['@swapformer/schemas', '@swapformer/core', '@swapformer/kernels', '@swapformer/registry', '@swapformer/models', '@swapformer/plugin-exact', '@swapformer/plugin-performer', '@swapformer/plugin-tost', '@swapformer/plugin-thinformer', '@swapformer/plugin-kdeformer', '@swapformer/plugin-levattention'];

describe('browser-ready packages', () => {
  it('should bundle the model path for the browser without any Node built-in', async () => {
    const entry = `
      import { useBackend } from '@swapformer/core';
      import { createOperatorRegistry } from '@swapformer/registry';
      import { buildModel, fetchCheckpoint, generate, tokenizerFor } from '@swapformer/models';
      import { performerPlugin } from '@swapformer/plugin-performer';
      export { useBackend, createOperatorRegistry, buildModel, fetchCheckpoint, generate, tokenizerFor, performerPlugin };`;
    // platform browser with nothing external: reaching fs, path, os, worker_threads… fails the build
    const result = await build({ stdin: { contents: entry, resolveDir: ROOT, loader: 'ts' }, bundle: true, write: false, format: 'esm', platform: 'browser', metafile: true, logLevel: 'silent', external: ['@tensorflow/*'] });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((i) => i.includes('models/dist/esm/browser.js'))).to.equal(true);
    expect(inputs.some((i) => i.includes('registry/dist/esm/browser.js'))).to.equal(true);
    expect(inputs.filter((i) => /^(schemas|core|kernels|registry|models|plugins\/\w+)\/dist\/(?!esm\/)/.test(i)), 'CommonJS builds of our packages in a browser bundle').to.deep.equal([]);
  });

  it('should keep Node-only names out of the browser entries, with the Node entry saying where they went', async () => {
    const entry = `import { loadCheckpoint } from '@swapformer/models'; console.log(loadCheckpoint);`;
    const failure = await build({ stdin: { contents: entry, resolveDir: ROOT }, bundle: true, write: false, platform: 'browser', logLevel: 'silent', external: ['@tensorflow/*'] }).then(
      () => '',
      (error: { errors: Array<{ text: string }> }) => error.errors[0].text,
    );
    expect(failure).to.contain('No matching export').and.contain('loadCheckpoint');
    const nodeEntry = fs.readFileSync(path.join(ROOT, 'models', 'src', 'node.ts'), 'utf8');
    expect(nodeEntry).to.contain('loadCheckpoint');
  });

  it('should import every package entry from Node ES modules', () => {
    const script = PACKAGES.map((p, i) => `import * as m${i} from '${p}'; if (Object.keys(m${i}).length === 0) throw new Error('${p}: no exports');`).join('\n') +
      `\nimport { fetchCheckpoint } from '@swapformer/models/browser'; import { discoverPlugins } from '@swapformer/registry/node'; import { loadCheckpoint } from '@swapformer/models/node';
      if (typeof fetchCheckpoint !== 'function' || typeof discoverPlugins !== 'function' || typeof loadCheckpoint !== 'function') throw new Error('missing');
      console.log('ok');`;
    expect(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' }).trim()).to.equal('ok');
  });

  it('should load the ES-module builds themselves in Node (file extensions resolved by the bundling)', async () => {
    for (const dir of ['schemas', 'core', 'kernels', 'registry', 'models', 'plugins/exact', 'plugins/performer']) {
      const esm = path.join(ROOT, dir, 'dist', 'esm');
      for (const file of fs.readdirSync(esm).filter((f) => f.endsWith('.js'))) {
        const out = execFileSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(path.join(esm, file))}); console.log(Object.keys(m).length);`], { cwd: ROOT, encoding: 'utf8' });
        expect(Number(out.trim()), `${dir}/dist/esm/${file}`).to.be.greaterThan(0);
      }
    }
  });
});
