/**
 * `saveCheckpoint` replaces config.json and model.safetensors as a unit: a save that fails in
 * the middle (here: after the weights are written, when config.json is renamed into place)
 * leaves the previous pair byte for byte, loadable, and no stray files.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { SwapformerError } from '@swapformer/core';
import { buildModel, loadCheckpoint, saveCheckpoint } from '@swapformer/models';
import { installedRegistry } from './support/registries';
import { TINY_GPT } from './support/models';

const registry = installedRegistry();
const PAIR = ['config.json', 'model.safetensors'];
/** The fs module object itself (an `import * as` namespace is a copy, so a stub on it would reach nobody). */
const nodeFs = require('node:fs') as typeof fs;

function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(fs.readdirSync(dir).sort().map((name) => [name, fs.readFileSync(path.join(dir, name)).toString('base64')]));
}

describe('saveCheckpoint atomicity', () => {
  let parent: string;
  let dir: string;

  beforeEach(() => {
    parent = fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-ckpt-'));
    dir = path.join(parent, 'checkpoint');
  });

  afterEach(() => fs.rmSync(parent, { recursive: true, force: true }));

  it('should leave the previous pair intact when the save fails between the two files', () => {
    const first = buildModel({ ...TINY_GPT, seed: 1 }, undefined, registry);
    saveCheckpoint(first, dir);
    first.dispose();
    const before = snapshot(dir);
    expect(Object.keys(before)).to.deep.equal(PAIR);

    const second = buildModel({ ...TINY_GPT, seed: 2, layerNormEps: 1e-6 }, undefined, registry);
    const rename = nodeFs.renameSync;
    nodeFs.renameSync = ((from: fs.PathLike, to: fs.PathLike) => {
      if (path.basename(String(to)) === 'config.json') throw Object.assign(new Error('injected failure'), { code: 'EIO' });
      return rename(from, to);
    }) as typeof fs.renameSync;
    let caught: unknown;
    try {
      saveCheckpoint(second, dir);
    } catch (error) {
      caught = error;
    } finally {
      nodeFs.renameSync = rename;
      second.dispose();
    }
    expect(SwapformerError.is(caught), String(caught)).to.equal(true);
    expect((caught as SwapformerError).kind).to.equal('io');
    expect(snapshot(dir), 'the checkpoint folder after the failed save').to.deep.equal(before);
    expect(fs.readdirSync(parent), 'leftovers next to the folder').to.deep.equal(['checkpoint']);
    const tensorsBefore = tf.memory().numTensors;
    loadCheckpoint(dir, registry).dispose();
    expect(tf.memory().numTensors).to.equal(tensorsBefore);
  });

  it('should replace the pair, keep other files in the folder and drop a stale shard index', () => {
    const first = buildModel({ ...TINY_GPT, seed: 1 }, undefined, registry);
    saveCheckpoint(first, dir);
    first.dispose();
    fs.writeFileSync(path.join(dir, 'README.md'), 'mine');
    fs.mkdirSync(path.join(dir, 'extras'));
    fs.writeFileSync(path.join(dir, 'extras', 'notes.txt'), 'notes');
    fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), '{}');
    const second = buildModel({ ...TINY_GPT, seed: 2 }, undefined, registry);
    saveCheckpoint(second, dir);
    second.dispose();
    expect(fs.readdirSync(dir).sort()).to.deep.equal(['README.md', 'config.json', 'extras', 'model.safetensors']);
    expect(fs.readFileSync(path.join(dir, 'README.md'), 'utf8')).to.equal('mine');
    expect(fs.readFileSync(path.join(dir, 'extras', 'notes.txt'), 'utf8')).to.equal('notes');
  });
});
