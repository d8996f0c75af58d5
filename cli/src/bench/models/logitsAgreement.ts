/** Largest |a − ref| over the largest |ref|: how the model benches check that peers ran the same weights. */
export function maxRelativeDifference(a: Float32Array, ref: Float32Array): number {
  if (a.length !== ref.length) return Infinity;
  let scale = 0;
  let d = 0;
  for (let i = 0; i < ref.length; i++) {
    scale = Math.max(scale, Math.abs(ref[i]));
    d = Math.max(d, Math.abs(a[i] - ref[i]));
  }
  return scale > 0 ? d / scale : d;
}
