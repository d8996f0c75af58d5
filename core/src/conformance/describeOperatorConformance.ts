import * as tf from '@tensorflow/tfjs-core';
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import { createSwapformerContainer, resolveOperatorServices } from '../container/createSwapformerContainer';
import { createMemoryLogger } from '../container/Logger';
import { SwapformerError } from '../errors/SwapformerError';
import { runAttention } from '../hooks/runAttention';
import type { AttentionContext, AttentionOperator, OperatorGeometry } from '../operator/AttentionOperator';
import type { AttentionPlugin } from '../plugin/AttentionPlugin';
import { repeatKeyValueHeads } from '../operator/groupedKeyValues';
import { instantiateOperator } from '../plugin/instantiateOperator';
import { validatePlugin } from '../plugin/validatePlugin';
import { randomAttentionInputs, type AttentionShape } from './randomAttentionInputs';
import { referenceAttention, toFloat64 } from './referenceAttention';
import { maxAbsDiff, relativeError } from './tensorComparison';
import { resolveOptions } from '../plugin/resolveOptions';

/** One shape/options combination the kit runs. */
export interface ConformanceCase {
  readonly label: string;
  readonly shape: AttentionShape;
  readonly options?: Record<string, unknown>;
  readonly causal?: boolean;
  readonly scale?: number;
  /** Multiply q and k by this (controls how peaked the softmax is); default 0.5. */
  readonly qkScale?: number;
  /** Relative Frobenius error vs float64 exact attention must be below this (omit for operators that do not approximate softmax). */
  readonly maxRelativeError?: number;
}

export interface ConformanceSpec {
  readonly cases: readonly ConformanceCase[];
  /** Options the schema must reject, with text the error must contain (e.g. the key name). */
  readonly invalidOptions?: ReadonlyArray<{ readonly options: Record<string, unknown>; readonly messageIncludes: string }>;
  /** atol for "causal outputs ignore the future" (default 1e-5). */
  readonly causalTolerance?: number;
  /** atol for decoding-vs-full-forward parity (default 1e-4). */
  readonly decodingTolerance?: number;
  /** atol for "padded keys do not matter" (default 1e-5). */
  readonly maskTolerance?: number;
}

interface MochaGlobals {
  describe(title: string, fn: () => void): void;
  it(title: string, fn: () => void | Promise<void>): void;
}

function mocha(): MochaGlobals {
  const g = globalThis as unknown as Partial<MochaGlobals>;
  if (typeof g.describe !== 'function' || typeof g.it !== 'function') {
    throw new Error('describeOperatorConformance must be called inside a mocha test file (describe/it globals are missing).');
  }
  return g as MochaGlobals;
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

function geometryOf(shape: AttentionShape, kvHeads = shape.heads): OperatorGeometry {
  return { heads: shape.heads, kvHeads, headDim: shape.dk, valueDim: shape.dv ?? shape.dk, modelDim: shape.heads * shape.dk, maxSeqLen: Math.max(shape.nq, shape.nk), layerIndex: 0 };
}

/** Grouped-query settings worth testing for h query heads: multi-query (1) and pairs of query heads per k/v head. */
function keyValueGroupings(heads: number): number[] {
  return [...new Set([1, heads % 2 === 0 ? heads / 2 : 1])].filter((kv) => kv < heads);
}

function withOperator<T>(plugin: AttentionPlugin, c: ConformanceCase, fn: (op: AttentionOperator, run: (q: Tensor4D, k: Tensor4D, v: Tensor4D, ctx: AttentionContext) => Tensor4D) => T, kvHeads?: number): T {
  const container = createSwapformerContainer({ logger: createMemoryLogger() });
  const services = resolveOperatorServices(container);
  const op = instantiateOperator(plugin, c.options ?? {}, services, geometryOf(c.shape, kvHeads));
  const site = { hooks: services.hooks, operator: op, capabilities: plugin.capabilities, layerIndex: 0 };
  try {
    return fn(op, (q, k, v, ctx) => runAttention(site, q, k, v, ctx));
  } finally {
    op.dispose();
  }
}

function ctxOf(c: ConformanceCase, extra: Partial<AttentionContext> = {}): AttentionContext {
  return { causal: c.causal ?? false, scale: c.scale, seed: 1234, layerIndex: 0, ...extra };
}

/**
 * The contract suite every plugin runs (tapable's HookTester, tfjs's describeWithFlags):
 * plugin shape, option validation, output shape/dtype, no tensor leaks, seeded determinism,
 * causal independence from the future (when claimed), key-padding masks (when claimed),
 * decoding parity (when claimed), grouped-query k/v heads (taken like repeated ones when
 * claimed, refused by name otherwise; a claimed kv-cache keeps only the k/v heads) and error vs
 * float64 exact attention under declared bounds.
 * Cases the capabilities make inapplicable are skipped by capability, never by name.
 *
 * @example describeOperatorConformance(performerPlugin, { cases: [{ label: 'small', shape: {...}, maxRelativeError: 0.3 }] });
 */
export function describeOperatorConformance(plugin: AttentionPlugin, spec: ConformanceSpec): void {
  const { describe, it } = mocha();
  const caps = plugin.capabilities;
  describe(`conformance: ${plugin.meta.name}`, () => {
    it('should be a valid plugin for this core', () => {
      validatePlugin(plugin, `plugin "${plugin.meta.name}"`);
    });

    it('should accept its own schema defaults', () => {
      const options = resolveOptions(plugin, {}) as Record<string, unknown>;
      check(typeof options === 'object' && options !== null, 'defaults did not produce an options object');
    });

    it('should reject unknown option keys naming the key', () => {
      let caught: unknown;
      try {
        resolveOptions(plugin, { definitelyNotAnOption: 1 });
      } catch (error) {
        caught = error;
      }
      check(SwapformerError.is(caught) && caught.kind === 'invalid-options', 'an unknown option key was accepted');
      check(String((caught as Error).message).includes('definitelyNotAnOption'), `error does not name the key: ${(caught as Error).message}`);
    });

    for (const bad of spec.invalidOptions ?? []) {
      it(`should reject options ${JSON.stringify(bad.options)}`, () => {
        let caught: unknown;
        try {
          resolveOptions(plugin, bad.options);
        } catch (error) {
          caught = error;
        }
        check(SwapformerError.is(caught), `options ${JSON.stringify(bad.options)} were accepted`);
        check(String((caught as Error).message).includes(bad.messageIncludes), `error "${(caught as Error).message}" does not include "${bad.messageIncludes}"`);
      });
    }

    for (const c of spec.cases) {
      describe(`case ${c.label}`, () => {
        it('should return [b, h, nq, dv] float32 without leaking tensors', () => {
          const { q, k, v } = randomAttentionInputs(c.shape, 1, c.qkScale ?? 0.5);
          const before = tf.memory().numTensors;
          withOperator(plugin, c, (_op, run) => {
            const afterCreate = tf.memory().numTensors;
            const out = run(q, k, v, ctxOf(c));
            check(
              JSON.stringify(out.shape) === JSON.stringify([c.shape.batch, c.shape.heads, c.shape.nq, c.shape.dv ?? c.shape.dk]),
              `output shape [${out.shape.join(', ')}] is not [b, h, nq, dv]`,
            );
            check(out.dtype === 'float32', `output dtype ${out.dtype} is not float32`);
            out.dispose();
            check(tf.memory().numTensors === afterCreate, `forward leaked ${tf.memory().numTensors - afterCreate} tensors`);
          });
          check(tf.memory().numTensors === before, `create/dispose leaked ${tf.memory().numTensors - before} tensors`);
          tf.dispose([q, k, v]);
        });

        it('should give bitwise-identical output for the same seed', () => {
          const { q, k, v } = randomAttentionInputs(c.shape, 2, c.qkScale ?? 0.5);
          const outputs = [0, 1].map(() => withOperator(plugin, c, (_op, run) => tf.tidy(() => run(q, k, v, ctxOf(c))).dataSync().slice()));
          check(maxAbsDiff(outputs[0], outputs[1]) === 0, 'two runs with the same seed differ');
          tf.dispose([q, k, v]);
        });

        if (c.maxRelativeError !== undefined) {
          it(`should stay within relative error ${c.maxRelativeError} of exact attention`, () => {
            const { q, k, v } = randomAttentionInputs(c.shape, 3, c.qkScale ?? 0.5);
            const reference = referenceAttention(toFloat64(q), toFloat64(k), toFloat64(v), { scale: c.scale, causal: c.causal });
            const err = withOperator(plugin, c, (_op, run) => {
              const out = run(q, k, v, ctxOf(c));
              const e = relativeError(out, reference);
              out.dispose();
              return e;
            });
            check(err <= c.maxRelativeError!, `relative error ${err.toExponential(3)} exceeds the declared bound ${c.maxRelativeError}`);
            tf.dispose([q, k, v]);
          });
        }

        if (c.causal && caps.causal === 'native') {
          it('should ignore future tokens in causal mode', () => {
            const { q, k, v } = randomAttentionInputs(c.shape, 4, c.qkScale ?? 0.5);
            const cut = Math.floor(c.shape.nq / 2);
            const offset = c.shape.nk - c.shape.nq;
            const [q2, k2, v2] = tf.tidy(() => {
              const noiseRows = (t: Tensor4D, from: number) => {
                const n = t.shape[2];
                const keep = tf.reshape(tf.concat([tf.ones([from]), tf.zeros([n - from])]), [1, 1, n, 1]);
                return tf.add(tf.mul(t, keep), tf.mul(tf.sub(1, keep), tf.randomNormal(t.shape, 0, 3, 'float32', 99))) as Tensor4D;
              };
              return [noiseRows(q, cut), noiseRows(k, cut + offset), noiseRows(v, cut + offset)];
            });
            withOperator(plugin, c, (_op, run) => {
              const a = tf.tidy(() => tf.slice(run(q, k, v, ctxOf(c)), [0, 0, 0, 0], [-1, -1, cut, -1]));
              const b = tf.tidy(() => tf.slice(run(q2, k2, v2, ctxOf(c)), [0, 0, 0, 0], [-1, -1, cut, -1]));
              const d = maxAbsDiff(a, b);
              tf.dispose([a, b]);
              check(d <= (spec.causalTolerance ?? 1e-5), `outputs before position ${cut} changed by ${d} when only later tokens changed`);
            });
            tf.dispose([q, k, v, q2, k2, v2]);
          });
        }

        if (caps.keyPaddingMask && caps.projections === 'qkv') {
          it('should ignore keys hidden by the key-padding mask', () => {
            const { q, k, v } = randomAttentionInputs(c.shape, 5, c.qkScale ?? 0.5);
            const nk = c.shape.nk;
            const keep = Math.max(1, Math.floor(nk * 0.75));
            const mask = tf.tidy(() => tf.tile(tf.concat([tf.ones([1, keep]), tf.zeros([1, nk - keep])], 1), [c.shape.batch, 1]) as Tensor2D);
            const [k2, v2] = tf.tidy(() => {
              const hide = tf.reshape(tf.concat([tf.zeros([keep]), tf.ones([nk - keep])]), [1, 1, nk, 1]);
              return [tf.add(k, tf.mul(hide, 7)) as Tensor4D, tf.add(v, tf.mul(hide, -5)) as Tensor4D];
            });
            withOperator(plugin, c, (_op, run) => {
              const a = run(q, k, v, ctxOf(c, { mask }));
              const b = run(q, k2, v2, ctxOf(c, { mask }));
              const d = maxAbsDiff(a, b);
              tf.dispose([a, b]);
              check(d <= (spec.maskTolerance ?? 1e-5), `output changed by ${d} when only masked keys changed`);
            });
            tf.dispose([q, k, v, k2, v2, mask]);
          });
        }

        if (caps.projections === 'qkv' && c.shape.heads > 1) {
          it(caps.groupedKeyValues ? 'should take fewer key/value heads (grouped-query, multi-query) like repeated ones' : 'should refuse fewer key/value heads than query heads (it does not declare groupedKeyValues)', () => {
            const { q } = randomAttentionInputs(c.shape, 8, c.qkScale ?? 0.5);
            for (const kvHeads of keyValueGroupings(c.shape.heads)) {
              const { k, v } = randomAttentionInputs({ ...c.shape, heads: kvHeads }, 9, c.qkScale ?? 0.5);
              if (caps.groupedKeyValues) {
                const grouped = withOperator(plugin, c, (_op, run) => tf.tidy(() => run(q, k, v, ctxOf(c))).dataSync().slice(), kvHeads);
                const groups = c.shape.heads / kvHeads;
                const repeated = withOperator(plugin, c, (_op, run) => tf.tidy(() => run(q, repeatKeyValueHeads(k, groups), repeatKeyValueHeads(v, groups), ctxOf(c))).dataSync().slice());
                const d = maxAbsDiff(grouped, repeated);
                check(d <= 1e-5, `${kvHeads} k/v heads: output differs by ${d} from the same call with k/v repeated to ${c.shape.heads} heads`);
              } else {
                let caught: unknown;
                withOperator(plugin, c, (_op, run) => {
                  try {
                    run(q, k, v, ctxOf(c)).dispose();
                  } catch (error) {
                    caught = error;
                  }
                });
                check(SwapformerError.is(caught) && caught.kind === 'invalid-input' && String(caught.message).includes('groupedKeyValues'), `${kvHeads} k/v heads for ${c.shape.heads} query heads were not refused by name: ${String((caught as Error)?.message)}`);
              }
              tf.dispose([k, v]);
            }
            q.dispose();
          });
        }

        if (caps.projections === 'qkv' && caps.groupedKeyValues && caps.decoding === 'kv-cache' && c.causal && c.shape.heads > 1) {
          it('should keep only the key/value heads in its kv-cache and decode like the full forward', () => {
            const kvHeads = 1;
            const shape = { ...c.shape, nk: c.shape.nq };
            const { q } = randomAttentionInputs(shape, 10, c.qkScale ?? 0.5);
            const { k, v } = randomAttentionInputs({ ...shape, heads: kvHeads }, 11, c.qkScale ?? 0.5);
            withOperator(
              plugin,
              { ...c, shape },
              (op) => {
                const full = op.forward(q, k, v, ctxOf(c, { causal: true }));
                let state = op.decoder!.initState(shape.batch);
                const steps: Tensor4D[] = [];
                for (let t = 0; t < shape.nq; t++) {
                  const sl = (x: Tensor4D) => tf.slice(x, [0, 0, t, 0], [-1, -1, 1, -1]) as Tensor4D;
                  const [qt, kt, vt] = [sl(q), sl(k), sl(v)];
                  const step = op.decoder!.step(qt, kt, vt, state, { seed: 1234, layerIndex: 0, scale: c.scale });
                  tf.dispose([qt, kt, vt]);
                  op.decoder!.disposeState(state);
                  state = step.state;
                  steps.push(step.output);
                }
                const cached = state.tensors.map((t) => t.shape[1]);
                op.decoder!.disposeState(state);
                const stepped = tf.concat(steps, 2);
                const d = maxAbsDiff(stepped, full);
                tf.dispose([stepped, full, ...steps]);
                check(cached.every((heads) => heads === kvHeads), `the kv-cache holds tensors with [${cached.join(', ')}] heads, not only the ${kvHeads} k/v head(s)`);
                check(d <= (spec.decodingTolerance ?? 1e-4), `grouped-query decoding differs from the full causal forward by ${d}`);
              },
              kvHeads,
            );
            tf.dispose([q, k, v]);
          });
        }

        if (c.causal && caps.decoding !== 'none') {
          it('should decode token by token exactly like the full causal forward', () => {
            const shape = { ...c.shape, nk: c.shape.nq };
            const { q, k, v } = randomAttentionInputs(shape, 6, c.qkScale ?? 0.5);
            withOperator(plugin, { ...c, shape }, (op) => {
              check(op.decoder !== undefined, `capabilities.decoding is "${caps.decoding}" but operator.decoder is missing`);
              const full = op.forward(q, k, v, ctxOf(c, { causal: true }));
              const before = tf.memory().numTensors;
              let state = op.decoder!.initState(shape.batch);
              const steps: Tensor4D[] = [];
              for (let t = 0; t < shape.nq; t++) {
                const sl = (x: Tensor4D) => tf.slice(x, [0, 0, t, 0], [-1, -1, 1, -1]) as Tensor4D;
                const [qt, kt, vt] = [sl(q), sl(k), sl(v)];
                const step = op.decoder!.step(qt, kt, vt, state, { seed: 1234, layerIndex: 0, scale: c.scale });
                tf.dispose([qt, kt, vt]);
                op.decoder!.disposeState(state);
                state = step.state;
                steps.push(step.output);
              }
              check(state.length === shape.nq, `decoding state length ${state.length} after ${shape.nq} tokens`);
              op.decoder!.disposeState(state);
              const stepped = tf.concat(steps, 2);
              const d = maxAbsDiff(stepped, full);
              tf.dispose([stepped, ...steps]);
              check(tf.memory().numTensors === before, `decoding leaked ${tf.memory().numTensors - before} tensors`);
              full.dispose();
              check(d <= (spec.decodingTolerance ?? 1e-4), `decoded outputs differ from the full causal forward by ${d}`);
            });
            tf.dispose([q, k, v]);
          });
        }
      });
    }

    if (caps.causal === 'none') {
      it('should refuse a causal call instead of attending to the future', () => {
        const c = spec.cases[0];
        const { q, k, v } = randomAttentionInputs(c.shape, 7, 0.5);
        let caught: unknown;
        withOperator(plugin, c, (_op, run) => {
          try {
            run(q, k, v, ctxOf(c, { causal: true })).dispose();
          } catch (error) {
            caught = error;
          }
        });
        tf.dispose([q, k, v]);
        check(SwapformerError.is(caught) && caught.kind === 'missing-capability', 'a causal call on a non-causal operator was not refused');
      });
    }
  });
}
