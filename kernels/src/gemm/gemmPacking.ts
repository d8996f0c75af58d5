/**
 * Packing of GEMM operands into the panel layouts gemmModule.ts reads. Packing is where
 * transposes are absorbed: the kernel always sees A as [mPad/MR][kPad][MR] row panels and B as
 * [nPad/NR][kPad][NR] column panels, whatever the source layout, so a transposed product costs
 * the same as a plain one (tfjs-wasm's transposed products run ~10× slower than plain ones).
 * Padding (rows past m, columns past n, k past k) is written as zeros, so the kernel needs no
 * edge cases: padded rows and columns of C are computed and never read.
 *
 * Cost O(batches·(m + n)·k) next to the O(batches·m·n·k) product.
 */

/** One operand in its source layout: `rows × cols` row-major at `offset` (floats) of `data`. */
export interface PackSource {
  readonly data: Float32Array;
  readonly offset: number;
  /** Whether the stored matrix is the transpose of the logical operand. */
  readonly transposed: boolean;
}

/**
 * Packs logical A [m, k] (stored [m, k], or [k, m] when transposed) as row panels of `mr` rows.
 *
 * @example packRowPanels(src, dst, dstOffset, m, k, kPad, 6);
 */
export function packRowPanels(src: PackSource, dst: Float32Array, dstOffset: number, m: number, k: number, kPad: number, mr: number): void {
  const { data, offset, transposed } = src;
  const panels = Math.ceil(m / mr);
  let d = dstOffset;
  for (let p = 0; p < panels; p++) {
    const row0 = p * mr;
    const rows = Math.min(mr, m - row0);
    if (transposed) {
      // A[i][t] = data[t·m + i]: a panel step reads `rows` contiguous floats
      for (let t = 0; t < k; t++) {
        const s = offset + t * m + row0;
        for (let i = 0; i < rows; i++) dst[d + i] = data[s + i];
        for (let i = rows; i < mr; i++) dst[d + i] = 0;
        d += mr;
      }
    } else {
      for (let i = 0; i < rows; i++) {
        const s = offset + (row0 + i) * k;
        for (let t = 0, at = d + i; t < k; t++, at += mr) dst[at] = data[s + t];
      }
      if (rows < mr) for (let t = 0; t < k; t++) for (let i = rows; i < mr; i++) dst[d + t * mr + i] = 0;
      d += k * mr;
    }
    dst.fill(0, d, d + (kPad - k) * mr);
    d += (kPad - k) * mr;
  }
}

/**
 * Packs logical B [k, n] (stored [k, n], or [n, k] when transposed) as column panels of `nr` columns.
 *
 * @example packColumnPanels(src, dst, dstOffset, k, n, kPad, 8);
 */
export function packColumnPanels(src: PackSource, dst: Float32Array, dstOffset: number, k: number, n: number, kPad: number, nr: number): void {
  const { data, offset, transposed } = src;
  const panels = Math.ceil(n / nr);
  let d = dstOffset;
  for (let p = 0; p < panels; p++) {
    const col0 = p * nr;
    const cols = Math.min(nr, n - col0);
    if (transposed) {
      // B[t][j] = data[j·k + t]: each column of the panel is a contiguous source row
      for (let j = 0; j < cols; j++) {
        const s = offset + (col0 + j) * k;
        for (let t = 0, at = d + j; t < k; t++, at += nr) dst[at] = data[s + t];
      }
      if (cols < nr) for (let t = 0; t < k; t++) for (let j = cols; j < nr; j++) dst[d + t * nr + j] = 0;
      d += k * nr;
    } else {
      for (let t = 0; t < k; t++) {
        const s = offset + t * n + col0;
        for (let j = 0; j < cols; j++) dst[d + j] = data[s + j];
        for (let j = cols; j < nr; j++) dst[d + j] = 0;
        d += nr;
      }
    }
    dst.fill(0, d, d + (kPad - k) * nr);
    d += (kPad - k) * nr;
  }
}
