import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { decodeImage, decodeImageFile, preprocessImage, readImageProcessorConfig, resizeImage, type RasterImage } from '@swapformer/models';
import { errorOf } from '../models/modelFixtures';

const REPO = path.resolve(__dirname, '../../..');
const SHIRT = path.join(REPO, 'examples/images/fashion-mnist-test-0-ankle-boot.png');
const VIT = path.join(REPO, 'examples/checkpoints/vit-fmnist-exact');

function rgba(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data.set([...pixel(x, y), 255], (y * width + x) * 4);
    }
  }
  return data;
}

const raster = (width: number, height: number, channels: number, f: (i: number) => number): RasterImage => ({ width, height, channels, data: Uint8Array.from({ length: width * height * channels }, (_, i) => f(i)) });

describe('images: decoding', () => {
  it('should decode the committed greyscale Fashion-MNIST PNG to RGB with equal channels', () => {
    const image = decodeImageFile(SHIRT);
    expect([image.width, image.height, image.channels]).to.deep.equal([28, 28, 3]);
    for (let p = 0; p < 28 * 28; p++) expect(image.data[3 * p + 1]).to.equal(image.data[3 * p]).and.equal(image.data[3 * p + 2]);
    expect(Math.max(...image.data)).to.be.greaterThan(100); // not blank
  });

  it('should decode an RGBA PNG dropping alpha, and a JPEG close to its source', () => {
    const pixel = (x: number, y: number): [number, number, number] => [x * 16, y * 16, 128];
    const png = new PNG({ width: 16, height: 16 });
    png.data = rgba(16, 16, pixel);
    const fromPng = decodeImage(PNG.sync.write(png));
    expect(Array.from(fromPng.data.subarray(0, 6))).to.deep.equal([0, 0, 128, 16, 0, 128]);
    const fromJpeg = decodeImage(jpeg.encode({ data: rgba(16, 16, pixel), width: 16, height: 16 }, 100).data);
    const worst = fromJpeg.data.reduce((m, v, i) => Math.max(m, Math.abs(v - fromPng.data[i])), 0);
    expect(worst).to.be.below(8); // lossy, but the same picture
  });

  it('should refuse bytes that are no image, a truncated PNG and an empty file with one clear error each', () => {
    expect(errorOf(() => decodeImage(Buffer.from('GIF89a...'), 'x.gif')).message).to.include('"x.gif" is not a decodable image: its first bytes are neither a PNG nor a JPEG signature').and.include('Supported: PNG and JPEG');
    const truncated = fs.readFileSync(SHIRT).subarray(0, 60);
    const error = errorOf(() => decodeImage(truncated, 'cut.png'));
    expect(error.kind).to.equal('invalid-input');
    expect(error.message).to.include('"cut.png" is not a decodable image');
    expect(errorOf(() => decodeImage(new Uint8Array(0), 'empty.png')).message).to.include('the file is empty');
    const missing = path.join(os.tmpdir(), 'swapformer-no-such-image.png');
    expect(errorOf(() => decodeImageFile(missing)).message).to.include('no such file');
  });
});

describe('images: PIL-style resizing', () => {
  it('should return the image unchanged at its own size and keep a flat image flat with every filter', () => {
    const image = raster(5, 4, 3, (i) => (i * 37) % 256);
    expect(resizeImage(image, 5, 4, 2)).to.equal(image);
    const flat = raster(7, 5, 1, () => 77);
    for (const resample of [1, 2, 3, 4, 5]) {
      for (const [w, h] of [[3, 2], [11, 9], [7, 12]]) expect(new Set(resizeImage(flat, w, h, resample).data), `resample ${resample} → ${w}×${h}`).to.deep.equal(new Set([77]));
    }
  });

  it('should average 2×2 blocks (rounded half up) when BOX halves the size, as PIL does', () => {
    const image = raster(4, 2, 1, (i) => [10, 20, 31, 40, 50, 60, 70, 81][i]);
    expect(Array.from(resizeImage(image, 2, 1, 4).data)).to.deep.equal([35, 56]); // (10+20+50+60)/4, (31+40+70+81)/4 = 55.5 → 56
  });

  it('should refuse an unknown or nearest-neighbour resample naming the supported filters', () => {
    expect(errorOf(() => resizeImage(raster(2, 2, 1, () => 0), 3, 3, 0)).message).to.include('resample 0 is not supported').and.include('2 (BILINEAR)');
  });
});

describe('images: ViTImageProcessor preprocessing', () => {
  it("should rescale and normalize the committed image with the committed ViT's preprocessor_config.json", () => {
    const config = readImageProcessorConfig(VIT, 28);
    expect(config).to.include({ doResize: true, doRescale: true, doNormalize: true });
    const image = decodeImageFile(SHIRT);
    const pixels = preprocessImage(image, config, { channels: 1, height: 28, width: 28 });
    expect(pixels.length).to.equal(28 * 28);
    for (const p of [0, 100, 400, 783]) expect(pixels[p]).to.be.closeTo((image.data[3 * p] / 255 - 0.286) / 0.353, 1e-6);
  });

  it("should take transformers' defaults without a preprocessor_config.json, and say when the size does not fit", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-pre-'));
    const config = readImageProcessorConfig(dir, 8);
    expect(config).to.deep.include({ doResize: true, size: { height: 8, width: 8 }, resample: 2, imageMean: [0.5, 0.5, 0.5] });
    const rgb = preprocessImage(raster(16, 16, 3, () => 255), config, { channels: 3, height: 8, width: 8 });
    expect(new Set(rgb)).to.deep.equal(new Set([1])); // (1 - 0.5) / 0.5
    const noResize = { ...config, doResize: false };
    expect(errorOf(() => preprocessImage(raster(16, 16, 3, () => 0), noResize, { channels: 3, height: 8, width: 8 })).message).to.include('16×16 after preprocessing, the model takes 8×8');
    fs.writeFileSync(path.join(dir, 'preprocessor_config.json'), JSON.stringify({ size: { shortest_edge: 224 } }));
    expect(errorOf(() => readImageProcessorConfig(dir, 8)).message).to.include('"size" {"shortest_edge":224} is not supported');
  });

  it('should give a one-channel model PIL luminance of a colour image', () => {
    const red = raster(1, 1, 3, (i) => [200, 100, 50][i]);
    const config = { ...readImageProcessorConfig(fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-pre-')), 1), doRescale: false, doNormalize: false };
    expect(Array.from(preprocessImage(red, config, { channels: 1, height: 1, width: 1 }))).to.deep.equal([Math.floor((200 * 19595 + 100 * 38470 + 50 * 7471 + 0x8000) / 65536)]);
  });
});

describe("images: against transformers' ViTImageProcessor (images.expected.json, generated on the GPU machine)", () => {
  const FIXTURES = path.resolve(__dirname, '../fixtures/images');
  const reference = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'images.expected.json'), 'utf8')) as {
    meta: { transformers: string };
    cases: Array<{ image: string; config: Record<string, unknown>; shape: [number, number, number]; data: number[] }>;
  };

  for (const c of reference.cases) {
    const cfg = c.config as { do_resize: boolean; size?: { height: number; width: number }; resample?: number; do_rescale: boolean; rescale_factor?: number; do_normalize: boolean; image_mean?: number[]; image_std?: number[] };
    const jpegFile = c.image.endsWith('.jpg');
    // transformers 5 resizes through torchvision's antialiased kernels, a port of PIL's: a few pixels round the other way.
    // JPEG decoders (libjpeg-turbo there, jpeg-js here) differ by a few levels in their IDCT rounding.
    const levels = jpegFile ? 3 : cfg.do_resize ? 1 : 0;
    it(`should match ${reference.meta.transformers} on ${c.image} ${cfg.do_resize ? `→ ${cfg.size!.width}×${cfg.size!.height} (resample ${cfg.resample})` : 'unresized'} within ${levels} of 255 levels`, () => {
      const [channels, height, width] = c.shape;
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'swapformer-pre-'));
      fs.writeFileSync(path.join(dir, 'preprocessor_config.json'), JSON.stringify(cfg));
      const pixels = preprocessImage(decodeImageFile(path.join(FIXTURES, c.image)), readImageProcessorConfig(dir, height), { channels, height, width });
      const level = (cfg.do_rescale ? cfg.rescale_factor! : 1) / (cfg.do_normalize ? Math.min(...cfg.image_std!) : 1);
      let worst = 0;
      let exact = 0;
      pixels.forEach((v, i) => {
        const d = Math.abs(v - c.data[i]);
        worst = Math.max(worst, d);
        if (d < 1e-5) exact++;
      });
      expect(worst / level).to.be.at.most(levels + 1e-3);
      if (!jpegFile) expect(exact / pixels.length, 'share of values equal to 1e-5').to.be.at.least(0.95);
    });
  }
});
