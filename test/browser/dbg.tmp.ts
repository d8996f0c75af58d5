import { launchChromium, collectPageErrors } from './support/chromium';
import { serveStatic } from '../../examples/web/scripts/serveDemo';
(async () => {
  const server = await serveStatic({ root: '/work/wt/web/examples/web/dist', isolated: true });
  const { browser, close } = await launchChromium();
  const page = await browser.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${server.url}/?backend=wasm`);
  await page.waitForFunction('window.swapformerDemo');
  await page.evaluate('window.swapformerDemo.ready');
  console.log(await page.$eval('#error', (e) => e.textContent), errors);
  await close(); await server.close();
})();
