import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const CLI = path.resolve(__dirname, '../../dist/cli.js');
const ROOT = path.resolve(__dirname, '../../..');

function swapformer(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: ROOT });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `swapformer adapt` of the committed exact char-GPT on cpu to `attention`, into a fresh folder that must not be created. */
function adaptGpt(attention: string) {
  const output = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'adapt-cli-')), 'run');
  const args = ['--checkpoint', 'examples/checkpoints/gpt-sotu-exact', '--config', 'examples/train-gpt-exact.json', '--backend', 'cpu'];
  return { output, ...swapformer('adapt', ...args, '--attention', attention, '--output', output) };
}

describe('swapformer adapt', () => {
  it('should document both stages, the budget flags and LoRA in --help', () => {
    const r = swapformer('adapt', '--help');
    expect(r.code).to.equal(0);
    const text = r.stdout.replace(/\s+/g, ' '); // commander wraps lines
    for (const flag of ['--transfer-steps', '--transfer-qk', '--finetune-steps', '--lora-rank', '--resume', 'attention transfer', 'merged on save']) expect(text).to.include(flag);
  });

  it('should refuse exact attention before loading any data: exit 1, one message, no stack, no output folder', () => {
    const r = adaptGpt('{"name": "exact"}');
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('nothing to adapt');
    expect(r.stderr).to.not.include('loading sotu data');
    expect(r.stderr).to.not.match(/\n\s+at /);
    expect(fs.existsSync(r.output)).to.equal(false);
  });

  it('should refuse a layer out of range of the checkpoint', () => {
    const r = adaptGpt('{"default": {"name": "exact"}, "overrides": [{"layers": 7, "name": "performer"}]}');
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('layer 7').and.include('4 layers');
    expect(fs.existsSync(r.output)).to.equal(false);
  });
});
