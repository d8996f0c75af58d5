/**
 * `swapformer create-plugin` for real: scaffold a package with the CLI, build it with tsc, type-
 * check its tests and run them (the conformance kit) with mocha, in child processes, with no edit.
 * The package is written under the repo's ignored tmp/ so it resolves the workspace's core.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { validatePlugin } from '@swapformer/core';
import { discoverPlugins } from '@swapformer/registry';
import { REPO_ROOT, run, runCli, workspaceTempDir } from '../reliability/support/processes';

const TSC = path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
const MOCHA = path.join(REPO_ROOT, 'node_modules/mocha/bin/mocha.js');

describe('swapformer create-plugin', function () {
  this.timeout(300000);
  let dir = '';
  let pkgDir = '';

  before(() => {
    dir = workspaceTempDir('create-plugin');
    const r = runCli(['create-plugin', 'linear-probe', '--description', 'A probe operator.'], { cwd: dir });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('created swapformer-plugin-linear-probe (operator "linear-probe", export linearProbePlugin)');
    pkgDir = path.join(dir, 'swapformer-plugin-linear-probe');
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('should write a package.json with the keyword, export field and peer dependency on the core', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { name: string; keywords: string[]; swapformer: { plugin: string }; peerDependencies: Record<string, string> };
    expect(pkg.name).to.equal('swapformer-plugin-linear-probe');
    expect(pkg.keywords).to.include('swapformer-plugin');
    expect(pkg.swapformer).to.deep.equal({ plugin: 'linearProbePlugin' });
    expect(pkg.peerDependencies['@swapformer/core']).to.match(/^\^2\./);
    expect(fs.readdirSync(pkgDir).sort()).to.deep.equal(['.gitignore', '.mocharc.json', 'README.md', 'package.json', 'src', 'test', 'tsconfig.json', 'tsconfig.test.json']);
  });

  it('should build with tsc and type-check its tests, unedited', () => {
    const build = run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: pkgDir, timeoutMs: 120000 });
    expect(build.code, build.stdout + build.stderr).to.equal(0);
    const typecheck = run(process.execPath, [TSC, '-p', 'tsconfig.test.json'], { cwd: pkgDir, timeoutMs: 120000 });
    expect(typecheck.code, typecheck.stdout + typecheck.stderr).to.equal(0);
    const plugin = (require(path.join(pkgDir, 'dist/index.js')) as Record<string, unknown>).linearProbePlugin;
    validatePlugin(plugin);
    expect(plugin).to.have.nested.property('meta.name', 'linear-probe');
  });

  it('should pass the conformance kit and its own tests with its own mocha config', () => {
    const r = run(process.execPath, [MOCHA, '--reporter', 'dot'], { cwd: pkgDir, timeoutMs: 180000 });
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/(\d+) passing/).and.not.match(/failing|pending/);
    expect(Number(/(\d+) passing/.exec(r.stdout)![1])).to.be.at.least(10);
  });

  it('should be discoverable once it sits in node_modules', () => {
    const nm = path.join(dir, 'consumer/node_modules');
    fs.mkdirSync(nm, { recursive: true });
    fs.symlinkSync(pkgDir, path.join(nm, 'swapformer-plugin-linear-probe'), 'dir');
    expect(discoverPlugins(path.join(dir, 'consumer')).map((p) => p.packageName)).to.include('swapformer-plugin-linear-probe');
  });

  it('should refuse to overwrite the existing package and leave it untouched', () => {
    const before = fs.readFileSync(path.join(pkgDir, 'src/index.ts'), 'utf8');
    const r = runCli(['create-plugin', 'linear-probe'], { cwd: dir });
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('already exists and is not an empty directory');
    expect(fs.readFileSync(path.join(pkgDir, 'src/index.ts'), 'utf8')).to.equal(before);
  });
});
