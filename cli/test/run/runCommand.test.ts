import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { createSwapformerContainer } from '@swapformer/core';
import { exactPlugin } from '@swapformer/plugin-exact';
import { fastMatMulRegistration } from '@swapformer/kernels';
import { createProgram } from '../../src/cli';
import { charTokenizerConfig, createCharVocabulary } from '../../src/data/charVocabulary';
import { loadCommittedSotuSlice } from '../../src/data/committedData';
import { buildModel } from '../../../models/src/models/buildModel';
import { saveCheckpoint } from '../../../models/src/hf/saveCheckpoint';
import { createOperatorRegistry } from '../../../registry/src/registry/createOperatorRegistry';

async function runCli(args: string[]): Promise<{ stdout: string; stderr: string; code: number | undefined }> {
  const chunks: string[] = [];
  const errors: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const quiet = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => chunks.push(String(s)) > 0) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => errors.push(String(s)) > 0) as typeof process.stderr.write;
  const before = process.exitCode;
  try {
    await createProgram().parseAsync(['node', 'swapformer', ...args]);
  } finally {
    process.stdout.write = write;
    process.stderr.write = quiet;
  }
  const code = process.exitCode === undefined ? undefined : Number(process.exitCode);
  process.exitCode = before;
  return { stdout: chunks.join(''), stderr: errors.join(''), code };
}

describe('swapformer run', () => {
  let root: string;
  before(() => {
    // Tiny real ViT (pixel stage of 785 tokens) and char-GPT checkpoints, untrained.
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'run-cli-'));
    const registry = createOperatorRegistry(createSwapformerContainer({ seed: 0 }));
    registry.register(exactPlugin);
    const vit = buildModel({ model: 'vit', imageSize: 28, numChannels: 1, numLabels: 10, pixelStage: { layers: 1, hiddenSize: 4, heads: 1, patchMerge: 7 }, hiddenSize: 8, numLayers: 1, numHeads: 1 }, undefined, registry);
    saveCheckpoint(vit, path.join(root, 'checkpoints', 'vit'));
    vit.dispose();
    const vocab = createCharVocabulary(loadCommittedSotuSlice());
    const gpt = buildModel({ model: 'gpt', vocabSize: vocab.size, nPositions: 64, hiddenSize: 8, numLayers: 1, numHeads: 1, tokenizer: charTokenizerConfig(vocab) }, undefined, registry);
    saveCheckpoint(gpt, path.join(root, 'checkpoints', 'gpt'));
    gpt.dispose();
    const configFixture = {
      backend: 'wasm',
      seeds: [1, 2],
      vit: { checkpoint: 'checkpoints/vit', swapLayers: { first: 1 }, images: 20, batchSize: 10, operators: [{ name: 'exact' }, { name: 'no-such-operator' }], trained: [{ label: 'as saved', checkpoint: 'checkpoints/vit' }] },
      gpt: { checkpoint: 'checkpoints/gpt', windows: 1, contextLength: 32, batchSize: 1, operators: [{ name: 'exact' }], sample: { promptChars: 8, length: 5 } },
      output: { dir: 'results', name: 'dropin' },
    };
    fs.writeFileSync(path.join(root, 'dropin.json'), JSON.stringify(configFixture));
  });
  after(() => {
    fs.rmSync(root, { recursive: true, force: true });
    fastMatMulRegistration()?.undo(); // an in-process run leaves our GEMM registered; later tests get tfjs's kernels back
  });

  it('should print both tables and write the markdown report and the SVG chart', async () => {
    const { stdout, code } = await runCli(['run', path.join(root, 'dropin.json'), '--keep-going']);
    expect(code ?? 0).to.equal(0);
    expect(stdout).to.match(/ViT drop-in table — committed Fashion-MNIST test subset \(20 images, balanced\), backend wasm/);
    expect(stdout).to.match(/\nexact +drop-in +\d+\.\d\d +\+0\.00 /);
    expect(stdout).to.match(/as saved +trained with it/);
    expect(stdout).to.match(/skipped: no-such-operator: not installed/);
    expect(stdout).to.match(/GPT table — held-out State of the Union text, 1 windows of 32 characters/);
    expect(stdout).to.match(/Samples \(prompt: "Madam Sp"\)/);
    expect(stdout).to.match(/report: .*dropin\.md/);
    expect(fs.existsSync(path.join(root, 'results', 'dropin.md'))).to.equal(true);
    expect(fs.readFileSync(path.join(root, 'results', 'dropin.svg'), 'utf8')).to.match(/^<svg/);
  });

  it('should exit 1 when a requested row fails, naming it with the whole reason, unless --keep-going', async () => {
    const config = JSON.parse(fs.readFileSync(path.join(root, 'dropin.json'), 'utf8'));
    config.vit.operators = [{ name: 'exact' }, { name: 'thinformer', options: { g: '2' } }];
    delete config.gpt;
    fs.writeFileSync(path.join(root, 'bad-row.json'), JSON.stringify(config));
    const failing = await runCli(['run', path.join(root, 'bad-row.json')]);
    expect(failing.code).to.equal(1);
    expect(failing.stderr).to.include('1 requested row did not run').and.include('--keep-going');
    // the reason after 'invalid options for operator "thinformer":' used to be cut off
    expect(failing.stderr).to.match(/invalid options for operator "thinformer": .*\/g/);
    expect(failing.stdout).to.match(/skipped: thinformer g="2": .*invalid options for operator "thinformer": .*\/g/);
    const kept = await runCli(['run', path.join(root, 'bad-row.json'), '--keep-going']);
    expect(kept.code ?? 0).to.equal(0);
  });

  it('should evaluate a row that is a whole per-layer attention selection', async () => {
    const config = JSON.parse(fs.readFileSync(path.join(root, 'dropin.json'), 'utf8'));
    config.vit.operators = [{ name: 'exact' }, { label: 'mix', attention: { default: { name: 'exact' }, overrides: [{ layers: 0, name: 'performer', options: { features: 16 } }] } }];
    delete config.gpt;
    config.seeds = [1];
    fs.writeFileSync(path.join(root, 'mix.json'), JSON.stringify(config));
    const { stdout, stderr, code } = await runCli(['run', path.join(root, 'mix.json'), '--json']);
    expect(code ?? 0, stderr).to.equal(0);
    const report = JSON.parse(stdout) as { vit: { rows: Array<{ label: string; operator: string; skipped?: string; measurements: unknown[] }> } };
    const mix = report.vit.rows.find((r) => r.label === 'mix')!;
    expect(mix.skipped).to.equal(undefined);
    expect(mix.operator).to.equal('exact+performer');
    expect(mix.measurements).to.have.length(1);
  });

  it('should report each swapped layer\'s length and warn where a budgeted operator\'s n is not much larger than its budget', async () => {
    const config = JSON.parse(fs.readFileSync(path.join(root, 'dropin.json'), 'utf8'));
    // layer 0: the 785-token pixel stage; layer 1: 17 tokens (16 patches and the class token)
    config.vit.operators = [{ name: 'exact' }, { label: 'lev-short', attention: { default: { name: 'exact' }, overrides: [{ layers: 0, name: 'levattention', options: { k: 32 } }, { layers: 1, name: 'levattention', options: { k: 8 } }] } }];
    config.vit.swapLayers = { first: 2 };
    delete config.gpt;
    config.seeds = [1];
    fs.writeFileSync(path.join(root, 'budget.json'), JSON.stringify(config));
    const text = await runCli(['run', path.join(root, 'budget.json')]);
    expect(text.code ?? 0, text.stderr).to.equal(0);
    expect(text.stdout).to.include('layers of lev-short: 0 (levattention, n = 785, 32 keys/query); 1 (levattention, n = 17, 8 keys/query)');
    expect(text.stdout).to.match(/warning: lev-short: layer 1: "levattention" keeps 8 of 17 keys per query; it needs n ≫ its budget/);
    expect(text.stdout).not.to.match(/warning: lev-short: layer 0/);
    const json = JSON.parse((await runCli(['run', path.join(root, 'budget.json'), '--json'])).stdout) as { vit: { rows: Array<{ label: string; layers?: Array<{ layer: number; n: number; keysPerQuery?: number }>; warnings?: string[] }> } };
    const row = json.vit.rows.find((r) => r.label === 'lev-short')!;
    expect(row.layers).to.deep.equal([{ layer: 0, operator: 'levattention', n: 785, keysPerQuery: 32 }, { layer: 1, operator: 'levattention', n: 17, keysPerQuery: 8 }]);
    expect(row.warnings).to.have.length(1);
  });

  it('should name --allow-untrained-operators for a non-drop-in row, and run it with the flag', async () => {
    const config = JSON.parse(fs.readFileSync(path.join(root, 'dropin.json'), 'utf8'));
    config.gpt.operators = [{ name: 'exact' }, { name: 'tost' }];
    delete config.vit;
    config.seeds = [1];
    fs.writeFileSync(path.join(root, 'tost.json'), JSON.stringify(config));
    const refused = await runCli(['run', path.join(root, 'tost.json')]);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.include('tost').and.include('--allow-untrained-operators');
    const allowed = await runCli(['run', path.join(root, 'tost.json'), '--allow-untrained-operators', '--json']);
    expect(allowed.code ?? 0, allowed.stderr).to.equal(0);
    const rows = (JSON.parse(allowed.stdout) as { gpt: { rows: Array<{ label: string; skipped?: string }> } }).gpt.rows;
    expect(rows.find((r) => r.label === 'tost')?.skipped).to.equal(undefined);
  });

  it('should refuse an invalid config with the JSON path', async () => {
    fs.writeFileSync(path.join(root, 'bad.json'), JSON.stringify({ vit: { checkpoint: 'x', swapLayers: { first: 1 }, images: -1 } }));
    const { code } = await runCli(['run', path.join(root, 'bad.json')]);
    expect(code).to.equal(1);
  });
});
