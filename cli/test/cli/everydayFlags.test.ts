import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createProgressBar, formatDuration } from '../../src/cli/progressBar';

const CLI = path.resolve(__dirname, '../../bin/swapformer.js');
const REPO = path.resolve(__dirname, '../../..');
const temp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-everyday-'));

function swapformer(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: REPO, timeout: 180000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A stream that records what the bar writes. */
function recorder(): NodeJS.WriteStream & { text: () => string } {
  const chunks: string[] = [];
  return { isTTY: false, write: (s: string) => chunks.push(s) > 0, text: () => chunks.join('') } as unknown as NodeJS.WriteStream & { text: () => string };
}

describe('everyday CLI expectations', function () {
  this.timeout(240000);

  it('should report every installed @swapformer package with --version', () => {
    const r = swapformer('--version');
    expect(r.code).to.equal(0);
    const core = JSON.parse(fs.readFileSync(path.join(REPO, 'core/package.json'), 'utf8')) as { version: string };
    expect(r.stdout).to.match(new RegExp(`@swapformer/core +${core.version.replace(/\./g, '\\.')}`));
    expect(r.stdout).to.match(/@swapformer\/plugin-exact +\d+\.\d+\.\d+/).and.match(/@swapformer\/models +\d/);
  });

  it('should print validate\'s verdict as JSON, valid or not', () => {
    const dir = temp();
    fs.writeFileSync(path.join(dir, 'ok.json'), JSON.stringify({ attention: { name: 'exact' } }));
    fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ attention: { name: 'exakt' } }));
    const ok = swapformer('validate', path.join(dir, 'ok.json'), '--json');
    expect(ok.code).to.equal(0);
    expect(JSON.parse(ok.stdout)).to.deep.equal({ file: path.join(dir, 'ok.json'), valid: true, kind: 'attention' });
    const bad = swapformer('validate', path.join(dir, 'bad.json'), '--json');
    expect(bad.code).to.equal(1);
    const verdict = JSON.parse(bad.stdout) as { valid: boolean; error: { kind: string; message: string } };
    expect(verdict.valid).to.equal(false);
    expect(verdict.error.kind).to.equal('invalid-config');
    expect(verdict.error.message).to.include('Did you mean "exact"?');
  });

  it('should describe a scaffolded plugin as JSON with create-plugin --json', () => {
    const dir = path.join(temp(), 'plugin');
    const r = swapformer('create-plugin', 'local-window', '--dir', dir, '--json');
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout) as { package: string; operator: string; directory: string; files: string[] };
    expect(out).to.include({ package: 'swapformer-plugin-local-window', operator: 'local-window', directory: dir });
    expect(out.files).to.include('package.json');
    for (const f of out.files) expect(fs.existsSync(path.join(dir, f)), f).to.equal(true);
  });

  it('should print train\'s result as JSON with --json, with steps/s and an ETA on stderr', () => {
    const dir = temp();
    const config = {
      task: 'sotu',
      model: { model: 'gpt', nPositions: 16, hiddenSize: 8, numLayers: 1, numHeads: 1, intermediateSize: 16 },
      attention: { name: 'exact' },
      data: { contextLength: 16, heldOutFraction: 0.1, validationWindows: 1 },
      schedule: { steps: 4, warmupSteps: 0 },
      batchSize: 1,
      eval: { every: 100000, batchSize: 1 },
      checkpointEvery: 100000,
      logEvery: 1,
      output: path.join(dir, 'out'),
      backend: 'wasm',
    };
    fs.writeFileSync(path.join(dir, 'train.json'), JSON.stringify(config));
    const r = swapformer('train', '--config', path.join(dir, 'train.json'), '--json');
    expect(r.code, r.stderr).to.equal(0);
    const result = JSON.parse(r.stdout) as { status: string; steps: number; outputs: { final: string } };
    expect(result).to.include({ status: 'finished', steps: 4 });
    expect(fs.existsSync(path.join(result.outputs.final, 'config.json'))).to.equal(true);
    expect(r.stderr).to.match(/steps\/s|s\/step/).and.match(/ETA \d+:\d\d/);
  });

  describe('progress bars', () => {
    it('should show the rate in the caller\'s unit and the remaining time', () => {
      let clock = 0;
      const out = recorder();
      const bar = createProgressBar(10, 'train', out, { unit: 'steps', perTick: 50, now: () => clock });
      clock = 4000;
      bar.tick();
      clock = 8000;
      bar.tick();
      // 2 ticks × 50 steps in 8 s: 12.5 steps/s; 8 ticks left at 4 s each: 32 s
      expect(out.text().trim().split('\n').pop()).to.include('2/10').and.include('13 steps/s').and.include('ETA 0:32');
    });

    it('should turn a slow rate around and format long durations', () => {
      let clock = 0;
      const out = recorder();
      const bar = createProgressBar(3, 'bench', out, { unit: 'cells', now: () => clock });
      clock = 20000;
      bar.tick();
      expect(out.text()).to.include('20.0 s/cell').and.include('ETA 0:40');
      expect(formatDuration(3725)).to.equal('1:02:05');
    });
  });
});
