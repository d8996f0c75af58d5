/**
 * GPT-2 as the original `gpt2` file is stored on the hub — saved from the bare GPT2Model (keys
 * without the `transformer.` prefix), with the `attn.bias` / `attn.masked_bias` mask buffers and
 * no lm_head — built here from the gpt2-tied fixture by renaming its keys. transformers loads such
 * a file into GPT2LMHeadModel by its base-model-prefix rule and ties the head; so must we, with
 * the fixture's expected logits.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { maxAbsDiff } from '@swapformer/core/conformance';
import { encodeSafetensors, generate, loadCheckpoint, loadCheckpointWithReport, openSafetensors, tensorFromJson, type GptModel, type TensorJson, type TensorToWrite } from '@swapformer/models';
import { errorOf, registryFixture } from './modelFixtures';

const TIED = path.resolve(__dirname, '../fixtures/hf/gpt2-tied');
const CLI = path.resolve(__dirname, '../../../cli/bin/swapformer.js');
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

/** A copy of gpt2-tied in the hub layout; `edit` may change the tensors before writing. */
function hubLayoutCopy(edit: (t: Map<string, TensorToWrite>) => void = () => undefined): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-gpt2-hub-'));
  const st = openSafetensors(path.join(TIED, 'model.safetensors'));
  const tensors = new Map<string, TensorToWrite>();
  for (const [name, entry] of st.entries) tensors.set(name.replace(/^transformer\./, ''), { shape: entry.shape, data: st.read(name) });
  const config = readJson(path.join(TIED, 'config.json'));
  const n = config.n_positions as number;
  const mask = new Float32Array(n * n).map((_, i) => (i % n <= Math.floor(i / n) ? 1 : 0));
  for (let layer = 0; layer < config.n_layer; layer++) {
    tensors.set(`h.${layer}.attn.bias`, { shape: [1, 1, n, n], data: mask });
    tensors.set(`h.${layer}.attn.masked_bias`, { shape: [], data: new Float32Array([-1e4]) });
  }
  edit(tensors);
  fs.writeFileSync(path.join(dir, 'model.safetensors'), encodeSafetensors(tensors));
  for (const f of ['config.json', 'inputs.json', 'expected.json']) fs.copyFileSync(path.join(TIED, f), path.join(dir, f));
  return dir;
}

describe('GPT-2 in the hub layout (bare-model keys, mask buffers, tied head)', function () {
  if (!fs.existsSync(path.join(TIED, 'model.safetensors'))) return;
  const inputs = readJson(path.join(TIED, 'inputs.json')) as Record<string, TensorJson>;
  const expected = readJson(path.join(TIED, 'expected.json')) as Record<string, TensorJson>;

  it("should load into GPT2LMHeadModel with transformers' logits to 1e-4, reporting the renamed keys and the ignored buffers", () => {
    const dir = hubLayoutCopy();
    const { model, report } = loadCheckpointWithReport(dir, registryFixture());
    const ids = tensorFromJson(inputs.input_ids, 'int32', 'input_ids');
    const logits = model.forward(ids);
    expect(maxAbsDiff(logits, expected.logits.data)).to.be.at.most(1e-4);
    expect(report.family).to.equal('gpt');
    expect(report.renamed.length).to.equal(report.loaded.length);
    expect(report.renamed[0]).to.deep.equal({ parameter: 'transformer.wte.weight', from: 'wte.weight' });
    expect([...report.ignored].sort()).to.deep.equal(['h.0.attn.bias', 'h.0.attn.masked_bias', 'h.1.attn.bias', 'h.1.attn.masked_bias']);
    expect(report.tied).to.deep.equal([]);
    tf.dispose([ids, logits]);
    model.dispose();
  });

  it('should generate with the kv-cache exactly as the prefixed checkpoint does', () => {
    const hub = loadCheckpoint(hubLayoutCopy(), registryFixture()) as GptModel;
    const prefixed = loadCheckpoint(TIED, registryFixture()) as GptModel;
    const prompts = [[1, 2, 3, 4], [9, 8, 7, 6]];
    const a = generate(hub, prompts, { maxNewTokens: 12, temperature: 0 });
    const b = generate(prefixed, prompts, { maxNewTokens: 12, temperature: 0 });
    expect(a.decoding).to.equal('kv-cache');
    expect(a.tokens).to.deep.equal(b.tokens);
    hub.dispose();
    prefixed.dispose();
  });

  it('should load a prefixed (head-model) file into the bare GPT2Model too', () => {
    const dir = hubLayoutCopy();
    fs.copyFileSync(path.join(TIED, 'model.safetensors'), path.join(dir, 'model.safetensors'));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...readJson(path.join(TIED, 'config.json')), architectures: ['GPT2Model'] }));
    const { model, report } = loadCheckpointWithReport(dir, registryFixture());
    expect(report.architecture).to.equal('GPT2Model');
    expect(report.renamed.map((r) => r.from).every((k) => k.startsWith('transformer.'))).to.equal(true);
    expect(report.renamed.length).to.equal(report.loaded.length);
    model.dispose();
  });

  it('should match through swapformer infer', function () {
    this.timeout(120000);
    const dir = hubLayoutCopy();
    const output = path.join(dir, 'out.json');
    const r = spawnSync(process.execPath, [CLI, 'infer', '--checkpoint', dir, '--input', path.join(dir, 'inputs.json'), '--output', output], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    expect(maxAbsDiff((readJson(output) as Record<string, TensorJson>).logits.data, expected.logits.data)).to.be.at.most(1e-4);
  });

  it('should list the first missing and unexpected keys and name the expected family', () => {
    const dir = hubLayoutCopy((t) => {
      t.set('h.0.attn.c_atn.weight', t.get('h.0.attn.c_attn.weight')!);
      t.delete('h.0.attn.c_attn.weight');
    });
    const message = errorOf(() => loadCheckpoint(dir, registryFixture())).message;
    expect(message).to.include('does not match the GPT graph').and.include('family "gpt", GPT2LMHeadModel');
    expect(message).to.include('missing keys (1): transformer.h.0.attn.c_attn.weight').and.include('unexpected keys (1): h.0.attn.c_atn.weight');
    expect(message).to.include('with or without the base-model prefix "transformer."');
  });
});
