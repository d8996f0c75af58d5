import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const CORE = path.resolve(__dirname, '../dist');

/** Runs a user's script that starts the backend and then fails, the way a user runs it: plain node. */
function runUserScript(body: string): { code: number | null; stderr: string; file: string } {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-user-')), 'user-script.js');
  fs.writeFileSync(file, `const { useBackend } = require(${JSON.stringify(CORE)});\n${body}\n`);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', cwd: path.resolve(__dirname, '../..'), timeout: 60000 });
  return { code: r.status, stderr: r.stderr, file };
}

describe('useBackend in the user\'s process', function () {
  this.timeout(120000);

  it('should leave an uncaught exception after useBackend("wasm") to Node: exit 1 with the user\'s stack', () => {
    const r = runUserScript(`useBackend('wasm').then(() => setTimeout(function userCode() { throw new Error('user failure'); }, 0));`);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr).to.include('Error: user failure').and.include(r.file).and.not.include('tf-backend-wasm');
  });

  it('should leave an unhandled rejection after useBackend("wasm") to Node: exit 1, reported as a rejection', () => {
    const r = runUserScript(`useBackend('wasm').then(() => Promise.reject(new Error('user rejection')));`);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr).to.include('Error: user rejection').and.include(r.file).and.not.include('tf-backend-wasm');
  });

  it('should keep the listeners the program had before', () => {
    const r = runUserScript(`process.on('uncaughtException', (e) => { process.stderr.write('handled by the user: ' + e.message); process.exit(3); });
      useBackend('wasm').then(() => setTimeout(() => { throw new Error('x'); }, 0));`);
    expect(r.code).to.equal(3);
    expect(r.stderr).to.equal('handled by the user: x');
  });
});

describe('@swapformer/core and tfjs-core', () => {
  it('should re-export the tfjs-core copy the library uses, so user tensors share its engine', () => {
    const script = `const core = require(${JSON.stringify(CORE)});
      const own = require(require.resolve('@tensorflow/tfjs-core', { paths: [${JSON.stringify(CORE)}] }));
      core.useBackend('wasm').then(() => {
        const x = core.tf.tensor1d([1, 2, 3]);
        process.stdout.write(JSON.stringify({ same: core.tf.engine() === own.engine(), backend: core.tf.getBackend(), sum: core.tf.sum(x).dataSync()[0] }));
      });`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60000 });
    expect(r.status, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal({ same: true, backend: 'wasm', sum: 6 });
  });
});
