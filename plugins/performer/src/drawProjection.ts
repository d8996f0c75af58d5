/**
 * The random projection ω of FAVOR+ (Choromanski et al., "Rethinking Attention with
 * Performers", ICLR 2021, https://arxiv.org/abs/2009.14794), drawn in plain JS so the same
 * seed gives the same ω on every backend.
 *
 * Orthogonal random features (ORF): ω is built from blocks of d rows; the rows of one block
 * are orthonormal (Gram–Schmidt of a d×d Gaussian matrix, which is Haar-distributed because
 * Gaussian rows are isotropic), the last block is truncated to fill m rows. Each row is then
 * rescaled so that its marginal stays Gaussian ('gaussian': the norm of a fresh N(0, I_d)
 * vector, the reference's `scaling = 0`) or to the fixed norm √d ('fixed', `scaling = 1`).
 *
 * Cost O(⌈m/d⌉·d³) once per draw — negligible next to one forward.
 *
 * Shape legend: m random features, d head dim. Output is row-major `[m, d]`.
 */
import { createSeededRandom, type SeededRandom } from '@swapformer/core';

/** How the rows of ω are scaled after orthogonalisation. */
export type RowNorms = 'gaussian' | 'fixed';

/** What to draw. */
export interface ProjectionSpec {
  /** Number of random features m. */
  readonly features: number;
  /** Head dimension d. */
  readonly headDim: number;
  /** Orthogonal blocks (ORF) or i.i.d. Gaussian rows. */
  readonly orthogonal: boolean;
  readonly rowNorms: RowNorms;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function gaussianRow(rng: SeededRandom, d: number): Float64Array {
  const row = new Float64Array(d);
  for (let i = 0; i < d; i++) row[i] = rng.normal();
  return row;
}

/**
 * d orthonormal rows from a d×d Gaussian matrix. Modified Gram–Schmidt is run twice per row
 * ("twice is enough") so the rows stay orthogonal to float64 precision; a row that collapses
 * (probability zero) is simply redrawn.
 */
function orthonormalBlock(rng: SeededRandom, d: number): Float64Array[] {
  const rows: Float64Array[] = [];
  while (rows.length < d) {
    const row = gaussianRow(rng, d);
    const norm0 = Math.sqrt(dot(row, row));
    for (let pass = 0; pass < 2; pass++) {
      for (const prev of rows) {
        const c = dot(row, prev);
        for (let i = 0; i < d; i++) row[i] -= c * prev[i];
      }
    }
    const norm = Math.sqrt(dot(row, row));
    if (!(norm > 1e-10 * norm0)) continue;
    for (let i = 0; i < d; i++) row[i] /= norm;
    rows.push(row);
  }
  return rows;
}

/**
 * Draws ω `[m, d]` (row-major float32) from a seed.
 *
 * @example const omega = drawProjection({ features: 266, headDim: 64, orthogonal: true, rowNorms: 'gaussian' }, 7);
 */
export function drawProjection(spec: ProjectionSpec, seed: number): Float32Array {
  const { features: m, headDim: d } = spec;
  const rng = createSeededRandom(seed);
  const rows: Float64Array[] = [];
  if (spec.orthogonal) {
    while (rows.length < m) rows.push(...orthonormalBlock(rng, d).slice(0, m - rows.length));
    for (const row of rows) {
      // 'gaussian' keeps each row's marginal N(0, I_d): a uniform direction times a chi_d length.
      const length = Math.sqrt(spec.rowNorms === 'fixed' ? d : sumSquares(rng, d));
      for (let i = 0; i < d; i++) row[i] *= length;
    }
  } else {
    for (let r = 0; r < m; r++) {
      const row = gaussianRow(rng, d);
      if (spec.rowNorms === 'fixed') {
        const scale = Math.sqrt(d) / Math.sqrt(dot(row, row));
        for (let i = 0; i < d; i++) row[i] *= scale;
      }
      rows.push(row);
    }
  }
  const out = new Float32Array(m * d);
  rows.forEach((row, r) => out.set(row, r * d));
  return out;
}

function sumSquares(rng: SeededRandom, d: number): number {
  let s = 0;
  for (let i = 0; i < d; i++) s += rng.normal() ** 2;
  return s;
}

