/**
 * Headless Chromium for the browser tests: Debian's `chromium` (apt) driven by puppeteer-core,
 * since nothing can be downloaded here. Each launch gets a fresh profile folder, removed on close.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function chromiumInstalled(): boolean {
  return fs.existsSync(CHROMIUM);
}

/**
 * Skips the suite, saying why, where no Chromium is installed — unless the run requires the
 * browser (SWAPFORMER_REQUIRE_BROWSER=1, as .ci/run sets after installing it), where a missing
 * Chromium fails instead. Same rule as the webgpu suites' SWAPFORMER_REQUIRE_WEBGPU.
 */
export function skipWithoutChromium(context: { skip(): void }): void {
  if (chromiumInstalled()) return;
  const reason = `Chromium is missing at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`;
  if (process.env.SWAPFORMER_REQUIRE_BROWSER === '1') throw new Error(`${reason}; SWAPFORMER_REQUIRE_BROWSER=1 requires it.`);
  process.stderr.write(`    (skipped: ${reason})\n`);
  context.skip();
}

export interface LaunchedBrowser {
  readonly browser: Browser;
  close(): Promise<void>;
}

/**
 * @example const { browser, close } = await launchChromium({ webgpu: false });
 */
export async function launchChromium(options: { webgpu?: boolean } = {}): Promise<LaunchedBrowser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-chromium-'));
  const gpu = options.webgpu
    ? ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader', '--use-webgpu-adapter=swiftshader']
    : ['--disable-gpu'];
  const browser = await puppeteer.launch({
    protocolTimeout: 600_000,
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless=new', '--no-sandbox', ...gpu, '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage', `--user-data-dir=${profile}`],
  });
  return {
    browser,
    async close() {
      await browser.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Page console errors and uncaught exceptions, for assertions and for failure messages. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${(e as Error).message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console.error: ${m.text()}`);
  });
  return errors;
}
