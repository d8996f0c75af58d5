/**
 * Takes the README's screenshot of the demo (examples/web/screenshot.png): builds and serves the
 * page, classifies a bundled image with Performer swapped into two layers, generates text, and
 * captures the page in headless Chromium.
 *
 *   npx tsx examples/web/scripts/screenshot.ts
 */
import * as path from 'node:path';
import { launchChromium } from '../../../test/browser/support/chromium';
import { buildDemo, DEMO_DIST } from './buildDemo';
import { serveStatic } from './serveDemo';

async function main(): Promise<void> {
  await buildDemo();
  const server = await serveStatic({ root: DEMO_DIST, isolated: true });
  const chromium = await launchChromium();
  try {
    const page = await chromium.browser.newPage();
    await page.setViewport({ width: 860, height: 1010, deviceScaleFactor: 1 });
    await page.goto(`${server.url}/?backend=wasm`);
    await page.waitForFunction('window.swapformerDemo');
    await page.evaluate('window.swapformerDemo.ready');
    for (let i = 0; i < 3; i++) await page.click('#next');
    await page.select('#layer-1', 'performer');
    await page.select('#layer-2', 'levattention');
    await page.click('#classify');
    await page.waitForFunction(() => document.querySelector('#prediction')?.textContent?.startsWith('Prediction:'));
    await page.click('#accuracy');
    await page.waitForFunction(() => document.querySelector('#accuracy-result')?.textContent?.startsWith('Accuracy'), { timeout: 300_000 });
    await page.click('#generate');
    await page.waitForFunction(() => (document.querySelector('#generated')?.textContent ?? '').includes('tokens in'));
    const file = path.join(__dirname, '..', 'screenshot.png');
    await page.screenshot({ path: file as `${string}.png`, fullPage: false });
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
  } finally {
    await chromium.close();
    await server.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
