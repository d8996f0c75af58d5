import type { Tensor } from '@tensorflow/tfjs-core';
import type { Float64Tensor } from './referenceAttention';

type Numeric = Tensor | Float64Tensor | ArrayLike<number>;

function values(x: Numeric): ArrayLike<number> {
  if ('dataSync' in (x as object)) return (x as Tensor).dataSync();
  if ('data' in (x as object) && 'shape' in (x as object)) return (x as Float64Tensor).data;
  return x as ArrayLike<number>;
}

/** Largest absolute elementwise difference. */
export function maxAbsDiff(a: Numeric, b: Numeric): number {
  const x = values(a);
  const y = values(b);
  if (x.length !== y.length) throw new Error(`maxAbsDiff: sizes differ (${x.length} vs ${y.length})`);
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i] - y[i]);
    if (!(d <= m)) m = d; // NaN propagates as NaN
  }
  return m;
}

/** ‖approx − exact‖_F / ‖exact‖_F. */
export function relativeError(approx: Numeric, exact: Numeric): number {
  const x = values(approx);
  const y = values(exact);
  if (x.length !== y.length) throw new Error(`relativeError: sizes differ (${x.length} vs ${y.length})`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.length; i++) {
    num += (x[i] - y[i]) ** 2;
    den += y[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-300));
}

/**
 * Throws unless every |a − b| <= atol + rtol·|b| — the one numeric check the tests use.
 *
 * @example expectTensorsClose(out, reference, { atol: 1e-5 });
 */
export function expectTensorsClose(a: Numeric, b: Numeric, tolerance: { atol?: number; rtol?: number } = {}): void {
  const atol = tolerance.atol ?? 1e-5;
  const rtol = tolerance.rtol ?? 0;
  const x = values(a);
  const y = values(b);
  if (x.length !== y.length) throw new Error(`expectTensorsClose: sizes differ (${x.length} vs ${y.length})`);
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i] - y[i]);
    if (!(d <= atol + rtol * Math.abs(y[i]))) {
      throw new Error(`expectTensorsClose: element ${i} differs: ${x[i]} vs ${y[i]} (|diff| ${d} > atol ${atol} + rtol ${rtol}·|b|); max abs diff ${maxAbsDiff(x, y)}`);
    }
  }
}
