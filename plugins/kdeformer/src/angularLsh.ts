/**
 * Angular (sign-of-projection) LSH with Gray-code bucket ids, and the stable bucket sort that
 * puts similar rows next to each other — steps 2–3 of KDEformer's practical algorithm
 * (Zandieh et al., ICML 2023, https://arxiv.org/abs/2302.02451).
 *
 * On row-major Float32Array slices, outside tfjs so they are backend-independent: hashing is
 * O(n·dk·r) (a WebAssembly SIMD kernel, wasmBucketCodes.ts) and the counting sort O(n + 2^r).
 */
import type { KernelContext, SeededRandom } from '@swapformer/core';
import { wasmBucketCodesSupported, wasmSignCodes } from './wasmBucketCodes';

/**
 * The reflected binary Gray code of `i`: the i-th entry of the sequence 0, 1, 3, 2, 6, 7, 5, 4, …
 *
 * @example grayCode(5) // 7
 */
export function grayCode(i: number): number {
  return (i ^ (i >>> 1)) >>> 0;
}

/**
 * `r` hyperplane normals in `R^dk`, i.i.d. N(0, 1), stored plane-major (`[r, dk]`) so that each
 * projection is one contiguous dot product.
 *
 * @example const planes = drawHyperplanes(createSeededRandom(1), 64, 7); // Float64Array(448)
 */
export function drawHyperplanes(rng: SeededRandom, dk: number, r: number): Float64Array {
  const planes = new Float64Array(r * dk);
  for (let i = 0; i < planes.length; i++) planes[i] = rng.normal();
  return planes;
}

/**
 * Sign code of each of `rows` consecutive rows (bit t = [x·w_t > 0]) in float32, the way the
 * WebAssembly kernel computes it: four lanes x[c..c+3]·w[c..c+3] accumulated over c, then summed
 * ((l0 + l1) + l2) + l3. Bitwise the kernel's codes, for engines without WebAssembly SIMD.
 */
function float32SignCodes(data: ArrayLike<number>, offset: number, rows: number, dk: number, planes: Float64Array, r: number): Int32Array {
  const f = Math.fround;
  const w = Float32Array.from(planes);
  const codes = new Int32Array(rows);
  const lanes = new Float32Array(4);
  for (let i = 0; i < rows; i++) {
    const row = offset + i * dk;
    let code = 0;
    for (let t = 0; t < r; t++) {
      lanes.fill(0);
      for (let c = 0; c < dk; c++) lanes[c & 3] = f(lanes[c & 3] + f(data[row + c] * w[t * dk + c]));
      if (f(f(f(lanes[0] + lanes[1]) + lanes[2]) + lanes[3]) > 0) code |= 1 << t;
    }
    codes[i] = code;
  }
  return codes;
}

/**
 * Bucket id of each of `rows` consecutive rows of `data` (row-major, `dk` columns, starting at
 * `offset`): bit t of the code is `x·w_t > 0` (float32, a fixed summation order, the same on
 * every engine and backend), and the id is the code's entry in the Gray table, `gray[code]`,
 * exactly as the reference indexes its recursively built table by the code. Rows that fall on
 * the same side of every hyperplane share an id. Runs on a WebAssembly SIMD kernel where one exists.
 *
 * @example const ids = bucketIds(kernels, kData, 0, nk, dk, planes, 7); // Int32Array of values in [0, 128)
 */
export function bucketIds(kernels: KernelContext, data: ArrayLike<number>, offset: number, rows: number, dk: number, planes: Float64Array, r: number): Int32Array {
  const codes = data instanceof Float32Array && wasmBucketCodesSupported(kernels) ? wasmSignCodes(kernels, data, offset, rows, dk, planes, r) : float32SignCodes(data, offset, rows, dk, planes, r);
  return codes.map(grayCode);
}

/**
 * The indices in `members` ordered by `ids[index]` ascending; equal ids keep the order of
 * `members` (a stable counting sort, so the result never depends on the platform's sort).
 *
 * @example sortByBucket(Int32Array.of(3, 0, 3, 1), Int32Array.of(0, 1, 2, 3), 4) // [1, 3, 0, 2]
 */
export function sortByBucket(ids: Int32Array, members: Int32Array, buckets: number): Int32Array {
  const start = new Int32Array(buckets + 1);
  for (let i = 0; i < members.length; i++) start[ids[members[i]] + 1]++;
  for (let t = 0; t < buckets; t++) start[t + 1] += start[t];
  const sorted = new Int32Array(members.length);
  for (let i = 0; i < members.length; i++) sorted[start[ids[members[i]]]++] = members[i];
  return sorted;
}
