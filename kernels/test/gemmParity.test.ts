import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'chai';
import { createGemmEngine, fastMatMulRegistration, registerFastMatMul, type GemmEngine } from '@swapformer/kernels';

/**
 * Parity of the WebAssembly SIMD GEMM, registered as tfjs-wasm's BatchMatMul/_FusedMatMul,
 * with the wasm backend's own kernels: same shapes, values equal to float32 rounding
 * (|Δ| ≤ 1e-5·√k·(|ref| + mean|ref|)), no leaked tensors. Routing thresholds are set to 0 so
 * every product, however small, takes the new kernel.
 */

const ALL_PRODUCTS = { minWork: 0, minRows: 1 };

/** One engine per thread count for the whole file: each new engine starts worker threads that live as long as the process. */
const engines = new Map<number, GemmEngine>();
function engine(threads: number): GemmEngine {
  if (!engines.has(threads)) engines.set(threads, createGemmEngine(threads)!);
  return engines.get(threads)!;
}

function randomTensor(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, 'float32', seed);
}

function expectClose(actual: tf.Tensor, expected: tf.Tensor, k: number, what: string): void {
  expect(actual.shape, `${what}: shape`).to.deep.equal(expected.shape);
  const a = actual.dataSync();
  const e = expected.dataSync();
  let meanAbs = 0;
  for (let i = 0; i < e.length; i++) meanAbs += Math.abs(e[i]) / e.length;
  const tol = 1e-5 * Math.sqrt(Math.max(k, 1));
  for (let i = 0; i < e.length; i++) {
    const bound = tol * (Math.abs(e[i]) + meanAbs) + 1e-7;
    if (!(Math.abs(a[i] - e[i]) <= bound)) expect.fail(`${what}: element ${i} is ${a[i]}, tfjs-wasm gives ${e[i]} (bound ${bound})`);
  }
}

/**
 * Runs `reference` on tfjs's kernels and `f` on the fast ones (threads), compares, and checks
 * that the fast call leaks no tensor.
 */
function compareWithOriginal(threads: number, k: number, what: string, f: () => tf.Tensor, reference: () => tf.Tensor = f, route: { minWork?: number; minRows?: number } = ALL_PRODUCTS): void {
  const expected = tf.tidy(reference);
  const before = tf.memory().numTensors;
  const undo = registerFastMatMul({ engine: engine(threads), ...route });
  let actual: tf.Tensor;
  try {
    actual = tf.tidy(f);
  } finally {
    undo();
  }
  expect(tf.memory().numTensors, `${what}: tensors after the call`).to.equal(before + 1);
  expectClose(actual, expected, k, what);
  tf.dispose([actual, expected]);
}

interface Case { readonly a: number[]; readonly b: number[]; readonly tA: boolean; readonly tB: boolean }

/** [batch…, m, k] × [batch…, k, n] with the stored layouts each transpose flag implies. */
function shapes(batchA: number[], batchB: number[], m: number, k: number, n: number, tA: boolean, tB: boolean): Case {
  return { a: [...batchA, ...(tA ? [k, m] : [m, k])], b: [...batchB, ...(tB ? [n, k] : [k, n])], tA, tB };
}

const SIZES: Array<[number, number, number]> = [[1, 1, 1], [3, 17, 33], [17, 33, 3], [33, 129, 17], [129, 7, 65], [5, 300, 9], [64, 257, 40], [131, 190, 97]]; // the last above the 2^20 multiply-adds from which blocks go to threads
const BATCHES: Array<[number[], number[]]> = [[[], []], [[3], [3]], [[2, 3], [2, 3]], [[4], []], [[], [2]], [[1, 3], [3]], [[2, 3], [1]]];

describe('registerFastMatMul (WebAssembly SIMD GEMM as tfjs-wasm BatchMatMul/_FusedMatMul)', function () {
  this.timeout(300000);
  before(function () {
    if (tf.getBackend() !== 'wasm') this.skip();
    // tfjs-core's Node entry registers no gradients; its ESM registration loads under tsx
    require('@tensorflow/tfjs-core/dist/register_all_gradients');
  });

  for (const threads of [1, 2]) {
    it(`should equal tfjs-wasm's BatchMatMul on odd sizes, transposes and broadcast batches (${threads} thread${threads > 1 ? 's' : ''})`, () => {
      let seed = 1;
      SIZES.forEach(([m, k, n], i) => {
        const [batchA, batchB] = BATCHES[i % BATCHES.length];
        for (const tA of [false, true]) {
          for (const tB of [false, true]) {
            const c = shapes(batchA, batchB, m, k, n, tA, tB);
            const a = randomTensor(c.a, seed++);
            const b = randomTensor(c.b, seed++);
            compareWithOriginal(threads, k, `matMul [${c.a}]${tA ? 'ᵀ' : ''} × [${c.b}]${tB ? 'ᵀ' : ''}`, () => tf.matMul(a, b, tA, tB));
            tf.dispose([a, b]);
          }
        }
      });
    });

    it(`should equal tfjs's matMul + bias + activation, fused, for every fusable activation (${threads} thread${threads > 1 ? 's' : ''})`, () => {
      // Reference: the unfused ops on tfjs-wasm's kernels. tfjs-wasm's own _FusedMatMul adds the
      // bias right only for one batch without transposes (batch 2: the second batch lacks it; with a
      // transpose, rows past the first are off), so it is a second reference for that case only.
      const activate: Record<string, (x: tf.Tensor, alpha?: tf.Tensor) => tf.Tensor> = {
        linear: (x) => x, relu: tf.relu, relu6: tf.relu6, leakyrelu: (x) => tf.leakyRelu(x, 0.3), sigmoid: tf.sigmoid, elu: tf.elu, prelu: (x, alpha) => tf.prelu(x, alpha!),
      };
      let seed = 100;
      Object.keys(activate).forEach((activation, i) => {
        const [m, k, n] = SIZES[(i + 1) % SIZES.length];
        for (const [tA, tB] of [[false, false], [true, true], [false, true]] as const) {
          for (const [batch, withBias] of [[[2], true], [[2], false], [[1], true]] as const) {
            const c = shapes([...batch], [...batch], m, k, n, tA, tB);
            const a = tf.mul(randomTensor(c.a, seed++), 4); // spread across the activations' kinks and saturation
            const b = randomTensor(c.b, seed++);
            const bias = withBias ? randomTensor([n], seed++) : undefined;
            const prelu = activation === 'prelu' ? randomTensor([n], seed++) : undefined;
            const what = `fused ${activation}${withBias ? ' + bias' : ''} [${c.a}]${tA ? 'ᵀ' : ''} × [${c.b}]${tB ? 'ᵀ' : ''}`;
            const fused = () => tf.fused.matMul({ a: a as tf.Tensor3D, b: b as tf.Tensor3D, transposeA: tA, transposeB: tB, bias, activation: activation as 'relu', preluActivationWeights: prelu, leakyreluAlpha: 0.3 });
            const unfused = () => activate[activation](bias ? tf.add(tf.matMul(a, b, tA, tB), bias) : tf.matMul(a, b, tA, tB), prelu);
            compareWithOriginal(threads, k, what, fused, unfused);
            if (batch[0] === 1 && !tA && !tB) compareWithOriginal(threads, k, `${what} vs tfjs-wasm's _FusedMatMul`, fused);
            tf.dispose([a, b, ...(bias ? [bias] : []), ...(prelu ? [prelu] : [])]);
          }
        }
      });
    });
  }

  for (const threads of [1, 2]) {
    it(`should equal tfjs-wasm on few-row products (decode steps, m = 1…5) with B kept packed between calls (${threads} thread${threads > 1 ? 's' : ''})`, () => {
      // default row routing: products of fewer than 4 rows come here only because B is kept packed
      const route = { minWork: 0 };
      let seed = 300;
      for (const [m, k, n] of [[1, 1, 1], [1, 5, 9], [1, 257, 1003], [2, 768, 131], [3, 130, 17], [1, 3072, 65], [4, 96, 300], [5, 33, 250]]) {
        for (const tA of [false, true]) {
          for (const tB of [false, true]) {
            const c = shapes([], [], m, k, n, tA, tB);
            const b = randomTensor(c.b, seed++);
            const bias = randomTensor([n], seed++);
            for (const call of [1, 2, 3]) { // the first call packs B, the later ones reuse it
              const a = randomTensor(c.a, seed++);
              const what = `call ${call}: [${c.a}]${tA ? 'ᵀ' : ''} × [${c.b}]${tB ? 'ᵀ' : ''} + bias, relu`;
              const fused = () => tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, transposeA: tA, transposeB: tB, bias, activation: 'relu' });
              compareWithOriginal(threads, k, what, fused, () => tf.relu(tf.add(tf.matMul(a, b, tA, tB), bias)), route);
              compareWithOriginal(threads, k, `${what.replace(' + bias, relu', '')}, plain`, () => tf.matMul(a, b, tA, tB), undefined, route);
              a.dispose();
            }
            tf.dispose([b, bias]);
          }
        }
      }
    });
  }

  it('should not reuse a packed B after its tensor is disposed, even when a new one takes its place', () => {
    for (let round = 0; round < 4; round++) {
      // same shape every round: a stale packed copy would fit and give the old weights' product
      const w = randomTensor([64, 40], 500 + round);
      const x = randomTensor([1, 64], 600 + round);
      const expected = tf.matMul(x, w);
      const undo = registerFastMatMul({ engine: engine(2), minWork: 0 });
      let actual: tf.Tensor;
      try {
        actual = tf.matMul(x, w);
      } finally {
        undo();
      }
      expectClose(actual, expected, 64, `round ${round}`);
      tf.dispose([w, x, actual, expected]);
    }
  });

  it('should broadcast batch dims both ways ([2, 1] × [1, 3]) like a product per output batch', () => {
    const a = randomTensor([2, 1, 5, 19], 7);
    const b = randomTensor([1, 3, 19, 11], 8);
    // reference: each (i, j) output batch as its own rank-2 product on tfjs's kernel
    const expected = tf.tidy(() => tf.stack([0, 1].map((i) => tf.stack([0, 1, 2].map((j) => tf.matMul(tf.reshape(tf.slice(a, [i, 0], [1, 1]), [5, 19]), tf.reshape(tf.slice(b, [0, j], [1, 1]), [19, 11])))))));
    const undo = registerFastMatMul({ engine: engine(2), ...ALL_PRODUCTS });
    const actual = tf.matMul(a, b);
    undo();
    expectClose(actual, expected, 19, 'matMul [2, 1, 5, 19] × [1, 3, 19, 11]');
    tf.dispose([a, b, actual, expected]);
  });

  it('should give the same gradients of a small model as tfjs-wasm (they call the same ops)', () => {
    const x = randomTensor([37, 24], 11);
    const target = randomTensor([37, 9], 12);
    const w1 = randomTensor([24, 33], 13);
    const b1 = randomTensor([33], 14);
    const w2 = randomTensor([9, 33], 15);
    const loss = (p1: tf.Tensor, q1: tf.Tensor, p2: tf.Tensor) => {
      const h = tf.fused.matMul({ a: x as tf.Tensor2D, b: p1 as tf.Tensor2D, bias: q1, activation: 'relu' });
      const y = tf.reshape(tf.matMul(h, p2, false, true), [1, 37, 9]);
      return tf.add(tf.sum(tf.matMul(y, y, true, false)), tf.sum(tf.square(tf.sub(y, target))));
    };
    const grads = () => tf.grads(loss)([w1, b1, w2]);
    const expected = grads();
    const undo = registerFastMatMul({ engine: engine(2), ...ALL_PRODUCTS });
    let actual: tf.Tensor[];
    try {
      actual = grads();
    } finally {
      undo();
    }
    ['w1', 'b1', 'w2'].forEach((name, i) => expectClose(actual[i], expected[i], 64, `d loss / d ${name}`));
    tf.dispose([x, target, w1, b1, w2, ...expected, ...actual]);
  });

  it('should restore the original kernels on undo, and undo only once', () => {
    const original = tf.getKernel(tf.BatchMatMul, 'wasm');
    const originalFused = tf.getKernel(tf._FusedMatMul, 'wasm');
    expect(fastMatMulRegistration()).to.equal(null);
    const undo = registerFastMatMul({ engine: engine(1) });
    expect(fastMatMulRegistration()?.threads).to.equal(1);
    expect(tf.getKernel(tf.BatchMatMul, 'wasm')).to.not.equal(original);
    expect(tf.getKernel(tf.BatchMatMul, 'wasm')!.setupFunc).to.equal(original!.setupFunc);
    undo();
    undo();
    expect(tf.getKernel(tf.BatchMatMul, 'wasm')).to.equal(original);
    expect(tf.getKernel(tf._FusedMatMul, 'wasm')).to.equal(originalFused);
    expect(fastMatMulRegistration()).to.equal(null);
  });

  it('should refuse a thread count that is not a positive integer, naming it', () => {
    const before = tf.getKernel(tf.BatchMatMul, 'wasm')!.kernelFunc;
    expect(() => registerFastMatMul({ threads: 0 })).to.throw(/threads must be a positive integer, got 0/);
    // the refused registration left tfjs-wasm's own kernel in place (compared by identity: bundlers rename functions)
    expect(tf.getKernel(tf.BatchMatMul, 'wasm')!.kernelFunc).to.equal(before);
  });
});
