/**
 * Builds the demo into examples/web/dist: the app bundled by esbuild for the browser (ES
 * modules, code-split so the WebGPU backend is its own chunk, loaded only when tried), the page,
 * tfjs-backend-wasm's .wasm binaries, three committed checkpoints and the first images of the
 * committed Fashion-MNIST test subset. Returns the sizes the bundle budget test checks.
 */
import { build, type Metafile } from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { encodeImageSet } from '../src/imageSet';

const WEB = path.join(__dirname, '..');
const ROOT = path.join(WEB, '..', '..');
export const DEMO_DIST = path.join(WEB, 'dist');
/** Images shipped with the page: enough for an accuracy figure, small enough to download at once. */
export const BUNDLED_IMAGES = 200;
const CHECKPOINTS = ['vit-fmnist-exact', 'vit-fmnist-tost', 'gpt-sotu-exact'];

export interface DemoBuild {
  readonly outdir: string;
  /** Bytes of every JavaScript file the page loads when it runs on wasm (all chunks but WebGPU's). */
  readonly wasmOnlyJsBytes: number;
  /** Bytes of the chunk(s) only WebGPU loads. */
  readonly webgpuJsBytes: number;
  /** Bytes of other chunks loaded on use (the GPT-2 tokenizer's merge table). */
  readonly otherLazyJsBytes: number;
  readonly files: Readonly<Record<string, number>>;
}

/** IDX files: big-endian u32 magic (dims in its low byte), u32 per dimension, then u8 data. */
function readIdx(file: string): { dims: number[]; data: Uint8Array } {
  const bytes = zlib.gunzipSync(fs.readFileSync(file));
  const rank = bytes[3];
  const dims = Array.from({ length: rank }, (_, i) => bytes.readUInt32BE(4 + 4 * i));
  return { dims, data: new Uint8Array(bytes.buffer, bytes.byteOffset + 4 + 4 * rank, bytes.length - 4 - 4 * rank) };
}

function writeImages(outFile: string, count: number): void {
  const dir = path.join(ROOT, 'data', 'fashion-mnist');
  const images = readIdx(path.join(dir, 'test-subset-1000-images-idx3-ubyte.gz'));
  const labels = readIdx(path.join(dir, 'test-subset-1000-labels-idx1-ubyte.gz'));
  const [, h, w] = images.dims;
  fs.writeFileSync(outFile, encodeImageSet({ count, height: h, width: w, labels: labels.data.slice(0, count), pixels: images.data.slice(0, count * h * w) }));
}

/** Output files the entry loads without a dynamic import (what every page load downloads). */
function loadedAtStart(metafile: Metafile, outdir: string): Set<string> {
  const outputs = metafile.outputs;
  const entry = Object.keys(outputs).find((o) => outputs[o].entryPoint?.endsWith('main.ts'))!;
  const reached = new Set<string>();
  const visit = (o: string) => {
    if (reached.has(o)) return;
    reached.add(o);
    for (const i of outputs[o].imports) if (i.kind === 'import-statement') visit(i.path);
  };
  visit(entry);
  return new Set([...reached].map((o) => path.relative(outdir, path.join(ROOT, o))));
}

/** Whether an output chunk holds the WebGPU backend (the rest of the lazy chunks, e.g. the GPT-2 tokenizer, load only on use). */
function holdsWebGpu(metafile: Metafile, outdir: string, file: string): boolean {
  const output = Object.entries(metafile.outputs).find(([o]) => path.relative(outdir, path.join(ROOT, o)) === file)?.[1];
  return Object.keys(output?.inputs ?? {}).some((i) => i.includes('tfjs-backend-webgpu'));
}

/**
 * @example const { wasmOnlyJsBytes } = await buildDemo();
 */
export async function buildDemo(outdir = DEMO_DIST): Promise<DemoBuild> {
  fs.rmSync(outdir, { recursive: true, force: true });
  fs.mkdirSync(path.join(outdir, 'wasm'), { recursive: true });
  fs.mkdirSync(path.join(outdir, 'data'), { recursive: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { app: path.join(WEB, 'src', 'main.ts') },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'error',
    legalComments: 'none',
    // a computed require() in useBackend's Node path stays unbundled; the page imports its backends
    logOverride: { 'unsupported-require-call': 'silent' },
  });
  for (const f of ['index.html', 'style.css']) fs.copyFileSync(path.join(WEB, f), path.join(outdir, f));
  const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  for (const f of fs.readdirSync(wasmDir).filter((n) => n.endsWith('.wasm'))) fs.copyFileSync(path.join(wasmDir, f), path.join(outdir, 'wasm', f));
  for (const c of CHECKPOINTS) fs.cpSync(path.join(ROOT, 'examples', 'checkpoints', c), path.join(outdir, 'checkpoints', c), { recursive: true });
  writeImages(path.join(outdir, 'data', 'fashion-mnist-test.bin'), BUNDLED_IMAGES);

  const atStart = loadedAtStart(result.metafile, outdir);
  const files: Record<string, number> = {};
  let wasmOnlyJsBytes = 0;
  let webgpuJsBytes = 0;
  let otherLazyJsBytes = 0;
  for (const f of fs.readdirSync(outdir).filter((n) => n.endsWith('.js'))) {
    const size = fs.statSync(path.join(outdir, f)).size;
    files[f] = size;
    if (atStart.has(f)) wasmOnlyJsBytes += size;
    else if (holdsWebGpu(result.metafile, outdir, f)) webgpuJsBytes += size;
    else otherLazyJsBytes += size;
  }
  return { outdir, wasmOnlyJsBytes, webgpuJsBytes, otherLazyJsBytes, files };
}

if (require.main === module) {
  buildDemo().then(
    (b) => console.log(`demo built in ${path.relative(process.cwd(), b.outdir)}: ${(b.wasmOnlyJsBytes / 1024).toFixed(0)} KiB of JavaScript on wasm, +${(b.webgpuJsBytes / 1024).toFixed(0)} KiB for WebGPU, +${(b.otherLazyJsBytes / 1024).toFixed(0)} KiB loaded on use`),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
