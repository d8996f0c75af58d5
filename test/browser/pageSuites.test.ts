/**
 * The packages' own test suites in headless Chromium: every schemas/core/kernels/plugins/registry
 * test file without Node-only code, bundled for the page and run by mocha's browser build on the
 * wasm backend — once on a plain page (one thread: no SharedArrayBuffer) and once cross-origin
 * isolated (COOP/COEP: Web Worker threads for the kernels).
 */
import { expect } from 'chai';
import * as os from 'node:os';
import * as path from 'node:path';
import { serveStatic } from '../../examples/web/scripts/serveDemo';
import { skipWithoutChromium, collectPageErrors, launchChromium, type LaunchedBrowser } from './support/chromium';
import { buildPageSuites, type PageSuites } from './support/pageSuites';

interface MochaOutcome {
  passes: number;
  pending: number;
  failures: Array<{ title: string; message: string }>;
}

describe('package test suites in Chromium', function () {
  let suites: PageSuites;
  let chromium: LaunchedBrowser;

  before(async function () {
    skipWithoutChromium(this);
    suites = await buildPageSuites(path.join(os.tmpdir(), `swapformer-page-suites-${process.pid}`));
    chromium = await launchChromium();
  });

  after(async () => {
    await chromium?.close();
  });

  it('should bundle every suite except those that reach Node-only code', () => {
    expect(suites.files.length).to.be.greaterThan(15);
    // exactly the files that read fixtures from disk or test node_modules discovery; a new test
    // file that needs Node belongs here (or, better, its Node-only part in a file of its own)
    const reasons = suites.nodeOnly.map((n) => `${n.file}: ${n.reason}`).join('\n');
    expect(suites.nodeOnly.map((n) => n.file).sort(), reasons).to.deep.equal([
      'core/test/backendProcessHandlers.test.ts', // child processes: Node's own exit codes and handlers
      'core/test/softwareAdapter.test.ts', // child processes with a stubbed Dawn
      'plugins/tost/test/tost.test.ts',
      'registry/test/discovery/registerInstalledPlugins.test.ts',
      'registry/test/registry/readJsonFile.test.ts', // files on disk
    ]);
  });

  for (const isolated of [false, true]) {
    it(`should pass every bundled test on wasm ${isolated ? 'with COOP/COEP (worker threads)' : 'without COOP/COEP (one thread)'}`, async () => {
      const server = await serveStatic({ root: suites.outdir, isolated });
      const page = await chromium.browser.newPage();
      const errors = collectPageErrors(page);
      try {
        await page.goto(`${server.url}/`);
        expect(await page.evaluate('globalThis.crossOriginIsolated')).to.equal(isolated);
        await page.waitForFunction('window.__mochaDone', { timeout: 60_000 });
        const outcome = (await page.evaluate('window.__mochaDone')) as MochaOutcome;
        console.log(`      ${isolated ? 'isolated' : 'plain'} page: ${outcome.passes} passing, ${outcome.failures.length} failing, ${outcome.pending} pending`);
        expect(outcome.failures, outcome.failures.map((f) => `${f.title}: ${f.message}`).join('\n')).to.deep.equal([]);
        expect(outcome.passes).to.be.greaterThan(350);
        expect(errors.filter((e) => e.startsWith('pageerror'))).to.deep.equal([]);
      } finally {
        await page.close();
        await server.close();
      }
    });
  }
});
