/**
 * The packages' own mocha suites, bundled for a page: every test file of schemas, core, kernels,
 * plugins and registry whose import graph stays clear of Node built-ins is bundled by esbuild
 * (the packages resolve through their `browser` conditions) and run by mocha's browser build
 * on the wasm backend. Files that reach a Node built-in are listed, with the module, as Node-only.
 */
import { build } from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..', '..');
const SUITES = ['schemas/test', 'core/test', 'kernels/test', 'plugins', 'registry/test'];

export interface PageSuites {
  readonly outdir: string;
  readonly files: readonly string[];
  readonly nodeOnly: ReadonlyArray<{ readonly file: string; readonly reason: string }>;
}

function testFiles(dir: string): string[] {
  const abs = path.join(ROOT, dir);
  if (!fs.existsSync(abs)) return [];
  return fs
    .readdirSync(abs, { recursive: true, withFileTypes: false })
    .map(String)
    .filter((f) => f.endsWith('.test.ts') && (dir !== 'plugins' || /^[^/]+\/test\//.test(f)))
    .map((f) => path.join(dir, f))
    .sort();
}

const common = {
  absWorkingDir: ROOT,
  bundle: true,
  format: 'esm' as const,
  platform: 'browser' as const,
  target: 'es2022',
  logLevel: 'silent' as const,
  // tests read a few settings from the environment; a page has none
  define: { 'process.env': '{}' },
  // test files live inside packages marked sideEffects: false, and registering suites is their side effect
  ignoreAnnotations: true,
};

/**
 * Why a test file cannot run in a page (a Node built-in its import graph reaches, or an export
 * only a package's Node entry has), or null. Built-ins that a package's `browser` field maps
 * away resolve to nothing and do not count.
 */
async function nodeOnlyReason(file: string): Promise<string | null> {
  try {
    await build({ ...common, entryPoints: [path.join(ROOT, file)], write: false });
    return null;
  } catch (error) {
    const first = (error as { errors?: Array<{ text: string }> }).errors?.[0]?.text ?? String(error);
    return first.split('\n')[0];
  }
}

/**
 * Bundles the browser-ready suites with a page that runs them; `window.__mochaDone` resolves to
 * `{ passes, failures: [{ title, message }], pending }`.
 *
 * @example const suites = await buildPageSuites('/tmp/suites'); // then serve suites.outdir
 */
export async function buildPageSuites(outdir: string): Promise<PageSuites> {
  const all = SUITES.flatMap(testFiles);
  const files: string[] = [];
  const nodeOnly: Array<{ file: string; reason: string }> = [];
  for (const file of all) {
    const reason = await nodeOnlyReason(file);
    if (reason) nodeOnly.push({ file, reason });
    else files.push(file);
  }
  fs.rmSync(outdir, { recursive: true, force: true });
  fs.mkdirSync(path.join(outdir, 'wasm'), { recursive: true });
  const entry = path.join(outdir, 'entry.ts');
  fs.writeFileSync(
    entry,
    [
      `import { setupPageSuites } from ${JSON.stringify(path.join(__dirname, 'pageSuiteSetup'))};`,
      'setupPageSuites();',
      // each file in its own describe-block import order, as mocha would load them
      ...files.map((f) => `import ${JSON.stringify(path.join(ROOT, f))};`),
    ].join('\n'),
  );
  await build({ ...common, entryPoints: { tests: entry }, outdir, sourcemap: 'inline', logOverride: { 'unsupported-require-call': 'silent' } });
  fs.copyFileSync(require.resolve('mocha/mocha.js'), path.join(outdir, 'mocha.js'));
  const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  for (const f of fs.readdirSync(wasmDir).filter((n) => n.endsWith('.wasm'))) fs.copyFileSync(path.join(wasmDir, f), path.join(outdir, 'wasm', f));
  fs.writeFileSync(
    path.join(outdir, 'index.html'),
    `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><div id="mocha"></div>
<script src="mocha.js"></script>
<script>mocha.setup({ ui: 'bdd', timeout: 120000, reporter: 'spec' });</script>
<script type="module" src="tests.js"></script>`,
  );
  return { outdir, files, nodeOnly };
}
