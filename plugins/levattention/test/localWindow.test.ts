/**
 * LevAttention's local window (issue #21): one softmax over the kept keys ∪ the query's window,
 * each key once, against float64 and tfjs references built from the key sets directly, on the
 * host paths (causal and not) and the device op path.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // tfjs-core's Node entry registers no gradients
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import { createKernelContext, createSeededRandom, SwapformerError } from '@swapformer/core';
import { describeOperatorConformance, expectTensorsClose, maxAbsDiff, randomAttentionInputs, referenceAttention, toFloat64 } from '@swapformer/core/conformance';
import {
  causalSelection,
  hostKeptKeys,
  levAttention,
  levAttentionOnDevice,
  levAttentionSelection,
  levattentionPlugin,
  localWindowAttention,
  onlineLeverageScores,
  type LevAttentionOptions,
} from '../src';

const kernels = createKernelContext();

describeOperatorConformance(levattentionPlugin, {
  cases: [
    { label: 'window ≥ n is exact, 2×2×24×8', shape: { batch: 2, heads: 2, nq: 24, nk: 24, dk: 8 }, options: { k: 2, localWindow: 24 }, maxRelativeError: 1e-5 },
    { label: 'window ≥ n is exact, causal 1×2×30×8', shape: { batch: 1, heads: 2, nq: 30, nk: 30, dk: 8 }, options: { k: 2, localWindow: 30 }, causal: true, maxRelativeError: 1e-5 },
    // random q, k have no locality, so these bounds are loose (top-16 alone: 0.73 causal; the window brings it to ≈ 0.5)
    { label: 'top-16 + window 8, causal 2×2×64×8', shape: { batch: 2, heads: 2, nq: 64, nk: 64, dk: 8 }, options: { k: 16, localWindow: 8 }, causal: true, qkScale: 1.5, maxRelativeError: 0.7 },
    {
      label: 'top-16 + window 8, 1×2×64×8 (dv 4)',
      shape: { batch: 1, heads: 2, nq: 64, nk: 64, dk: 8, dv: 4 },
      options: { k: 16, localWindow: 8, keepFirst: true },
      qkScale: 1.5,
      maxRelativeError: 0.9,
    },
    {
      label: 'threshold + window 5, causal cross 1×2×12×50',
      shape: { batch: 1, heads: 2, nq: 12, nk: 50, dk: 8 },
      options: { selection: 'threshold', epsilon: 0.15, localWindow: 5 },
      causal: true,
      qkScale: 1.5,
      maxRelativeError: 0.6,
    },
  ],
  invalidOptions: [
    { options: { localWindow: -1 }, messageIncludes: '/options/localWindow' },
    { options: { localWindow: 2.5 }, messageIncludes: '/options/localWindow' },
  ],
});

const rule: LevAttentionOptions = { selection: 'top-k', topK: 4, epsilon: 0.1, keepFirst: false, ridge: 1e-6 };

type Window = LevAttentionOptions & { readonly localWindow: number };

/** Per (slice, query) the set of keys the windowed operator must attend to, from the selection functions and the window's definition. */
function keySets(k: Tensor4D, nq: number, options: Window): Array<Array<Set<number>>> {
  const [b, h, nk, dk] = k.shape;
  const kd = k.dataSync();
  const maskData = options.mask ? options.mask.dataSync() : null;
  const global = options.causal ? null : levAttentionSelection(k, options);
  const sets: Array<Array<Set<number>>> = [];
  for (let s = 0; s < b * h; s++) {
    const bi = Math.floor(s / h);
    const visible = maskData ? Uint8Array.from({ length: nk }, (_, j) => Number(maskData[bi * nk + j] !== 0)) : null;
    const sel = options.causal ? causalSelection(onlineLeverageScores(kd, s * nk * dk, nk, dk, options.ridge, visible), options, visible) : null;
    sets.push(
      Array.from({ length: nq }, (_, i) => {
        const t = i + nk - nq;
        const set = new Set<number>(global ? global[s] : Array.from(sel!.keys).filter((_, c) => sel!.enter[c] <= t && t < sel!.leave[c]));
        for (let j = 0; j < nk; j++) {
          const near = options.causal ? t - options.localWindow < j && j <= t : Math.abs(t - j) < options.localWindow;
          if (near && (!visible || visible[j] === 1)) set.add(j);
        }
        return set;
      }),
    );
  }
  return sets;
}

/** `[S·nq, nk]` additive bias of the key sets, for a dense tfjs reference whose gradients tfjs computes. */
function setBias(sets: Array<Array<Set<number>>>, nk: number): Float32Array {
  const rows = sets.flat();
  return Float32Array.from({ length: rows.length * nk }, (_, i) => (rows[Math.floor(i / nk)].has(i % nk) ? 0 : -1e9));
}

/** Dense softmax over each query's key set, as tfjs ops (rows with an empty set output 0). */
function denseSetAttention(q: Tensor4D, k: Tensor4D, v: Tensor4D, bias: Float32Array): Tensor4D {
  const [b, h, nq, dk] = q.shape;
  const nk = k.shape[2];
  return tf.tidy(() => {
    const biasT = tf.tensor4d(bias, [b, h, nq, nk]);
    const logits = tf.add(tf.matMul(tf.mul(q, 1 / Math.sqrt(dk)), k, false, true), biasT);
    const anyKey = tf.cast(tf.greater(tf.max(biasT, 3, true), -1), 'float32');
    return tf.mul(tf.matMul(tf.softmax(logits), v), anyKey) as Tensor4D;
  });
}

/** Float64 softmax over each query's key set, each key once. */
function setReference(q: Tensor4D, k: Tensor4D, v: Tensor4D, sets: Array<Array<Set<number>>>): Float64Array {
  const [, , nq, dk] = q.shape;
  const nk = k.shape[2];
  const dv = v.shape[3];
  const [qd, kd, vd] = [q, k, v].map((t) => Float64Array.from(t.dataSync()));
  const out = new Float64Array(sets.length * nq * dv);
  sets.forEach((rows, s) =>
    rows.forEach((set, i) => {
      const keys = [...set];
      const logits = keys.map((j) => {
        let dot = 0;
        for (let c = 0; c < dk; c++) dot += qd[(s * nq + i) * dk + c] * kd[(s * nk + j) * dk + c];
        return dot / Math.sqrt(dk);
      });
      const top = Math.max(...logits);
      const weights = logits.map((x) => Math.exp(x - top));
      const z = weights.reduce((a, x) => a + x, 0);
      keys.forEach((j, t) => {
        for (let c = 0; c < dv; c++) out[(s * nq + i) * dv + c] += (weights[t] / z) * vd[(s * nk + j) * dv + c];
      });
    }),
  );
  return out;
}

const maskOf = (b: number, nk: number) =>
  tf.tensor2d(
    Float32Array.from({ length: b * nk }, (_, i) => Number(i % 7 !== 3)),
    [b, nk],
  );

describe('levAttention with a local window', () => {
  const cases: Array<[string, Partial<Window>]> = [
    ['top-k', {}],
    ['top-k with keepFirst', { keepFirst: true }],
    ['threshold', { selection: 'threshold', epsilon: 0.2 }],
  ];
  for (const causal of [false, true]) {
    for (const [label, extra] of cases) {
      for (const masked of [false, true]) {
        it(`should equal a float64 softmax over kept ∪ window, each key once (${causal ? 'causal' : 'non-causal'}, ${label}${masked ? ', padding mask' : ''})`, () => {
          for (const [nq, nk, w] of [
            [40, 40, 1],
            [40, 40, 6],
            [12, 50, 5],
            [40, 40, 33],
          ]) {
            const { q, k, v } = randomAttentionInputs({ batch: 2, heads: 2, nq, nk, dk: 8 }, 60 + nq + w, 1.5);
            const mask = masked ? maskOf(2, nk) : undefined;
            const options: Window = { ...rule, ...extra, causal, mask, localWindow: w };
            const out = levAttention(kernels, q, k, v, options);
            const reference = setReference(q, k, v, keySets(k, nq, options));
            expect(maxAbsDiff(out.dataSync(), reference), `nq ${nq}, nk ${nk}, w ${w}`).to.be.below(2e-5);
            tf.dispose([q, k, v, out, ...(mask ? [mask] : [])]);
          }
        });
      }
    }
  }

  it('should equal a plain band softmax when every kept key lies in the window (non-causal: the two keys within w of every query)', () => {
    // n 16, w 10: keys 7 and 8 are within 9 of every position; they alone have a direction of their own (scores ≈ 1), so top-2 keeps them.
    const rng = createSeededRandom(90);
    const kData = Float32Array.from({ length: 16 * 4 }, (_, i) => {
      const [j, c] = [Math.floor(i / 4), i % 4];
      if (j === 7 || j === 8) return c === j - 5 ? 3 : 0;
      return c < 2 ? rng.normal() : 0;
    });
    const k = tf.tensor4d(kData, [1, 1, 16, 4]);
    const [q, v] = [0, 1].map(() => tf.tensor4d(rng.fillNormal(new Float32Array(64)), [1, 1, 16, 4]));
    expect(Array.from(levAttentionSelection(k, { ...rule, topK: 2 })[0])).to.deep.equal([7, 8]);
    const out = levAttention(kernels, q, k, v, { ...rule, topK: 2, localWindow: 10 });
    const band = Array.from({ length: 16 }, (_, i) => new Set(Array.from({ length: 16 }, (_, j) => j).filter((j) => Math.abs(i - j) < 10)));
    expect(maxAbsDiff(out.dataSync(), setReference(q, k, v, [band]))).to.be.below(1e-5);
    tf.dispose([q, k, v, out]);
  });

  it('should equal a plain causal band softmax when every kept key lies in the window (each key outranks its prefix)', () => {
    // Orthogonal keys of growing norm: key t's online energy ‖k_t‖²/λ beats every earlier key's, so top-1 at t is t itself.
    const n = 12;
    const rng = createSeededRandom(91);
    const k = tf.tensor4d(
      Float32Array.from({ length: n * n }, (_, i) => (Math.floor(i / n) === i % n ? 1.1 ** (i % n) : 0)),
      [1, 1, n, n],
    );
    const [q, v] = [0, 1].map(() => tf.tensor4d(rng.fillNormal(new Float32Array(n * n)), [1, 1, n, n]));
    const sel = causalSelection(onlineLeverageScores(k.dataSync(), 0, n, n, 1e-6), { ...rule, topK: 1 });
    expect(Array.from(sel.leave)).to.deep.equal([...Array.from({ length: n - 1 }, (_, j) => j + 1), n]); // key j kept only at t = j
    const out = levAttention(kernels, q, k, v, { ...rule, topK: 1, causal: true, localWindow: 3 });
    const band = Array.from({ length: n }, (_, t) => new Set([t - 2, t - 1, t].filter((j) => j >= 0)));
    expect(maxAbsDiff(out.dataSync(), setReference(q, k, v, [band]))).to.be.below(1e-5);
    tf.dispose([q, k, v, out]);
  });

  for (const causal of [false, true]) {
    it(`should equal exact attention when the window covers every key (${causal ? 'causal' : 'non-causal'}, padding mask, k 2)`, () => {
      const { q, k, v } = randomAttentionInputs({ batch: 2, heads: 2, nq: 20, nk: 30, dk: 8 }, 92, 1.5);
      const mask = maskOf(2, 30);
      for (const localWindow of [30, 31, 500]) {
        const out = levAttention(kernels, q, k, v, { ...rule, topK: 2, causal, mask, localWindow });
        expectTensorsClose(out, referenceAttention(toFloat64(q), toFloat64(k), toFloat64(v), { causal, mask: toFloat64(mask) }), { atol: 1e-5 });
        out.dispose();
      }
      tf.dispose([q, k, v, mask]);
    });

    it(`should give exactly today's output with localWindow 0 (${causal ? 'causal' : 'non-causal'}, host and device op paths)`, () => {
      const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 24, nk: 24, dk: 8 }, 93, 1.5);
      const options = { ...rule, causal };
      const pairs = [
        [levAttention(kernels, q, k, v, options), levAttention(kernels, q, k, v, { ...options, localWindow: 0 })],
        ...(causal ? [] : [[levAttentionOnDevice(kernels, q, k, v, options), levAttentionOnDevice(kernels, q, k, v, { ...options, localWindow: 0 })]]),
      ];
      for (const [a, b] of pairs) expect(Array.from(b.dataSync())).to.deep.equal(Array.from(a.dataSync()));
      tf.dispose([q, k, v, ...pairs.flat()]);
    });
  }

  it('should leave causal outputs before a position unchanged when later queries, keys and values change', () => {
    const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 48, nk: 48, dk: 8 }, 94, 1.5);
    const cut = 30;
    const later = (t: Tensor4D) => tf.tidy(() => tf.concat([tf.slice(t, [0, 0, 0, 0], [-1, -1, cut, -1]), tf.mul(tf.slice(t, [0, 0, cut, 0], [-1, -1, -1, -1]), -3)], 2) as Tensor4D);
    const options = { ...rule, causal: true, localWindow: 8 };
    const out = levAttention(kernels, q, k, v, options);
    const changed = levAttention(kernels, later(q), later(k), later(v), options);
    const head = (t: Tensor4D, from: number, size: number) => tf.slice(t, [0, 0, from, 0], [-1, -1, size, -1]);
    expect(maxAbsDiff(head(out, 0, cut), head(changed, 0, cut))).to.equal(0);
    expect(maxAbsDiff(head(out, cut, 48 - cut), head(changed, cut, 48 - cut))).to.be.above(1e-3);
    tf.dispose([q, k, v, out, changed]);
  });

  it('should give the same output when the slices run in groups under a small logit budget', () => {
    const { q, k, v } = randomAttentionInputs({ batch: 2, heads: 3, nq: 40, nk: 40, dk: 8 }, 99, 1.5);
    const mask = maskOf(2, 40);
    const kept = levAttentionSelection(k, { ...rule, mask });
    for (const causal of [false, true]) {
      const run = (maxEntries?: number) =>
        tf.tidy(() =>
          localWindowAttention(
            q,
            k,
            v,
            hostKeptKeys(
              k,
              v,
              kept.map((keys) => ({ keys })),
            ),
            tf.reshape(tf.tile(tf.reshape(mask, [2, 1, 40]), [1, 3, 1]), [6, 40]) as Tensor2D,
            { window: 5, causal, maxEntries },
          ),
        );
      const whole = run();
      const grouped = run(2 * 48 * (kept[0].length + 48)); // two slices per group: three groups
      expect(maxAbsDiff(grouped.dataSync(), whole.dataSync())).to.be.below(1e-6);
      tf.dispose([whole, grouped]);
    }
    tf.dispose([q, k, v, mask]);
  });

  it('should refuse a negative or fractional window in a direct call, naming the value', () => {
    const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 1, nq: 4, nk: 4, dk: 4 }, 95);
    for (const localWindow of [-1, 1.5]) {
      for (const causal of [false, true]) {
        try {
          levAttention(kernels, q, k, v, { ...rule, causal, localWindow }).dispose();
          expect.fail('accepted');
        } catch (error) {
          expect(SwapformerError.is(error) && error.kind).to.equal('invalid-options');
          expect((error as Error).message).to.include(`localWindow ${localWindow}`);
        }
      }
    }
    tf.dispose([q, k, v]);
  });

  describe('on the device op path (levAttentionOnDevice, the webgpu form)', () => {
    for (const selection of ['top-k', 'threshold'] as const) {
      for (const masked of [false, true]) {
        it(`should equal the float64 softmax over kept ∪ window (${selection}${masked ? ', padding mask' : ''})`, () => {
          // Keys with heavy-tailed norms: well-separated scores, so float32 device scores select what the float64 host does.
          const rng = createSeededRandom(96);
          const kData = rng.fillNormal(new Float32Array(2 * 2 * 40 * 8));
          for (let row = 0; row < 2 * 2 * 40; row++) kData.subarray(row * 8, (row + 1) * 8).forEach((x, c, a) => (a[c] = x * Math.exp(rng.normal())));
          const k = tf.tensor4d(kData, [2, 2, 40, 8]);
          const [q, v] = [0, 1].map(() => tf.tensor4d(rng.fillNormal(new Float32Array(2 * 2 * 40 * 8)), [2, 2, 40, 8]));
          const mask = masked ? maskOf(2, 40) : undefined;
          for (const localWindow of [1, 5, 40]) {
            const options: Window = { ...rule, selection, epsilon: 0.3, keepFirst: true, ridge: 1e-5, mask, localWindow }; // the device ridge floor
            const out = levAttentionOnDevice(kernels, q, k, v, options);
            expect(maxAbsDiff(out.dataSync(), setReference(q, k, v, keySets(k, 40, options))), `w ${localWindow}`).to.be.below(2e-5);
            out.dispose();
          }
          tf.dispose([q, k, v, ...(mask ? [mask] : [])]);
        });
      }
    }
  });

  describe('having a gradient tape recording', () => {
    const forms: Array<[string, (q: Tensor4D, k: Tensor4D, v: Tensor4D, o: Window) => Tensor4D]> = [
      ['host', (q, k, v, o) => levAttention(kernels, q, k, v, o)],
      ['device op', (q, k, v, o) => levAttentionOnDevice(kernels, q, k, v, o)],
    ];
    for (const [form, attend] of forms) {
      for (const causal of form === 'host' ? [false, true] : [false]) {
        it(`should give the gradients of a dense softmax over the same key sets (${form}, ${causal ? 'causal' : 'non-causal'}, padding mask)`, () => {
          const { q, k, v } = randomAttentionInputs({ batch: 2, heads: 2, nq: 36, nk: 36, dk: 4 }, 97, 1.5);
          const mask = maskOf(2, 36);
          const options: Window = { ...rule, causal, mask, localWindow: 5 };
          const bias = setBias(keySets(k, 36, options), 36);
          const weights = tf.randomNormal([2, 2, 36, 4], 0, 1, 'float32', 8) as Tensor4D;
          const lossOf =
            (f: (a: Tensor4D, b: Tensor4D, c: Tensor4D) => Tensor4D) =>
            (...[a, b, c]: tf.Tensor[]) =>
              tf.sum(tf.mul(f(a as Tensor4D, b as Tensor4D, c as Tensor4D), weights));
          const before = tf.memory().numTensors;
          const windowed = tf.grads(lossOf((a, b, c) => attend(a, b, c, options)))([q, k, v]);
          const dense = tf.grads(lossOf((a, b, c) => denseSetAttention(a, b, c, bias)))([q, k, v]);
          windowed.forEach((g, i) => {
            expect(g.dataSync().some((x) => x !== 0)).to.equal(true);
            expectTensorsClose(g, dense[i], { atol: 1e-4 });
          });
          tf.dispose([...windowed, ...dense]);
          expect(tf.memory().numTensors, 'tensors left by forward and backward').to.equal(before);
          tf.dispose([q, k, v, mask, weights]);
        });
      }
    }
  });

  it('should leak no tensors, forward (host causal, host, device op path)', () => {
    const { q, k, v } = randomAttentionInputs({ batch: 1, heads: 2, nq: 40, nk: 40, dk: 8 }, 98);
    const mask = maskOf(1, 40) as Tensor2D;
    const before = tf.memory().numTensors;
    for (const causal of [false, true]) levAttention(kernels, q, k, v, { ...rule, causal, mask, localWindow: 6 }).dispose();
    for (const selection of ['top-k', 'threshold'] as const) levAttentionOnDevice(kernels, q, k, v, { ...rule, selection, mask, localWindow: 6 }).dispose();
    expect(tf.memory().numTensors).to.equal(before);
    tf.dispose([q, k, v, mask]);
  });
});
