import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildModel, saveCheckpoint, tensorToJson, type GptModel } from '@swapformer/models';
import { gptConfigFixture, pixelsFixture, registryFixture, vitConfigFixture } from '../../../models/test/models/modelFixtures';

const CLI = path.resolve(__dirname, '../../bin/swapformer.js');
const temp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-flags-'));

const REPO = path.resolve(__dirname, '../../..');

/** Runs the CLI from the repository (plugins are discovered from the working directory). */
function swapformer(_dir: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: REPO });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A saved ViT checkpoint and an input file for it, in a fresh folder. */
function vitFixture(): { dir: string; checkpoint: string; input: string } {
  const dir = temp();
  const model = buildModel(vitConfigFixture, undefined, registryFixture());
  saveCheckpoint(model, path.join(dir, 'ckpt'));
  model.dispose();
  const x = pixelsFixture(1, 3, 8);
  fs.writeFileSync(path.join(dir, 'in.json'), JSON.stringify({ pixel_values: tensorToJson(x) }));
  x.dispose();
  return { dir, checkpoint: path.join(dir, 'ckpt'), input: path.join(dir, 'in.json') };
}

/** A saved char-vocabulary GPT checkpoint. */
function gptFixture(): string {
  const dir = temp();
  const model = buildModel({ ...gptConfigFixture, tokenizer: { type: 'char', vocab: 'abcdefghijklmnopqrstuvw' } }, undefined, registryFixture()) as GptModel;
  saveCheckpoint(model, dir);
  model.dispose();
  return dir;
}

describe('model commands: outputs and the flags their errors name', function () {
  this.timeout(120000);

  describe('infer --output', () => {
    it('should print the result on stdout for "-" and create no file named "-"', () => {
      const { dir, checkpoint, input } = vitFixture();
      const r = swapformer(dir, 'infer', '--checkpoint', checkpoint, '--input', input, '--output', '-');
      expect(r.code, r.stderr).to.equal(0);
      expect((JSON.parse(r.stdout) as { logits: { shape: number[] } }).logits.shape).to.deep.equal([1, 5]);
      expect(fs.existsSync(path.join(REPO, '-'))).to.equal(false);
      expect(r.stderr).to.include('wrote stdout');
    });

    it('should write through a symlinked output and keep the link', () => {
      const { dir, checkpoint, input } = vitFixture();
      fs.symlinkSync('real.json', path.join(dir, 'out.json'));
      const r = swapformer(dir, 'infer', '--checkpoint', checkpoint, '--input', input, '--output', path.join(dir, 'out.json'));
      expect(r.code, r.stderr).to.equal(0);
      expect(fs.lstatSync(path.join(dir, 'out.json')).isSymbolicLink()).to.equal(true);
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'real.json'), 'utf8'))).to.have.property('logits');
    });

    it('should refuse a directory as output with exit code 1 and no stack trace', () => {
      const { dir, checkpoint, input } = vitFixture();
      const r = swapformer(dir, 'infer', '--checkpoint', checkpoint, '--input', input, '--output', dir);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.include('is a directory').and.not.match(/\n\s+at .*\.js:\d+/);
    });

    it('should print its summary as JSON with --json', () => {
      const { dir, checkpoint, input } = vitFixture();
      const r = swapformer(dir, 'infer', '--checkpoint', checkpoint, '--input', input, '--output', path.join(dir, 'o.json'), '--json');
      expect(r.code, r.stderr).to.equal(0);
      expect(JSON.parse(r.stdout)).to.deep.include({ architecture: 'ViTForImageClassification', operators: ['exact', 'exact'], output: path.join(dir, 'o.json') });
    });
  });

  describe('operators that need training', () => {
    it('should name --allow-untrained-operators in infer\'s error, accept it, and take the old --training with a warning', () => {
      // a GPT: its fused c_attn gives TOST's query projection (a ViT's separate key/value would be unexpected keys)
      const dir = gptFixture();
      fs.writeFileSync(path.join(dir, 'in.json'), JSON.stringify({ input_ids: { shape: [1, 3], data: [0, 1, 2] } }));
      const args = ['infer', '--checkpoint', dir, '--input', path.join(dir, 'in.json'), '--output', path.join(dir, 'o.json'), '--operator', 'tost'];
      const refused = swapformer(dir, ...args);
      expect(refused.code).to.equal(1);
      expect(refused.stderr).to.include('--allow-untrained-operators');
      const allowed = swapformer(dir, ...args, '--allow-untrained-operators');
      expect(allowed.code, allowed.stderr).to.equal(0);
      const old = swapformer(dir, ...args, '--training');
      expect(old.code, old.stderr).to.equal(0);
      expect(old.stderr).to.include('--training is deprecated; use --allow-untrained-operators');
    });

    it('should let generate use a non-drop-in operator with --allow-untrained-operators', () => {
      const dir = gptFixture();
      const args = ['generate', '--checkpoint', dir, '--prompt', 'abc', '--max-new-tokens', '3', '--operator', 'tost'];
      const refused = swapformer(dir, ...args);
      expect(refused.code).to.equal(1);
      expect(refused.stderr).to.include('--allow-untrained-operators');
      const allowed = swapformer(dir, ...args, '--allow-untrained-operators', '--json');
      expect(allowed.code, allowed.stderr).to.equal(0);
      expect((JSON.parse(allowed.stdout) as { tokens: number[] }).tokens).to.have.length(3);
    });
  });

  it('should quote --decoding recompute for an operator without a decoding state, and generate with it', () => {
    const dir = gptFixture();
    const args = ['generate', '--checkpoint', dir, '--prompt', 'abc', '--max-new-tokens', '2', '--operator', 'thinformer'];
    const refused = swapformer(dir, ...args);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.include('--decoding recompute').and.include('"thinformer"').and.not.include('in the model config');
    const fixed = swapformer(dir, ...args, '--decoding', 'recompute', '--json');
    expect(fixed.code, fixed.stderr).to.equal(0);
    expect((JSON.parse(fixed.stdout) as { decoding: string }).decoding).to.equal('recompute');
  });
});
