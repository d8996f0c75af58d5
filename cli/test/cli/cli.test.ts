import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFakePackage } from '../../../test/reliability/support/fakePackages';

const CLI = path.resolve(__dirname, '../../dist/cli.js');

function swapformerIn(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function swapformer(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: path.resolve(__dirname, '../../..') });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tempConfig(content: unknown): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-cli-')), 'config.json');
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('swapformer CLI', () => {
  it('should list exact with its capabilities as JSON', () => {
    const r = swapformer('list', '--json');
    expect(r.code).to.equal(0);
    const listed = JSON.parse(r.stdout) as { operators: Array<{ name: string; package: string; capabilities: { causal: string } }> };
    const exact = listed.operators.find((o) => o.name === 'exact');
    expect(exact?.package).to.equal('@swapformer/plugin-exact');
    expect(exact?.capabilities.causal).to.equal('native');
  });

  describe('validate', () => {
    it('should accept the smallest operator selection', () => {
      const r = swapformer('validate', tempConfig({ attention: { name: 'exact', options: {} } }));
      expect(r.code).to.equal(0);
      expect(r.stdout).to.include('valid attention config');
    });

    it('should fail on an unknown key naming its path, with one message and no stack trace', () => {
      const r = swapformer('validate', tempConfig({ attention: { name: 'exact', options: {}, bogus: 1 } }));
      expect(r.code).to.equal(1);
      expect(r.stderr).to.include('at /attention/bogus: unknown key "bogus"');
      expect(r.stderr).not.to.match(/\n\s+at .*\.js:\d+/);
    });

    it('should print the stack trace only with --verbose', () => {
      const file = tempConfig({ attention: { name: 'exact', options: { path: 'fast' } } });
      expect(swapformer('validate', file).stderr).to.include('at /attention/options/path').and.not.match(/\.js:\d+:\d+/);
      expect(swapformer('--verbose', 'validate', file).stderr).to.match(/\.js:\d+:\d+/);
    });

    it('should fail on an unknown operator listing the installed ones', () => {
      const r = swapformer('validate', tempConfig({ attention: { name: 'exakt' } }));
      expect(r.code).to.equal(1);
      expect(r.stderr).to.include('unknown attention operator "exakt"').and.include('Did you mean "exact"?');
    });

    it('should check operator names (did you mean) and options in run configs', () => {
      const checkpoint = path.resolve(__dirname, '../../../examples/checkpoints/vit-fmnist-exact');
      const run = (operators: unknown[]) => ({ vit: { checkpoint, swapLayers: { first: 1 }, operators } });
      const typo = swapformer('validate', tempConfig(run([{ name: 'perfomer' }])));
      expect(typo.code).to.equal(1);
      expect(typo.stderr).to.include('at /vit/operators/0').and.include('Did you mean "performer"?');
      const option = swapformer('validate', tempConfig(run([{ name: 'thinformer', options: { g: '2' } }])));
      expect(option.code).to.equal(1);
      expect(option.stderr).to.include('at /vit/operators/0').and.include('/g');
      const mix = swapformer('validate', tempConfig(run([{ label: 'mix', attention: { default: { name: 'exact' }, overrides: [{ layers: 0, name: 'perfomer' }] } }])));
      expect(mix.stderr).to.include('at /vit/operators/0/attention/overrides/0').and.include('Did you mean "performer"?');
      expect(swapformer('validate', tempConfig(run([{ name: 'performer' }, { name: 'thinformer', options: { g: 2 } }]))).code).to.equal(0);
    });

    describe('having a config that names a checkpoint', () => {
      const checkpoints = path.resolve(__dirname, '../../../examples/checkpoints');
      const gpt = path.join(checkpoints, 'gpt-sotu-exact');
      const vit = path.join(checkpoints, 'vit-fmnist-exact');
      // every bundled operator is causal now: a project with a bidirectional-only plugin installed
      let project = '';
      before(() => {
        project = fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-noncausal-'));
        writeFakePackage(path.join(project, 'node_modules'), { name: 'swapformer-plugin-bidirectional', meta: { name: 'bidirectional' }, capabilities: { keyPaddingMask: true, dropInForPretrained: true } }, path.join(project, 'loaded.txt'));
      });
      after(() => fs.rmSync(project, { recursive: true, force: true }));

      it('should check --checkpoint: layers that do not exist and a non-causal operator in a GPT', () => {
        const layers = swapformer('validate', tempConfig({ attention: { default: { name: 'exact' }, overrides: [{ layers: 7, name: 'performer' }] } }), '--checkpoint', gpt);
        expect(layers.code).to.equal(1);
        expect(layers.stderr).to.include('GPT2LMHeadModel, 4 layers').and.include('names layer 7, but the model has 4 layers');
        const causal = swapformerIn(project, 'validate', tempConfig({ attention: { name: 'bidirectional' } }), '--checkpoint', gpt);
        expect(causal.code).to.equal(1);
        expect(causal.stderr).to.include('causal masking');
        const onVit = swapformerIn(project, 'validate', tempConfig({ attention: { name: 'bidirectional' } }), '--checkpoint', vit);
        expect(onVit.code, onVit.stderr).to.equal(0);
      });

      it('should check a run config against the checkpoints it names', () => {
        const swap = swapformer('validate', tempConfig({ vit: { checkpoint: vit, swapLayers: { first: 9 }, operators: [{ name: 'exact' }] } }));
        expect(swap.code).to.equal(1);
        expect(swap.stderr).to.include('at /vit/swapLayers').and.include('the model has 5 layers');
        const missing = swapformer('validate', tempConfig({ gpt: { checkpoint: 'no-such-checkpoint', operators: [{ name: 'exact' }] } }));
        expect(missing.code).to.equal(1);
        expect(missing.stderr).to.include('at /gpt/checkpoint: no checkpoint at');
        const note = swapformerIn(project, 'validate', tempConfig({ gpt: { checkpoint: gpt, operators: [{ name: 'exact' }, { name: 'bidirectional' }] } }));
        expect(note.code, note.stderr).to.equal(0);
        expect(note.stderr).to.include('"bidirectional" has no causal support');
      });
    });

    it('should fail on invalid JSON and on a missing file with readable messages', () => {
      const bad = swapformer('validate', tempConfig('{"attention": '));
      expect(bad.code).to.equal(1);
      expect(bad.stderr).to.include('is not valid JSON');
      const missing = swapformer('validate', '/nonexistent/config.json');
      expect(missing.code).to.equal(1);
      expect(missing.stderr).to.include('no such file');
    });
  });

  it('should compare operators as JSON with exact as the reference row', function () {
    this.timeout(120000);
    const r = swapformer('compare', '--operators', 'exact', '--n', '64', '--heads', '2', '--dim', '16', '--repeats', '1', '--json');
    expect(r.code, r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout) as { rows: Array<{ operator: string; relativeError: number; speedupVsExact: number }>; backend: string };
    expect(report.backend).to.equal('wasm');
    expect(report.rows[0]).to.include({ operator: 'exact', relativeError: 0, speedupVsExact: 1 });
  });

  it('should refuse bad numeric flags naming the flag and value', () => {
    const r = swapformer('compare', '--n', 'ten');
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('--n must be an integer').and.include('"ten"');
  });

  it('should exit 1 on an unknown command', () => {
    expect(swapformer('frobnicate').code).to.equal(1);
  });
});
