/**
 * The packages as a user gets them: every workspace package is published (with the repo's
 * `npm run release` script) to a real npm registry — Verdaccio on 127.0.0.1, proxying third-party
 * packages to the registry npm is configured with — and installed with plain `npm install` into
 * fresh projects outside the repo, whose scripts and bins run from a folder outside them:
 *
 * - `@swapformer/models` + `@swapformer/plugin-performer`: load the committed ViT checkpoint with
 *   Performer swapped into layer 0 by config; predictions equal the in-repo computation;
 * - `@swapformer/cli` + `@swapformer/plugin-thinformer`: `swapformer list --json` shows exactly
 *   exact (the CLI's dependency) and thinformer; validate accepts and refuses configs;
 * - `swapformer create-plugin` → `npm install` → `npm test` → `npm publish` to the same registry
 *   → installed into the first project and used by name;
 * - every ts/js code block of every README runs in the first project (doc-test).
 *
 * Skipped, with the reason, only when the upstream registry cannot be reached.
 */
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { CORE_API_VERSION, createMemoryLogger, createSwapformerContainer } from '@swapformer/core';
import { createOperatorRegistry, registerInstalledPlugins } from '@swapformer/registry';
import { loadCheckpoint } from '@swapformer/models';
import { maxAbsDiff } from '@swapformer/core/conformance';
import { REPO_ROOT, STACK_LINE, type ProcessResult } from '../reliability/support/processes';
import { runWith, startLocalRegistry, upstreamRegistry, type LocalRegistry } from './support/localRegistry';
import { readmeCodeBlocks, runnableScript, type ReadmeBlock } from './support/readmeBlocks';

const CHECKPOINT = path.join(REPO_ROOT, 'examples/checkpoints/vit-fmnist-exact');
const PERFORMER_IN_LAYER_0 = { default: { name: 'exact' }, overrides: [{ layers: [0], name: 'performer', options: { features: 64, seed: 3 } }] };
const PLUGIN = { name: 'scaled-softmax', packageName: 'swapformer-plugin-scaled-softmax' };
const INSTALL_FLAGS = ['--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'];

/** Two deterministic 28×28 "images" in [0, 1] (the checkpoint's input); the script reads them from pixels.json. */
const PIXELS = Array.from({ length: 2 * 28 * 28 }, (_, i) => ((i * 7919) % 256) / 255);

/** What the first project runs: load, swap by config, infer, print logits and predictions as JSON. */
const PREDICT_SCRIPT = `
const tf = require('@tensorflow/tfjs-core');
const { useBackend } = require('@swapformer/core');
const { createOperatorRegistry, registerInstalledPlugins } = require('@swapformer/registry');
const { loadCheckpoint } = require('@swapformer/models');
(async () => {
  const [checkpoint, backend, attention] = process.argv.slice(2);
  await useBackend(backend);
  const registry = createOperatorRegistry();
  const installed = registerInstalledPlugins(registry, { from: __dirname });
  const vit = loadCheckpoint(checkpoint, registry, { attention: JSON.parse(attention) });
  const pixels = tf.tensor4d(require('./pixels.json'), [2, 1, 28, 28]);
  const logits = vit.forward(pixels);
  const predictions = Array.from(tf.argMax(logits, 1).dataSync());
  process.stdout.write(JSON.stringify({
    registered: installed.registered.map((p) => p.packageName),
    refused: installed.refused.map((r) => r.reason),
    predictions,
    logits: Array.from(logits.dataSync()),
  }));
})().catch((error) => { process.stderr.write(String(error && error.stack)); process.exit(1); });
`;

interface Prediction {
  registered: string[];
  refused: string[];
  predictions: number[];
  logits: number[];
}

/** The same computation in this process, from the workspace's sources. */
function inRepoLogits(attention: unknown): tf.Tensor {
  const registry = createOperatorRegistry(createSwapformerContainer({ logger: createMemoryLogger() }));
  registerInstalledPlugins(registry, { plugins: ['@swapformer/plugin-exact', '@swapformer/plugin-performer'], from: REPO_ROOT });
  const vit = loadCheckpoint(CHECKPOINT, registry, { attention: attention as never });
  const pixels = tf.tensor4d(PIXELS, [2, 1, 28, 28]);
  const logits = vit.forward(pixels);
  pixels.dispose();
  vit.dispose();
  return logits;
}

function expectOk(r: ProcessResult, what: string): void {
  expect(r.code, `${what} failed (exit ${r.code}${r.timedOut ? ', timed out' : ''}):\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`).to.equal(0);
}

describe('packages published to a registry and installed by npm', function () {
  this.timeout(600000);
  let root = '';
  let registry: LocalRegistry | undefined;
  let app = '';
  let cliProject = '';
  let outside = '';
  const timings: Record<string, number> = {};
  let releaseOutput = '';

  const npm = async (args: string[], cwd: string, label: string) => {
    const r = await runWith(registry!.env, 'npm', args, { cwd, timeoutMs: 300000 });
    timings[label] = r.ms;
    expectOk(r, `npm ${args.join(' ')}`);
    return r;
  };
  const node = (args: string[], cwd = outside) => runWith(registry!.env, process.execPath, args, { cwd, timeoutMs: 120000 });
  const newProject = (name: string) => {
    const dir = path.join(root, name);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }));
    return dir;
  };

  before(async function () {
    const upstream = upstreamRegistry();
    if ('unreachable' in upstream) {
      process.stderr.write(`    (skipped: ${upstream.unreachable})\n`);
      this.skip();
    }
    root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-publish-')));
    outside = path.join(root, 'outside');
    fs.mkdirSync(outside);
    const started = Date.now();
    registry = await startLocalRegistry(path.join(root, 'verdaccio'), (upstream as { url: string }).url);
    timings.verdaccio = Date.now() - started;
    const release = await runWith(registry.env, process.execPath, [path.join(REPO_ROOT, 'scripts/release.cjs'), '--registry', registry.url], { cwd: REPO_ROOT, timeoutMs: 300000 });
    timings.release = release.ms;
    releaseOutput = release.stdout;
    expectOk(release, 'scripts/release.cjs');
    app = newProject('app');
    cliProject = newProject('cli-project');
    await Promise.all([
      npm(['install', '@swapformer/models', '@swapformer/plugin-performer', '@tensorflow/tfjs-core@4.22.0', ...INSTALL_FLAGS], app, 'install models + performer'),
      npm(['install', '@swapformer/cli', '@swapformer/plugin-thinformer', ...INSTALL_FLAGS], cliProject, 'install cli + thinformer'),
    ]);
  });

  after(async () => {
    await registry?.stop();
    if (Object.keys(timings).length) process.stdout.write(`    timings (ms): ${JSON.stringify(timings)}\n`);
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('should have published every workspace package, dependencies first', () => {
    const published = [...releaseOutput.matchAll(/^publish\s+(@swapformer\/[\w-]+)@/gm)].map((m) => m[1].replace('@swapformer/', ''));
    expect([...published].sort()).to.deep.equal(['cli', 'core', 'kernels', 'models', 'plugin-exact', 'plugin-kdeformer', 'plugin-levattention', 'plugin-performer', 'plugin-thinformer', 'plugin-tost', 'registry', 'schemas']);
    const at = (name: string) => published.indexOf(name);
    const plugins = published.filter((p) => p.startsWith('plugin-'));
    expect(at('schemas')).to.be.below(at('core'));
    expect(at('core')).to.be.below(at('kernels'));
    for (const plugin of plugins) expect(at('kernels'), plugin).to.be.below(at(plugin));
    expect(at('core')).to.be.below(at('registry'));
    expect(Math.max(at('registry'), at('plugin-exact'))).to.be.below(at('models'));
    expect(at('models')).to.be.below(at('cli'));
  });

  it('should install real copies, not links into the repo', () => {
    for (const pkg of ['core', 'registry', 'models', 'plugin-exact', 'plugin-performer']) {
      expect(fs.realpathSync(path.join(app, 'node_modules/@swapformer', pkg))).to.equal(path.join(app, 'node_modules/@swapformer', pkg));
    }
  });

  it('should load the ViT checkpoint with Performer swapped into layer 0 and predict what the repo computes', async () => {
    fs.writeFileSync(path.join(app, 'predict.js'), PREDICT_SCRIPT);
    fs.writeFileSync(path.join(app, 'pixels.json'), JSON.stringify(PIXELS));
    const r = await node([path.join(app, 'predict.js'), CHECKPOINT, tf.getBackend(), JSON.stringify(PERFORMER_IN_LAYER_0)]);
    expectOk(r, 'predict.js');
    const result = JSON.parse(r.stdout) as Prediction;
    expect(result.registered).to.deep.equal(['@swapformer/plugin-exact', '@swapformer/plugin-performer']);
    expect(result.refused).to.deep.equal([]);
    const expected = inRepoLogits(PERFORMER_IN_LAYER_0);
    expect(maxAbsDiff(expected, result.logits)).to.equal(0);
    expect(result.predictions).to.deep.equal(Array.from(tf.argMax(expected, 1).dataSync()));
    expected.dispose();
  });

  describe('having the CLI installed with one plugin', () => {
    const swapformer = (args: string[], cwd = outside) => node([path.join(cliProject, 'node_modules/.bin/swapformer'), ...args], cwd);

    it('should list exactly exact and thinformer, from a folder outside the project', async () => {
      const r = await swapformer(['list', '--json']);
      expectOk(r, 'swapformer list --json');
      const listed = JSON.parse(r.stdout) as { operators: Array<{ name: string; package: string; options: Array<{ name: string }> }>; refused: unknown[] };
      expect(listed.refused).to.deep.equal([]);
      expect(listed.operators.map((o) => [o.name, o.package])).to.deep.equal([
        ['exact', '@swapformer/plugin-exact'],
        ['thinformer', '@swapformer/plugin-thinformer'],
      ]);
      expect(listed.operators[1].options.map((o) => o.name)).to.include.members(['g', 'delta']);
    });

    it('should list the same through npx inside the project', async () => {
      const r = await runWith(registry!.env, 'npx', ['--no-install', 'swapformer', 'list', '--json'], { cwd: cliProject, timeoutMs: 120000 });
      expectOk(r, 'npx swapformer list --json');
      expect((JSON.parse(r.stdout) as { operators: Array<{ name: string }> }).operators.map((o) => o.name)).to.deep.equal(['exact', 'thinformer']);
    });

    it('should validate a config naming the plugin, and refuse a bad option or a path with one message', async () => {
      const write = (name: string, content: unknown) => fs.writeFileSync(path.join(outside, name), JSON.stringify(content));
      write('good.json', { attention: { name: 'thinformer', options: { g: 1 } } });
      write('bad.json', { attention: { name: 'thinformer', options: { g: -3 } } });
      write('path.json', { attention: { name: './node_modules/@swapformer/plugin-thinformer' } });
      expectOk(await swapformer(['validate', 'good.json']), 'validate good.json');
      const bad = await swapformer(['validate', 'bad.json']);
      expect(bad.code).to.equal(1);
      expect(bad.stderr).to.include('/attention/options/g').and.not.match(STACK_LINE);
      const byPath = await swapformer(['validate', 'path.json']);
      expect(byPath.code).to.equal(1);
      expect(byPath.stderr).to.include('/attention/name');
    });
  });

  describe('having a plugin made with create-plugin', () => {
    let pluginDir = '';
    before(async () => {
      const made = await node([path.join(cliProject, 'node_modules/.bin/swapformer'), 'create-plugin', PLUGIN.name, '--description', 'Softmax attention with a temperature.'], root);
      expectOk(made, 'swapformer create-plugin');
      pluginDir = path.join(root, PLUGIN.packageName);
    });

    it('should install, pass its own tests and publish to the registry, unedited', async () => {
      await npm(['install', ...INSTALL_FLAGS], pluginDir, 'plugin npm install');
      const tested = await npm(['test'], pluginDir, 'plugin npm test');
      expect(tested.stdout).to.match(/\d+ passing/).and.not.match(/failing/);
      await npm(['publish', '--loglevel=error'], pluginDir, 'plugin npm publish');
      expect(fs.existsSync(path.join(root, 'verdaccio/storage', PLUGIN.packageName))).to.equal(true);
    });

    it('should install from the registry into the first project and run by name in layer 0', async () => {
      await npm(['install', PLUGIN.packageName, ...INSTALL_FLAGS], app, 'install the new plugin');
      const swapped = { default: { name: 'exact' }, overrides: [{ layers: [0], name: PLUGIN.name, options: { temperature: 1 } }] };
      const r = await node([path.join(app, 'predict.js'), CHECKPOINT, tf.getBackend(), JSON.stringify(swapped)]);
      expectOk(r, 'predict.js with the new plugin');
      const result = JSON.parse(r.stdout) as Prediction;
      expect(result.registered).to.include(PLUGIN.packageName);
      // at temperature 1 the scaffold is softmax attention: the logits are exact's
      const exact = inRepoLogits({ name: 'exact' });
      expect(maxAbsDiff(exact, result.logits)).to.be.below(1e-4);
      exact.dispose();
    });

    it('should be listed by the installed CLI run inside that project, next to the CLI’s own plugins', async () => {
      const r = await node([path.join(cliProject, 'node_modules/.bin/swapformer'), 'list', '--json'], app);
      expectOk(r, 'swapformer list --json in the first project');
      const listed = JSON.parse(r.stdout) as { operators: Array<{ name: string; package: string; version: string; apiVersion: string }>; refused: unknown[] };
      expect(listed.refused).to.deep.equal([]);
      expect(listed.operators.map((o) => o.name)).to.deep.equal(['exact', 'performer', PLUGIN.name, 'thinformer']);
      expect(listed.operators.find((o) => o.name === PLUGIN.name)).to.include({ package: PLUGIN.packageName, version: '0.1.0', apiVersion: CORE_API_VERSION }); // create-plugin writes the core's API version
    });
  });

  describe('README code blocks', () => {
    const blocks = readmeCodeBlocks(REPO_ROOT);
    let docs = '';
    before(async () => {
      const typesNode = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'node_modules/@types/node/package.json'), 'utf8')) as { version: string }).version;
      const packages = ['@swapformer/cli', '@swapformer/kernels', '@swapformer/plugin-kdeformer', '@swapformer/plugin-levattention', '@swapformer/plugin-thinformer', '@swapformer/plugin-tost', `@types/node@${typesNode}`];
      await npm(['install', ...packages, ...INSTALL_FLAGS], app, 'install for the README blocks');
      docs = path.join(app, 'readme-blocks');
      fs.mkdirSync(docs);
      // blocks that load "the committed ViT checkpoint" find it where a user would put it
      fs.cpSync(CHECKPOINT, path.join(docs, 'vit-fmnist-exact'), { recursive: true });
    });

    it('should find the runnable blocks', () => {
      expect(blocks.filter((b) => b.run).length).to.be.at.least(5);
    });

    it('should type-check every TypeScript block against the installed packages’ types', async () => {
      const dir = path.join(docs, 'typecheck');
      fs.mkdirSync(dir);
      for (const block of blocks.filter((b) => b.run && b.language === 'ts')) fs.writeFileSync(path.join(dir, `${block.id}.ts`), `${block.code}\nexport {};\n`);
      fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'ES2022', moduleResolution: 'bundler', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] }, include: ['*.ts'] }));
      const r = await node([path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir]);
      expectOk(r, 'tsc on the README blocks (file names are <readme folder>-L<line of the fence>)');
    });

    for (const block of blocks.filter((b: ReadmeBlock) => b.run)) {
      it(`should run ${block.file}:${block.line}`, async () => {
        const file = path.join(docs, `${block.id}.js`);
        fs.writeFileSync(file, runnableScript(block));
        const r = await node([file], docs);
        expectOk(r, `${block.file}:${block.line}`);
      });
    }
  });
});
