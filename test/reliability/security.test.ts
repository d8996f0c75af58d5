/**
 * Configs never cause arbitrary code to load: plugins load only by npm package name from
 * node_modules, after their package.json passed the keyword and naming checks; names that look
 * like paths, URLs or modules never reach `require`; the built code has no eval/Function/vm and
 * no dynamic `require` outside the two places that load packages by name.
 */
import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createMemoryLogger, createSwapformerContainer } from '@swapformer/core';
import { createOperatorRegistry, discoverPlugins, registerInstalledPlugins } from '@swapformer/registry';
import { HOSTILE_NAMES } from './corpus/configCorpus';
import { loadedPackages, writeFakePackage } from './support/fakePackages';
import { REPO_ROOT, runCli } from './support/processes';

/** Built JavaScript of every package (and the example plugin, when built). */
function builtFiles(): string[] {
  const roots = ['core/dist', 'kernels/dist', 'registry/dist', 'models/dist', 'cli/dist', 'schemas/dist', ...fs.readdirSync(path.join(REPO_ROOT, 'plugins')).map((p) => `plugins/${p}/dist`), 'examples/third-party-plugin/dist'];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) out.push(p);
    }
  };
  for (const r of roots) if (fs.existsSync(path.join(REPO_ROOT, r))) walk(path.join(REPO_ROOT, r));
  return out;
}

/** Code lines (comments dropped) of a built file. */
function codeLines(file: string): Array<{ line: number; text: string }> {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((text, i) => ({ line: i + 1, text }))
    .filter(({ text }) => !/^\s*(\/\/|\*|\/\*)/.test(text));
}

/**
 * Built files allowed to do what the scans below otherwise refuse, and why. Keep this list short:
 * every entry is a place where code is loaded or a process started on purpose, never from a config.
 */
const ALLOWED_DYNAMIC_LOADS: Readonly<Record<string, string>> = {
  'core/dist/backend/useBackend.js': 'loads a tfjs backend package from a fixed list, by name',
  'registry/dist/discovery/discoverPlugins.js': 'loads a discovered plugin package by its npm name (keyword- and name-checked)',
  'models/dist/models/ensureGradients.js': "loads tfjs-core's gradient registrations from a fixed module path",
};
const ALLOWED_PROCESSES: Readonly<Record<string, string>> = {
  'cli/dist/bench/peers/pythonPeer.js': 'bench starts the python peer (a fixed script) with the interpreter named by its --python flag',
  'kernels/dist/wasm/workerHost.js': 'the kernel pool (the fused attention kernel, plugins\' kernels) runs WebAssembly tasks on worker threads whose source is a constant string',
  'kernels/dist/esm/index.js': 'bundles wasm/workerHost (above)',
};
/** `new Worker(source, { eval: true })` runs a string as code; allowed only for constant sources listed here. */
const ALLOWED_WORKER_EVAL: Readonly<Record<string, string>> = {
  'kernels/dist/wasm/workerHost.js': 'NODE_WORKER_SOURCE is a constant in the same file',
  'kernels/dist/esm/index.js': 'bundles wasm/workerHost (above)',
};

describe('security', () => {
  describe('having hostile packages in node_modules', () => {
    let dir = '';
    let marker = '';
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-security-'));
      marker = path.join(dir, 'loaded.txt');
      const nm = path.join(dir, 'node_modules');
      writeFakePackage(nm, { name: 'swapformer-plugin-good', meta: { name: 'good' } }, marker);
      writeFakePackage(nm, { name: 'no-keyword', keywords: ['swapformer'], meta: { name: 'nokw' } }, marker);
      writeFakePackage(nm, { name: 'no-field', swapformer: null }, marker);
      writeFakePackage(nm, { name: 'code-in-export-name', swapformer: { plugin: "x; require('child_process')" } }, marker);
      writeFakePackage(nm, { name: 'export-name-object', swapformer: { plugin: { evil: true } } }, marker);
      writeFakePackage(nm, { name: '@swapformer/plugin-exact', folder: 'innocent-looking' }, marker);
      writeFakePackage(nm, { name: '../escape', folder: 'escape' }, marker);
      writeFakePackage(nm, { name: 'bad-json', rawPackageJson: '{"name": "bad-json", "keywords": ["swapformer-plugin"],' }, marker);
      writeFakePackage(nm, { name: 'huge-manifest', rawPackageJson: JSON.stringify({ name: 'huge-manifest', keywords: ['swapformer-plugin'], swapformer: { plugin: 'fakePlugin' }, pad: 'x'.repeat(2 << 20) }) }, marker);
      const fifo = path.join(nm, 'fifo-manifest');
      fs.mkdirSync(fifo);
      execFileSync('mkfifo', [path.join(fifo, 'package.json')]);
      writeFakePackage(nm, { name: 'swapformer-plugin-proto', swapformer: { plugin: 'constructor' }, exportAs: 'fakePlugin', meta: { name: 'proto' } }, marker);
      writeFakePackage(nm, { name: 'swapformer-plugin-broken-schema', meta: { name: 'broken-schema' }, optionsSchema: { type: 'object', additionalProperties: false, properties: { x: { type: 'integr', default: 1, description: 'x' } } } }, marker);
      writeFakePackage(nm, { name: 'swapformer-plugin-throws', code: "throw new Error('import-time failure');\n" }, marker);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('should discover only keyword-carrying packages whose folder matches their valid name, without running code', () => {
      const found = discoverPlugins(dir).map((p) => p.packageName);
      expect(found).to.deep.equal(['swapformer-plugin-broken-schema', 'swapformer-plugin-good', 'swapformer-plugin-proto', 'swapformer-plugin-throws']);
      expect(loadedPackages(marker)).to.deep.equal([]);
    });

    it('should load only the discovered packages, register the good one and refuse the others by name with the reason', () => {
      const registry = createOperatorRegistry(createSwapformerContainer({ logger: createMemoryLogger() }));
      const report = registerInstalledPlugins(registry, dir);
      expect(registry.list().map((r) => r.meta.name)).to.deep.equal(['good']);
      expect(loadedPackages(marker).sort()).to.deep.equal(['swapformer-plugin-broken-schema', 'swapformer-plugin-good', 'swapformer-plugin-proto', 'swapformer-plugin-throws']);
      const reasons = Object.fromEntries(report.refused.map((r) => [r.package.packageName, r.reason]));
      expect(reasons['swapformer-plugin-proto']).to.include('has no export "constructor"');
      expect(reasons['swapformer-plugin-broken-schema']).to.include('plugin package "swapformer-plugin-broken-schema" has an optionsSchema that does not compile');
      expect(reasons['swapformer-plugin-throws']).to.include('failed to load: import-time failure');
    });
  });

  describe('having configs that name code instead of an operator', () => {
    let dir = '';
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-noload-'));
      // modules a naive loader would pick up for these names
      for (const p of ['evil.js', 'evil/index.js', 'node_modules/evil/index.js', 'plugin.js']) {
        fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
        fs.writeFileSync(path.join(dir, p), `require('fs').writeFileSync(${JSON.stringify(path.join(dir, 'PWNED'))}, 'x');`);
      }
      fs.writeFileSync(path.join(dir, 'node_modules/evil/package.json'), JSON.stringify({ name: 'evil', main: 'index.js' }));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    for (const name of ['./evil', './evil.js', `${'/'}${'evil'}`, 'evil', 'file:./plugin.js', 'node_modules/evil']) {
      it(`should refuse ${JSON.stringify(name)} without loading anything`, () => {
        fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ attention: { name } }));
        const r = runCli(['validate', 'config.json'], { cwd: dir });
        expect(r.code).to.equal(1);
        expect(r.stderr).to.match(/at \/attention(\/name)?: /);
        expect(fs.existsSync(path.join(dir, 'PWNED'))).to.equal(false);
      });
    }

    it(`should keep ${HOSTILE_NAMES.length} hostile names out of the operator-name pattern`, () => {
      const pattern = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
      expect(HOSTILE_NAMES.filter((n) => pattern.test(n) && n.length <= 40)).to.deep.equal([]);
    });
  });

  describe('having the built packages', () => {
    const files = builtFiles();

    it(`should contain no eval, Function constructor or vm code in ${files.length} built files`, () => {
      expect(files.length).to.be.above(20);
      const banned = /\beval\s*\(|\bnew\s+Function\s*\(|\bFunction\s*\(\s*['"`]|\bvm\.(runIn|Script|compileFunction)|\brequire\(\s*['"](node:)?vm['"]\)/;
      const hits = files.flatMap((f) => codeLines(f).filter(({ text }) => banned.test(text)).map(({ line, text }) => `${path.relative(REPO_ROOT, f)}:${line}: ${text.trim()}`));
      expect(hits, hits.join('\n')).to.deep.equal([]);
      const workerEval = files.filter((f) => !(path.relative(REPO_ROOT, f) in ALLOWED_WORKER_EVAL) && codeLines(f).some(({ text }) => /\beval:\s*true\b/.test(text))).map((f) => path.relative(REPO_ROOT, f));
      expect(workerEval, `workers started from strings: ${workerEval.join(', ')}`).to.deep.equal([]);
    });

    it('should start child processes only where listed', () => {
      const spawning = /\brequire\(\s*['"](node:)?child_process['"]\)|\brequire\(\s*['"](node:)?worker_threads['"]\)/;
      const hits = files.filter((f) => !(path.relative(REPO_ROOT, f) in ALLOWED_PROCESSES) && codeLines(f).some(({ text }) => spawning.test(text))).map((f) => path.relative(REPO_ROOT, f));
      expect(hits, hits.join('\n')).to.deep.equal([]);
    });

    it('should require modules by literal names, except where packages are loaded by name', () => {
      const dynamic = files.flatMap((f) =>
        codeLines(f)
          .filter(({ text }) => /\brequire\(\s*[^'"\s)]/.test(text) || /\bcreateRequire\)?\(/.test(text) || /\bimport\(\s*[^'"\s)]/.test(text))
          .map(({ line, text }) => ({ file: path.relative(REPO_ROOT, f), at: `${path.relative(REPO_ROOT, f)}:${line}: ${text.trim()}` })),
      );
      const unexpected = dynamic.filter((d) => !(d.file in ALLOWED_DYNAMIC_LOADS)).map((d) => d.at);
      expect(unexpected, unexpected.join('\n')).to.deep.equal([]);
    });
  });
});
