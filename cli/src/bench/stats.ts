/** Median of a non-empty list (lower middle for even lengths, so it is always a measured value). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of an empty list');
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/**
 * Least-squares slope of log(y) against log(x): the exponent p of y ≈ c·x^p.
 * Null with fewer than two points or one distinct x.
 *
 * @example fitPowerLaw([[1024, 10], [2048, 40]]) // 2
 */
export function fitPowerLaw(points: ReadonlyArray<readonly [number, number]>): number | null {
  const pts = points.filter(([x, y]) => x > 0 && y > 0);
  if (pts.length < 2) return null;
  const lx = pts.map(([x]) => Math.log(x));
  const ly = pts.map(([, y]) => Math.log(y));
  const mx = lx.reduce((a, b) => a + b, 0) / pts.length;
  const my = ly.reduce((a, b) => a + b, 0) / pts.length;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < pts.length; i++) {
    sxy += (lx[i] - mx) * (ly[i] - my);
    sxx += (lx[i] - mx) ** 2;
  }
  return sxx === 0 ? null : sxy / sxx;
}
