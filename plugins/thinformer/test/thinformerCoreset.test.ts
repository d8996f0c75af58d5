import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs-core';
import { createSeededRandom, createKernelContext } from '@swapformer/core';
import { randomAttentionInputs } from '@swapformer/core/conformance';
import { compressPlan, pairDifferenceGrams, selfBalancingWalk, thinformerCoreset, wasmPairDifferenceGrams, type ThinnedPairs } from '../src';
import { PARITY_CASES } from './fixtures/parityCases';
import referenceParity from './fixtures/referenceParity.json';

/** The kernel settings and resources these tests run the kernels with (defaults: core-count threads). */
const kernels = createKernelContext();

describe('compressPlan', () => {
  describe('having the spec examples', () => {
    it('should thin 3136 keys to 1024 with stride 3 and halve in buckets of 64, 128, 256 down to 128 (g 2)', () => {
      const plan = compressPlan(3136, 2, 0.5);
      expect([plan.n, plan.stride, plan.nOut]).to.deep.equal([1024, 3, 128]);
      expect(plan.rounds.map((r) => [r.points, r.bucketSize, r.buckets])).to.deep.equal([[1024, 64, 16], [512, 128, 4], [256, 256, 1]]);
    });

    it('should thin 197 keys to 64 with stride 3', () => {
      expect([compressPlan(197, 2, 0.5).n, compressPlan(197, 2, 0.5).stride]).to.deep.equal([64, 3]);
    });

    it('should only stride-thin when n < 4^(g+1) (784 keys, g 4 → 256 keys)', () => {
      const plan = compressPlan(784, 4, 0.5);
      expect([plan.n, plan.stride, plan.nOut, plan.rounds.length]).to.deep.equal([256, 3, 256, 0]);
    });

    it('should keep 2^g·sqrt(n) pairs after log4 n − g rounds (16384 keys, g 2 → 512)', () => {
      const plan = compressPlan(16384, 2, 0.5);
      expect([plan.nOut, plan.rounds.length]).to.deep.equal([512, 5]);
    });
  });

  describe('having δ and the round sizes', () => {
    it('should use p0 = δ / (4^(g+1)·R·n), δ_bucket = p0·S² and Λ = 1/2 + ln(2S/δ_bucket)', () => {
      const plan = compressPlan(1024, 2, 0.5);
      const p0 = 0.5 / (64 * 3 * 1024);
      expect(plan.baseProbability).to.be.closeTo(p0, 1e-15);
      plan.rounds.forEach((round) => {
        expect(round.bucketDelta).to.be.closeTo(p0 * round.bucketSize ** 2, 1e-12);
        expect(round.threshold).to.be.closeTo(0.5 + Math.log((2 * round.bucketSize) / (p0 * round.bucketSize ** 2)), 1e-9);
      });
    });
  });
});

describe('selfBalancingWalk', () => {
  describe('having a hand-worked bucket', () => {
    it('should keep the even point of pair 0 and swap pair i iff u_i·r_i·C_i ≤ a_i', () => {
      // r = [2, 1, 3], C = [2, 2, 3]; pair 1: 10·1·2 = 20 > a_1 = 2 → keep;
      // then a_2 = −1 + 0.5 = −0.5 ≥ −10·3·3 → swap
      const lower = NaN; // the walk must read the upper triangle only
      const gram = new Float32Array([4, 2, -1, lower, 1, 0.5, lower, lower, 9]);
      expect(Array.from(selfBalancingWalk(gram, 1, 3, new Float32Array([0, 10, -10]), false))).to.deep.equal([0, 0, 1]);
    });

    it('should invert every swap bit when the symmetrisation coin flips', () => {
      const gram = new Float32Array([4, 2, -1, 0, 1, 0.5, 0, 0, 9]);
      expect(Array.from(selfBalancingWalk(gram, 1, 3, new Float32Array([0, 10, -10]), true))).to.deep.equal([1, 1, 0]);
    });

    it('should run buckets independently', () => {
      const gram = new Float32Array([1, 0.5, 0.5, 1, 1, -0.5, -0.5, 1]);
      expect(Array.from(selfBalancingWalk(gram, 2, 2, new Float32Array(4), false))).to.deep.equal([0, 1, 0, 0]);
    });
  });

  describe('having pair differences of 2-d points and zero thresholds (greedy walk)', () => {
    it('should keep the signed sum far smaller than random signs do', () => {
      const rng = createSeededRandom(3);
      const M = 64;
      const psi = rng.fillNormal(new Float32Array(M * 2));
      const gram = new Float32Array(M * M);
      for (let i = 0; i < M; i++) for (let j = 0; j < M; j++) gram[i * M + j] = psi[2 * i] * psi[2 * j] + psi[2 * i + 1] * psi[2 * j + 1];
      const swaps = selfBalancingWalk(gram, 1, M, new Float32Array(M), false);
      const sum = [0, 0];
      for (let i = 0; i < M; i++) for (const e of [0, 1]) sum[e] += (swaps[i] ? -1 : 1) * psi[2 * i + e];
      let trace = 0; // E‖Σ ε_i ψ_i‖² under random signs
      for (let i = 0; i < M; i++) trace += gram[i * M + i];
      expect(sum[0] ** 2 + sum[1] ** 2).to.be.below(0.1 * trace);
    });
  });
});

const wasmGrams: typeof pairDifferenceGrams = (...args) => wasmPairDifferenceGrams(kernels, ...args);
for (const [name, grams] of [['pairDifferenceGrams', pairDifferenceGrams], ['wasmPairDifferenceGrams', wasmGrams]] as const) {
  describe(name, () => {
    describe('having 2 buckets of 4 shuffled points', () => {
      it('should match G_ij = ⟨φ(x_2i) − φ(x_2i+1), φ(x_2j) − φ(x_2j+1)⟩ computed in float64', () => {
        const rng = createSeededRandom(5);
        const [n, dk, dv] = [8, 3, 2];
        const keys = rng.fillNormal(new Float32Array(n * dk), 0, 0.6);
        const values = rng.fillNormal(new Float32Array(n * dv));
        const dot = (x: Float32Array, d: number, a: number, b: number) => {
          let s = 0;
          for (let e = 0; e < d; e++) s += x[a * d + e] * x[b * d + e];
          return s;
        };
        const shift = Math.max(...Array.from({ length: n }, (_, j) => dot(keys, dk, j, j)));
        const beta = Math.max(...Array.from(values, Math.abs));
        const pairs: ThinnedPairs = { slices: 1, n, dk, dv, keys, values, shift: Float64Array.of(shift), beta: Float64Array.of(beta) };
        const points = Int32Array.from([3, 1, 7, 0, 2, 6, 5, 4]);
        const gram = grams(pairs, points, 8, 4);
        const kappa = (a: number, b: number) => Math.exp(dot(keys, dk, a, b) - shift) * (dot(values, dv, a, b) + beta * beta);
        for (let t = 0; t < 2; t++) {
          const p = (i: number) => points[4 * t + i];
          for (let i = 0; i < 2; i++) {
            for (let j = i; j < 2; j++) {
              const expected = kappa(p(2 * i), p(2 * j)) - kappa(p(2 * i), p(2 * j + 1)) - kappa(p(2 * i + 1), p(2 * j)) + kappa(p(2 * i + 1), p(2 * j + 1));
              expect(gram[t * 4 + i * 2 + j]).to.be.closeTo(expected, 1e-5 * (1 + Math.abs(expected)));
            }
          }
        }
      });
    });
  });
}

describe('wasmPairDifferenceGrams', () => {
  for (const [S, dk, dv] of [[4, 3, 5], [8, 8, 8], [64, 64, 64], [128, 17, 9]]) {
    it(`should equal the tfjs form on the upper triangle to float32 rounding (buckets of ${S}, dk ${dk}, dv ${dv}, slices 1–2 of 3)`, () => {
      const rng = createSeededRandom(S + dk);
      const [slices, n] = [3, 4 * S];
      const keys = rng.fillNormal(new Float32Array(slices * n * dk), 0, 0.5);
      const values = rng.fillNormal(new Float32Array(slices * n * dv));
      const shift = Float64Array.from({ length: slices }, (_, s) => {
        let top = 0;
        for (let j = 0; j < n; j++) {
          let sq = 0;
          for (let e = 0; e < dk; e++) sq += keys[(s * n + j) * dk + e] ** 2;
          top = Math.max(top, sq);
        }
        return top;
      });
      const pairs: ThinnedPairs = { slices, n, dk, dv, keys, values, shift, beta: Float64Array.from({ length: slices }, (_, s) => 1 + s) };
      const points = new Int32Array(slices * n);
      for (let s = 0; s < slices; s++) for (let j = 0; j < n; j++) points[s * n + j] = (j * 7 + s) % n; // a permutation per slice
      const want = pairDifferenceGrams(pairs, points, n, S, 1, 3);
      const got = wasmPairDifferenceGrams(kernels, pairs, points, n, S, 1, 3);
      expect(got.length).to.equal(want.length);
      const M = S / 2;
      let scale = 0;
      for (const x of want) scale = Math.max(scale, Math.abs(x));
      for (let b = 0; b < want.length / (M * M); b++) {
        for (let i = 0; i < M; i++) {
          for (let j = i; j < M; j++) expect(Math.abs(got[b * M * M + i * M + j] - want[b * M * M + i * M + j]), `bucket ${b} (${i}, ${j})`).to.be.below(2e-6 * scale);
        }
      }
    });
  }
});

describe('thinformerCoreset', () => {
  const options = { g: 2, delta: 0.5, seed: 7 };

  describe('having various key counts', () => {
    for (const [nk, g, nOut] of [[16, 2, 16], [64, 1, 16], [200, 0, 8], [256, 2, 64], [1024, 2, 128], [3136, 2, 128]]) {
      it(`should return [b, h, ${nOut}] int32 positions for nk ${nk}, g ${g}: distinct, increasing, one per pair at every round`, () => {
        const { k, v } = randomAttentionInputs({ batch: 2, heads: 2, nq: 1, nk, dk: 8 }, nk, 0.7);
        const before = tf.memory().numTensors;
        const coreset = thinformerCoreset(kernels, k, v, { ...options, g });
        expect(coreset.shape).to.deep.equal([2, 2, nOut]);
        expect(coreset.dtype).to.equal('int32');
        const plan = compressPlan(nk, g, 0.5);
        // each round keeps one point per consecutive pair, so after R rounds every aligned block
        // of 2^R thinned positions holds exactly one survivor: the j-th index lies in block j
        const block = 2 ** plan.rounds.length;
        const idx = coreset.dataSync();
        for (let s = 0; s < 4; s++) {
          for (let j = 0; j < nOut; j++) {
            const position = idx[s * nOut + j];
            expect(position % plan.stride).to.equal(0);
            expect(Math.floor(position / plan.stride / block)).to.equal(j);
          }
        }
        coreset.dispose();
        expect(tf.memory().numTensors).to.equal(before);
        tf.dispose([k, v]);
      });
    }
  });

  describe('having the reference algorithm', () => {
    PARITY_CASES.forEach((c, i) => {
      for (const gramKernel of ['wasm', 'tfjs'] as const) {
        it(`should pick the same positions as a NumPy transcription of the reference khcompress given the same draws (${c.label}, ${gramKernel} Grams)`, () => {
          const { k, v } = randomAttentionInputs({ batch: c.batch, heads: c.heads, nq: 1, nk: c.nk, dk: c.d }, c.inputSeed, c.qkScale);
          const coreset = thinformerCoreset(kernels, k, v, { g: c.g, delta: 0.5, seed: c.seed, gramKernel });
          expect(referenceParity.cases[i].label).to.equal(c.label);
          expect(Array.from(coreset.dataSync())).to.deep.equal(referenceParity.cases[i].indices);
          tf.dispose([k, v, coreset]);
        });
      }
    });
  });

  describe('having an unknown gramKernel', () => {
    it('should refuse it, naming the value and the valid choices', () => {
      const { k, v } = randomAttentionInputs({ batch: 1, heads: 1, nq: 1, nk: 256, dk: 4 }, 3, 0.7);
      expect(() => thinformerCoreset(kernels, k, v, { g: 1, delta: 0.5, seed: 0, gramKernel: 'gpu' as never })).to.throw(RangeError, `gramKernel must be 'wasm' or 'tfjs', got "gpu"`);
      tf.dispose([k, v]);
    });
  });

  describe('having a small G budget', () => {
    it('should give the same coreset when slices are halved one group at a time', () => {
      const { k, v } = randomAttentionInputs({ batch: 2, heads: 3, nq: 1, nk: 1024, dk: 8 }, 9, 0.7);
      const [whole, grouped] = [undefined, 1].map((gramBudget) => {
        const coreset = thinformerCoreset(kernels, k, v, { ...options, gramBudget });
        const data = Array.from(coreset.dataSync());
        coreset.dispose();
        return data;
      });
      expect(grouped).to.deep.equal(whole);
      tf.dispose([k, v]);
    });
  });

  describe('having seeds', () => {
    it('should give the same coreset for the same seed and a different one for another seed', () => {
      const { k, v } = randomAttentionInputs({ batch: 1, heads: 3, nq: 1, nk: 1024, dk: 8 }, 8, 0.7);
      const [a, b, c] = [7, 7, 8].map((seed) => {
        const coreset = thinformerCoreset(kernels, k, v, { ...options, seed });
        const data = Array.from(coreset.dataSync());
        coreset.dispose();
        return data;
      });
      expect(a).to.deep.equal(b);
      expect(a).to.not.deep.equal(c);
      tf.dispose([k, v]);
    });
  });
});
