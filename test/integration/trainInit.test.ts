/**
 * `swapformer train --init <dir>`: a run starts from that checkpoint's weights (the config's own
 * `init` overridden), which is how a GPU hold continues or polishes the best checkpoint of the
 * previous run without a new config file.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openSafetensors } from '../../models/src/hf/safetensors';
import { CLI, run, workspaceTempDir } from '../reliability/support/processes';

function tinyGptConfig(output: string, steps: number, learningRate: number): Record<string, unknown> {
  return {
    task: 'sotu',
    model: { model: 'gpt', nPositions: 32, hiddenSize: 16, numLayers: 1, numHeads: 2, intermediateSize: 32 },
    attention: { name: 'exact' },
    data: { contextLength: 32, heldOutFraction: 0.1, validationWindows: 2 },
    optimizer: { learningRate, weightDecay: 0 },
    schedule: { steps, warmupSteps: 0 },
    batchSize: 2,
    seed: 0,
    eval: { every: 100000, batchSize: 2 },
    checkpointEvery: 100000,
    logEvery: 1,
    output,
    backend: 'wasm',
  };
}

/** Largest absolute difference over every tensor of two checkpoints with the same names. */
function maxWeightDifference(a: string, b: string): number {
  const [fa, fb] = [openSafetensors(path.join(a, 'model.safetensors')), openSafetensors(path.join(b, 'model.safetensors'))];
  let worst = 0;
  for (const name of fa.entries.keys()) {
    const [x, y] = [fa.read(name), fb.read(name)];
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  }
  return worst;
}

describe('swapformer train --init', function () {
  this.timeout(300000);
  let dir = '';
  before(() => {
    dir = workspaceTempDir('train-init');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const train = (name: string, steps: number, learningRate: number, extra: string[] = []) => {
    const config = path.join(dir, `${name}.json`);
    fs.writeFileSync(config, JSON.stringify(tinyGptConfig(path.join(dir, name), steps, learningRate)));
    return run(process.execPath, [CLI, 'train', '--config', config, ...extra], { timeoutMs: 180000 });
  };

  it('should start from the given checkpoint\'s weights instead of a fresh initialisation', () => {
    const first = train('first', 20, 0.05);
    expect(first.code, first.stderr).to.equal(0);
    const trained = path.join(dir, 'first', 'final');
    // one step at a negligible learning rate: the weights stay where they started
    const fresh = train('fresh', 1, 1e-9);
    const continued = train('continued', 1, 1e-9, ['--init', trained]);
    expect(fresh.code, fresh.stderr).to.equal(0);
    expect(continued.code, continued.stderr).to.equal(0);
    expect(maxWeightDifference(path.join(dir, 'continued', 'final'), trained)).to.be.below(1e-5);
    expect(maxWeightDifference(path.join(dir, 'fresh', 'final'), trained)).to.be.above(1e-3);
  });

  it('should refuse a missing --init folder with an error that names it', () => {
    const missing = path.join(dir, 'no-such-checkpoint');
    const result = train('missing', 1, 1e-9, ['--init', missing]);
    expect(result.code).to.not.equal(0);
    expect(result.stderr).to.include(missing);
  });
});
