/**
 * The demo on WebGPU in headless Chromium (SwiftShader's software adapter where there is no GPU):
 * it picks WebGPU and shows it, classifies like Node on wasm (Thinformer included: its coreset runs
 * on the device), and moves to wasm with a message when the device is lost.
 * Skipped, with the page's reason, where Chromium offers no WebGPU adapter at all.
 */
import { expect } from 'chai';
import type { Page } from 'puppeteer-core';
import { useBackend } from '@swapformer/core';
import { buildDemo, DEMO_DIST } from '../../examples/web/scripts/buildDemo';
import { serveStatic, type StaticServer } from '../../examples/web/scripts/serveDemo';
import { createDemoModels, type ClassifyRequest, type ClassifyResult, type DemoModels } from '../../examples/web/src/demoModels';
import { skipWithoutChromium, collectPageErrors, launchChromium, type LaunchedBrowser } from './support/chromium';

const pageClassify = (page: Page, request: ClassifyRequest) => page.evaluate((r) => (window as any).swapformerDemo.state.models.classify(r), request as any) as Promise<ClassifyResult>;
const text = (page: Page, selector: string) => page.$eval(selector, (e) => e.textContent ?? '');
// software WebGPU is slow (every shader runs on the CPU): two images per operator
const IMAGES = [0, 1];

describe('the demo page on WebGPU', function () {
  let server: StaticServer;
  let chromium: LaunchedBrowser;
  let node: DemoModels;
  let page: Page;
  let errors: string[];

  before(async function () {
    skipWithoutChromium(this);
    if (!require('node:fs').existsSync(`${DEMO_DIST}/app.js`)) await buildDemo();
    server = await serveStatic({ root: DEMO_DIST, isolated: true });
    chromium = await launchChromium({ webgpu: true });
    page = await chromium.browser.newPage();
    errors = collectPageErrors(page);
    await page.goto(`${server.url}/`);
    await page.waitForFunction('window.swapformerDemo', { timeout: 60_000 });
    await page.evaluate('window.swapformerDemo.ready');
    const backend = await text(page, '#backend');
    if (!backend.includes('webgpu')) {
      console.log(`      no WebGPU in this Chromium: ${await text(page, '#notes')}`);
      expect(backend, 'without WebGPU the page must still run, on wasm').to.contain('wasm');
      this.skip();
    }
    await useBackend('wasm');
    node = await createDemoModels(server.url);
  });

  after(async () => {
    node?.dispose();
    await chromium?.close();
    await server?.close();
  });

  it('should run on WebGPU and show it', async () => {
    expect(await text(page, '#backend')).to.match(/^Backend: webgpu/);
    expect(errors).to.deep.equal([]);
  });

  // Thinformer and KDEformer build their coresets on the device (no host reads) since the gpu branch
  for (const operators of ['exact', 'levattention', 'thinformer']) {
    it(`should classify like Node on wasm (${operators})`, async () => {
      const request = { indices: IMAGES, operators, seed: 1 };
      const [gpu, cpu] = [await pageClassify(page, request), await node.classify(request)];
      expect(gpu.predictions).to.deep.equal(cpu.predictions);
      const diff = Math.max(...gpu.logits.flatMap((row, i) => row.map((x, j) => Math.abs(x - cpu.logits[i][j]))));
      expect(diff).to.be.lessThan(operators === 'exact' ? 1e-3 : 0.5);
    });
  }

  it('should explain a lost GPU device and carry on on wasm', async () => {
    // what a driver reset does: the device goes away under the page
    await page.evaluate(() => (window as any).swapformerDemo.loseDevice());
    await page.waitForFunction(() => document.querySelector('#notes')?.textContent?.includes('WebGPU was lost'), { timeout: 120_000 });
    expect(await text(page, '#error')).to.contain('the GPU device was lost');
    expect(await text(page, '#backend')).to.match(/^Backend: wasm/);
    const after = await pageClassify(page, { indices: IMAGES, operators: 'exact' });
    expect(after.predictions).to.deep.equal((await node.classify({ indices: IMAGES, operators: 'exact' })).predictions);
  });
});
