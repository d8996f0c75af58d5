import { expect } from 'chai';
import { createGemmEngine, type GemmEngine } from '@swapformer/kernels';

/**
 * The GEMM engine on plain arrays against a float64 reference: operands at offsets inside larger
 * arrays, every transpose, batch maps, the empty-k product, and the checks on bad calls.
 */

function uniform(length: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/** act(A·B + bias) in float64; A stored [m, k] (or [k, m]), B [k, n] (or [n, k]). */
function reference(a: Float32Array, b: Float32Array, m: number, n: number, k: number, tA: boolean, tB: boolean, bias?: Float32Array): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = bias ? bias[j] : 0;
      for (let t = 0; t < k; t++) s += (tA ? a[t * m + i] : a[i * k + t]) * (tB ? b[j * k + t] : b[t * n + j]);
      c[i * n + j] = s;
    }
  }
  return c;
}

function expectNear(actual: ArrayLike<number>, expected: ArrayLike<number>, k: number, what: string): void {
  const tol = 1e-5 * Math.sqrt(Math.max(1, k));
  for (let i = 0; i < expected.length; i++) {
    const bound = tol * (1 + Math.abs(expected[i]));
    if (!(Math.abs(actual[i] - expected[i]) <= bound)) expect.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

describe('createGemmEngine (WebAssembly SIMD GEMM on arrays)', () => {
  const engines: GemmEngine[] = [];
  before(() => {
    for (const threads of [1, 2]) engines.push(createGemmEngine(threads)!);
  });

  it('should multiply operands stored at offsets, in every transpose, to float32 rounding (1 and 2 threads)', () => {
    for (const engine of engines) {
      for (const [m, k, n] of [[1, 1, 1], [7, 13, 9], [61, 300, 47], [200, 97, 130]]) {
        for (const tA of [false, true]) {
          for (const tB of [false, true]) {
            const a = uniform(5 + m * k, m + k);
            const b = uniform(3 + k * n, n + 2 * k);
            const out = new Float32Array(2 + m * n).fill(Number.NaN);
            engine.run({ m, n, k, a, aOffset: 5, transposeA: tA, b, bOffset: 3, transposeB: tB, out, outOffset: 2 });
            const what = `${engine.threads} thread(s), [${m}, ${k}]${tA ? 'ᵀ' : ''} × [${k}, ${n}]${tB ? 'ᵀ' : ''}`;
            expectNear(out.subarray(2), reference(a.subarray(5), b.subarray(3), m, n, k, tA, tB), k, what);
            expect(Number.isNaN(out[0]) && Number.isNaN(out[1]), `${what}: wrote before outOffset`).to.equal(true);
          }
        }
      }
    }
  });

  it('should keep a keyed B packed for few-row products, and pack again once its key is dead or past the budget', () => {
    for (const residentBytes of [undefined, 1024]) { // 1 KiB: no B here fits, so every call packs
      const engine = createGemmEngine(2, { residentBytes })!;
      const live = new Set<object>();
      const isLive = (key: object) => live.has(key);
      for (const [m, k, n] of [[1, 300, 1000], [3, 77, 9], [16, 128, 40]]) {
        for (const tB of [false, true]) {
          let key = {};
          live.add(key);
          let b = uniform(k * n, k + n);
          for (let call = 0; call < 4; call++) {
            if (call === 2) {
              // a new tensor (new key, the old one dead) with other values: must not get the old panels
              live.delete(key);
              key = {};
              live.add(key);
              b = uniform(k * n, 7 * k + n);
            }
            const a = uniform(m * k, call + 11);
            const out = new Float32Array(m * n);
            engine.run({ m, n, k, a, b, transposeB: tB, out, bResident: { key, isLive } });
            expectNear(out, reference(a, b, m, n, k, false, tB), k, `budget ${residentBytes ?? 'default'}, call ${call}, [${m}, ${k}] × [${k}, ${n}]${tB ? 'ᵀ' : ''}`);
          }
          expect(engine.keepsResident(key, k, n, tB, isLive), 'kept packed within the budget').to.equal(residentBytes === undefined);
        }
      }
    }
  });

  it('should follow the batch maps: out[i] = A[batchA[i]] · B[batchB[i]] + bias', () => {
    const [m, k, n] = [9, 21, 17];
    const a = uniform(2 * m * k, 1);
    const b = uniform(3 * k * n, 2);
    const bias = uniform(n, 3);
    const batchA = [0, 1, 0, 1], batchB = [2, 2, 0, 1];
    const out = new Float32Array(4 * m * n);
    engines[1].run({ m, n, k, a, b, batchA, batchB, bias, out });
    for (let i = 0; i < 4; i++) {
      const ref = reference(a.subarray(batchA[i] * m * k), b.subarray(batchB[i] * k * n), m, n, k, false, false, bias);
      expectNear(out.subarray(i * m * n, (i + 1) * m * n), ref, k, `batch ${i}`);
    }
  });

  it('should give act(bias) for an empty inner dimension (k = 0)', () => {
    const out = new Float32Array(6).fill(7);
    engines[0].run({ m: 2, n: 3, k: 0, a: new Float32Array(0), b: new Float32Array(0), bias: Float32Array.from([-1, 0.5, 2]), activation: 'relu', out });
    expect(Array.from(out)).to.deep.equal([0, 0.5, 2, 0, 0.5, 2]);
  });

  it('should refuse mismatched batch maps and prelu without slopes, naming the problem', () => {
    const args = { m: 1, n: 1, k: 1, a: new Float32Array(1), b: new Float32Array(1), out: new Float32Array(2) };
    expect(() => engines[0].run({ ...args, batchA: [0, 0], batchB: [0] })).to.throw('batchA has 2 entries and batchB 1');
    expect(() => engines[0].run({ ...args, activation: 'prelu' })).to.throw('activation prelu needs `prelu` slopes');
  });
});
