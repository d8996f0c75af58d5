/**
 * The bundled Fashion-MNIST test images: one file, `[count u32le, height u32le, width u32le]`,
 * then `count` labels (u8), then `count·height·width` pixels (u8), written by
 * scripts/buildDemo.ts from the committed IDX subset.
 */
export interface ImageSet {
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly labels: Uint8Array;
  readonly pixels: Uint8Array;
}

export const FASHION_MNIST_LABELS = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'] as const;

/** The training statistics the ViT was trained with (cli/src/train/batches.ts). */
const MEAN = 0.286;
const STD = 0.353;

export function decodeImageSet(bytes: Uint8Array): ImageSet {
  if (bytes.byteLength < 12) throw new Error(`the image file has ${bytes.byteLength} bytes, fewer than its 12-byte header.`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [count, height, width] = [0, 4, 8].map((o) => view.getUint32(o, true));
  const expected = 12 + count + count * height * width;
  if (bytes.byteLength !== expected) throw new Error(`the image file should have ${expected} bytes for ${count} images of ${height}×${width}, but has ${bytes.byteLength} (truncated?).`);
  return { count, height, width, labels: bytes.subarray(12, 12 + count), pixels: bytes.subarray(12 + count) };
}

export function encodeImageSet(set: ImageSet): Uint8Array {
  const out = new Uint8Array(12 + set.count + set.pixels.length);
  const view = new DataView(out.buffer);
  [set.count, set.height, set.width].forEach((v, i) => view.setUint32(i * 4, v, true));
  out.set(set.labels, 12);
  out.set(set.pixels, 12 + set.count);
  return out;
}

/** Pixels of the images at `indices`, scaled to [0, 1] and standardised as in training, `[n·h·w]`. */
export function normalizePixels(set: ImageSet, indices: readonly number[]): Float32Array {
  const px = set.height * set.width;
  const out = new Float32Array(indices.length * px);
  indices.forEach((index, b) => {
    for (let i = 0; i < px; i++) out[b * px + i] = (set.pixels[index * px + i] / 255 - MEAN) / STD;
  });
  return out;
}

/** A drawing (`h·w` values in [0, 1], 1 = ink) as one more image of the set's format. */
export function imageFromDrawing(ink: Float32Array, set: ImageSet): ImageSet {
  const pixels = new Uint8Array(set.height * set.width);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.round(Math.min(1, Math.max(0, ink[i])) * 255);
  return { count: 1, height: set.height, width: set.width, labels: new Uint8Array([255]), pixels };
}
